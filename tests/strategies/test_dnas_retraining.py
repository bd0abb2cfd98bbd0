"""The retraining stage of "dnas": the likeliest architectures trained, then the best one trained again with
new seeds (or the next likeliest architectures, ``retrain_distinct``) within ``retrain_budget`` times the
search's wall time, at most `MAX_REPEATS` times, the best single training being the result."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import nas_workbench as nw
from nas_workbench.engine.records import DNAS_ATTR, TrialResult
from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies.dnas import options as dnas_options
from nas_workbench.strategies.dnas import retraining
from nas_workbench.strategies.dnas.retraining import best_retrained
from nas_workbench.task import Task
from tests.conftest import tiny_dnas_config


def result(number: int, accuracy: float | None, method: str = "measured", status: str = "ok") -> TrialResult:
    metrics = {} if accuracy is None else {"accuracy": {"value": accuracy, "method": method}}
    return TrialResult(
        number=number, status=status, spec={}, arch="", summary="", metrics=metrics, values=None,
        feasible=True, reason=None, duration_s=1.0, datetime_complete=None, intermediate={}, worker=None,
    )  # fmt: skip


def test_the_best_retrained_is_the_best_trained_on_validation_the_earliest_on_ties() -> None:
    results = [
        result(0, 0.99, method="estimated"),  # a supernet's estimate: not a training
        result(1, 0.90),
        result(2, 0.95),
        result(3, 0.95),
        result(4, 0.97, status="failed"),
        result(5, None),
    ]
    assert best_retrained(results).number == 2
    assert best_retrained(results[:1]) is None


def search(
    task: Task, storage: str, budget: float, evaluate: Any = None, distinct: bool = False, **config: Any
) -> list[Any]:
    options = {"penalty": ["params"], "retrain_top": 2, "retrain_budget": budget}
    options["retrain_distinct"] = distinct
    config = tiny_dnas_config(storage, strategy_options=options, profile_metrics=[], n_trials=4, **config)
    assert nw.strategies.dnas.DnasOptions().retrain_budget == 0.0  # off unless asked for
    run = nw.search(config, data=task, evaluate=evaluate)
    run.run()
    return run.study.get_trials()


def test_the_best_is_trained_again_with_new_seeds_within_the_budget(
    tiny_task: Task, storage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        dnas_options, "MAX_REPEATS", 2
    )  # a budget far over the search's time: the cap ends it
    trials = search(tiny_task, storage, budget=1000.0)
    assert len(trials) == 6  # 2 epochs, the 2 likeliest retrained, the best of them twice more
    infos = [t.user_attrs[DNAS_ATTR] for t in trials]
    assert [i["phase"] for i in infos] == ["search"] * 2 + ["retrain"] * 4
    first = [t.user_attrs["metrics"]["accuracy"]["value"] for t in trials[2:4]]
    best = trials[2 + first.index(max(first))]  # the earlier on ties, as best_retrained
    repeats = trials[4:]
    assert [i.get("repeat_of") for i in infos[2:]] == [None, None, best.number, best.number]
    assert [i["rank"] for i in infos[4:]] == [infos[best.number]["rank"]] * 2
    assert all(t.user_attrs["spec"] == best.user_attrs["spec"] for t in repeats)
    for trial in repeats:  # full trainings, each its own trial (and seed: the trial's number)
        accuracy = trial.user_attrs["metrics"]["accuracy"]
        assert accuracy["method"] == "measured"


def test_with_retrain_distinct_the_budget_trains_the_next_likeliest_architectures(
    tiny_task: Task, storage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dnas_options, "MAX_REPEATS", 2)  # a budget far over the search's: the cap ends it
    trials = search(tiny_task, storage, budget=1000.0, distinct=True)
    assert len(trials) == 6  # 2 epochs, the 2 likeliest retrained, then the 3rd and 4th likeliest
    infos = [t.user_attrs[DNAS_ATTR] for t in trials[2:]]
    assert [i["rank"] for i in infos] == [1, 2, 3, 4]
    assert all("repeat_of" not in i for i in infos)
    assert len({json.dumps(t.user_attrs["spec"], sort_keys=True) for t in trials[2:]}) == 4  # distinct
    assert all(t.user_attrs["metrics"]["accuracy"]["method"] == "measured" for t in trials[2:])
    assert len(search(tiny_task, storage.replace("study.db", "none.db"), budget=0.0, distinct=True)) == 4


def test_no_further_training_starts_that_would_end_after_the_runs_timeout(
    tiny_task: Task, storage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Late:  # the retraining's clock: every further training would end after the run's timeout
        perf_counter = staticmethod(time.perf_counter)

        @staticmethod
        def monotonic() -> float:
            return time.monotonic() + 7200.0

    monkeypatch.setattr(retraining, "time", Late)
    trials = search(tiny_task, storage, budget=1000.0, distinct=True, timeout=3600.0)
    assert len(trials) == 4  # 2 epochs, the 2 likeliest retrained (always), nothing further


def test_no_repeat_without_a_budget_nor_with_the_users_evaluate(tiny_task: Task, storage: str) -> None:
    assert len(search(tiny_task, storage, budget=0.0)) == 4  # 2 epochs, 2 retrained
    trials = search(
        tiny_task, storage.replace("study.db", "evaluated.db"), budget=1000.0,
        evaluate=lambda spec, model: {"accuracy": 0.5},
    )  # fmt: skip
    assert len(trials) == 4  # evaluate() may train nothing: a repeat would tell nothing new


def test_a_bad_retrain_distinct_is_refused_naming_the_option(storage: str) -> None:
    config = tiny_dnas_config(storage, strategy_options={"retrain_distinct": "yes"})
    with pytest.raises(ConfigError, match=r"strategy_options\.retrain_distinct"):
        nw.strategies.dnas.DnasOptions.from_config(config)


@pytest.mark.parametrize("budget", [-1.0, "1", True])
def test_a_bad_budget_is_refused_naming_the_option(storage: str, budget: Any) -> None:
    config = tiny_dnas_config(storage, strategy_options={"retrain_budget": budget})
    with pytest.raises(ConfigError, match=r"strategy_options\.retrain_budget"):
        nw.strategies.dnas.DnasOptions.from_config(config)
