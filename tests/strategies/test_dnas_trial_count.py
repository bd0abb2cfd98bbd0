"""How a "dnas" search counts its trials, as the widget and the CLI say it before and after the run."""

from __future__ import annotations

import pytest

import nas_workbench as nw
from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies.dnas.options import DnasOptions
from nas_workbench.strategies.dnas.trial_count import outcome_text, plan_text, run_plan_text, trial_plan


@pytest.mark.parametrize(
    ("n_trials", "options", "expected"),
    [
        (6, DnasOptions(), (3, 3)),  # retrain_top 4, at most half the trials
        (12, DnasOptions(), (8, 4)),
        (1, DnasOptions(), (1, 1)),
        (6, DnasOptions(retrain=False), (6, 0)),
    ],
)
def test_the_plan_splits_the_trials_into_epochs_and_retrained(n_trials, options, expected) -> None:
    assert trial_plan(n_trials, options) == expected


def test_before_the_run_it_says_what_the_trials_will_be() -> None:
    text = plan_text(6, DnasOptions())
    assert "6 trials are 3 search epochs, then up to 3 architectures retrained" in text
    assert "fewer when the landing finds fewer within a cost target" in text
    assert "trained again" not in text  # retrain_budget: 0 by default
    repeating = plan_text(6, DnasOptions(retrain_budget=3.0))
    assert (
        "trained again with new seeds, up to 7 more trials, while the retraining takes at most 3x"
        in repeating
    )
    distinct = plan_text(6, DnasOptions(retrain_budget=3.0, retrain_distinct=True))
    assert "the next likeliest architectures are trained too, up to 7 more trials" in distinct
    config = nw.SearchConfig(space="nb201", strategy="dnas", n_trials=6)
    assert run_plan_text(config) == text
    assert run_plan_text(config, trials_done=6) is None  # nothing left
    assert run_plan_text(config.replace(strategy="tpe")) is None


def test_after_the_run_it_says_what_the_trials_were() -> None:
    counts = {"ok": 4, "infeasible": 0, "pruned": 0, "failed": 0, "estimated": 3, "trained": 1, "epochs": 3}
    assert outcome_text(counts, 6) == (
        "3 search epochs and 1 retrained architecture, 4 of the 6 trials planned: the search ends once its "
        "retrained architectures are trained (with a cost target, only those that landed within it)"
    )
    complete = outcome_text({**counts, "ok": 6, "trained": 3}, 6)
    assert complete == "3 search epochs and 3 retrained architectures"
    repeated = outcome_text({**counts, "ok": 8, "trained": 5}, 6)
    assert repeated.startswith("3 search epochs and 5 retrained architectures, 8 trials where 6 were planned")


def test_an_epoch_over_budget_is_still_counted_an_epoch() -> None:
    """A search epoch whose derived architecture was over budget is "infeasible", but an epoch, not a
    retrained architecture (JupyterLab said "1 search epoch and 2 retrained architectures" of a search of
    2 epochs and 1 retrained architecture, the second epoch over its latency budget)."""
    from nas_workbench.engine.records import TrialResult, outcome_counts

    def trial(number: int, status: str, method: str) -> TrialResult:
        accuracy = {"value": 0.5, "unit": "fraction", "method": method, "source": "x"}
        metrics = {"accuracy": accuracy}
        return TrialResult(
            number, status, {}, "a", "a", metrics, [0.5], status == "ok", None, 1.0, None, [], None
        )

    results = [trial(0, "ok", "estimated"), trial(1, "infeasible", "estimated"), trial(2, "ok", "measured")]
    assert outcome_text(outcome_counts(results), 4).startswith("2 search epochs and 1 retrained architecture")


def test_a_retrain_top_over_half_the_trials_is_refused_naming_it() -> None:
    """It used to be capped silently: 10 trials with retrain_top 8 ran 5 epochs and retrained 5."""
    config = nw.SearchConfig(space="nb201", strategy="dnas", n_trials=10, strategy_options={"retrain_top": 8})
    with pytest.raises(ConfigError) as refused:
        config.validate()
    assert refused.value.field == "strategy_options.retrain_top"
    message = str(refused.value)
    assert "8" in message and "at most 5, half of n_trials=10" in message and "at least 16" in message
    assert run_plan_text(config.replace(n_trials=16).validate()).startswith(  # allowed at half
        "dnas counts a trial per supernet search epoch and per retrained architecture: 16 trials are 8 "
        "search epochs, then up to 8 architectures retrained from scratch (fewer when"
    )
    no_retraining = {"retrain_top": 8, "retrain": False}  # retrain_top is not used: nothing to refuse
    config.replace(strategy_options=no_retraining).validate()


def test_the_default_retrain_top_is_capped_and_the_plan_says_so() -> None:
    config = nw.SearchConfig(space="nb201", strategy="dnas", n_trials=6).validate()
    assert "up to 3 architectures retrained from scratch (retrain_top 4 capped at half the trials; fewer" in (
        run_plan_text(config) or ""
    )
    assert "capped" not in plan_text(8, DnasOptions())
