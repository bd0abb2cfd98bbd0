"""Early stopping on the accuracy curve, in single- and multi-objective studies."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.trial import TrialState

from nas_workbench.engine.pruning import PRUNERS, EpochPruner, make_pruner
from nas_workbench.exceptions import ConfigError
from nas_workbench.trial_attrs import learning_curve

EPOCHS = 8


def _curve(quality: float, epoch: int) -> float:
    """A learning curve that rises towards ``quality``: good architectures lead from the first epochs."""
    return quality * (1 - math.exp(-epoch / 2))


def _search(
    pruner: EpochPruner | None, directions: list[str], n_trials: int = 40, storage: str | None = None
) -> optuna.Study:
    """The engine's loop in miniature: hardware values are known up front, accuracy per epoch is reported.

    The study is named because Hyperband assigns brackets by a hash of the study's name and the trial's
    number: an unnamed study gets a random name and the test would depend on it.
    """
    study = optuna.create_study(
        storage=storage,
        study_name="pruning",
        directions=directions,
        sampler=optuna.samplers.TPESampler(seed=0),
    )

    def objective(trial: optuna.Trial) -> list[float]:
        quality = trial.suggest_float("quality", 0.1, 1.0)
        latency = trial.suggest_float("latency", 1.0, 10.0)
        for epoch in range(1, EPOCHS + 1):
            if pruner is not None and pruner.report(trial, epoch, _curve(quality, epoch)):
                raise optuna.TrialPruned()
        return [_curve(quality, EPOCHS), latency][: len(directions)]

    study.optimize(objective, n_trials=n_trials)
    return study


def test_names_and_refusals() -> None:
    assert PRUNERS == ("none", "hyperband", "median", "successive_halving")
    assert make_pruner("none") is None and make_pruner(None) is None
    with pytest.raises(ConfigError, match="Did you mean 'median'"):
        make_pruner("medain")
    with pytest.raises(ConfigError, match=r"pruner_options\.n_warmup_step.*Did you mean 'n_warmup_steps'"):
        make_pruner("median", n_warmup_step=2)
    with pytest.raises(ConfigError, match="pruner_options"):
        make_pruner("successive_halving", reduction_factor=1)
    with pytest.raises(ConfigError, match="no options"):
        make_pruner("none", n_startup_trials=3)


@pytest.mark.parametrize("name", ["median", "successive_halving", "hyperband"])
@pytest.mark.parametrize("directions", [["maximize"], ["maximize", "minimize"], ["minimize"]])
def test_prunes_poor_curves_for_any_number_of_objectives(name: str, directions: list[str]) -> None:
    study = _search(make_pruner(name), directions)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert pruned and complete
    for trial in pruned:
        assert 1 <= len(learning_curve(trial)) < EPOCHS
    # Pruning is by the accuracy curve: pruned trials are mostly the poorer ones.
    mean = lambda trials: sum(t.params["quality"] for t in trials) / len(trials)  # noqa: E731
    assert mean(pruned) < mean(complete)


def test_curves_live_where_optuna_reads_them_correctly() -> None:
    single = _search(make_pruner("median"), ["maximize"], n_trials=15)
    several = _search(make_pruner("median"), ["maximize", "minimize"], n_trials=15)
    assert all(t.intermediate_values == learning_curve(t) for t in single.trials)
    # In a multi-objective study Optuna would turn a pruned trial's last intermediate value into its
    # (single) values, and TPE would fail on it: the curve stays out of intermediate values.
    assert all(not t.intermediate_values and learning_curve(t) for t in several.trials)
    assert all(t.values is None for t in several.trials if t.state == TrialState.PRUNED)
    assert several.best_trials


def test_median_waits_for_its_startup_trials() -> None:
    study = _search(make_pruner("median", n_startup_trials=10), ["maximize", "minimize"], n_trials=20)
    assert all(t.state == TrialState.COMPLETE for t in study.trials[:10])


def test_works_on_a_sqlite_storage(storage: str) -> None:
    study = _search(
        make_pruner("median", n_startup_trials=3), ["maximize", "minimize"], n_trials=8, storage=storage
    )
    assert {TrialState.PRUNED, TrialState.COMPLETE} == {t.state for t in study.trials}
    reloaded = optuna.load_study(study_name=study.study_name, storage=storage)
    assert [learning_curve(t) for t in reloaded.trials] == [learning_curve(t) for t in study.trials]
