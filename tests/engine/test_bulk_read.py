"""The bulk trial reader returns exactly what Optuna's own `get_trials` does, on SQLite and PostgreSQL."""

from __future__ import annotations

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState

import nas_workbench as nw
from nas_workbench.engine._bulk_read import read_trials
from nas_workbench.testing.workers import TINY_CHAIN, score


def _flaky(spec: nw.ArchSpec, model) -> dict[str, float]:
    if spec.choices["stage1.block0.op"] == "conv":
        raise RuntimeError("out of luck")
    return score(spec, model)


def _mixed_study(storage: str, study_name: str = "mixed") -> optuna.Study:
    """A real engine search with ok, infeasible and failed trials, then pruned, running and waiting ones
    with intermediate values and every kind of parameter, added through Optuna."""
    config = nw.SearchConfig(
        space="chain",
        space_options=TINY_CHAIN,
        strategy="random",
        objectives=["accuracy", "params"],
        profile_metrics=["params"],
        budget={"params": 2_000},
        n_trials=10,
        storage=storage,
        study_name=study_name,
    )
    run = nw.search(config, evaluate=_flaky)
    run.run()
    study = run.study
    pruned = study.ask()
    pruned.suggest_float("lr", 1e-4, 1e-1, log=True)
    pruned.suggest_int("width", 8, 64, step=8)
    pruned.suggest_categorical("act", ["relu", None, 3.5])
    for step, value in enumerate([0.1, float("nan"), float("inf")]):
        study._storage.set_trial_intermediate_value(pruned._trial_id, step, value)
    study.tell(pruned, state=TrialState.PRUNED)
    running = study.ask()
    running.set_user_attr("note", {"nested": [1, 2.5, None]})
    study.enqueue_trial({"lr": 0.01})
    study.tell(study.ask(), [float("-inf"), 3.0])
    return study


def _same(trials: list[optuna.trial.FrozenTrial], expected: list[optuna.trial.FrozenTrial]) -> bool:
    """Equal field by field; intermediate values through ``repr``, since NaN never compares equal."""

    def fields(trial: optuna.trial.FrozenTrial) -> dict:
        return {**vars(trial), "intermediate_values": repr(sorted(trial.intermediate_values.items()))}

    return [fields(t) for t in trials] == [fields(t) for t in expected]


def _check(study: optuna.Study) -> None:
    expected = study.get_trials(deepcopy=False)
    statuses = {t.state for t in expected}
    assert {TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED, TrialState.RUNNING} <= statuses
    assert _same(read_trials(study), expected)
    for states in ([TrialState.COMPLETE], [TrialState.FAIL, TrialState.PRUNED], []):
        assert _same(read_trials(study, states), study.get_trials(deepcopy=False, states=tuple(states)))
    assert [r.to_dict() for r in nw.engine.records.trial_results(study)] == [
        nw.TrialResult.from_frozen(t).to_dict() for t in expected
    ]


def test_equals_optuna_on_sqlite(storage: str) -> None:
    _check(_mixed_study(storage))


@pytest.mark.postgres
def test_equals_optuna_on_postgres(postgres: str, study_name: str) -> None:
    _check(_mixed_study(postgres, study_name))


def test_other_storages_are_read_through_optuna() -> None:
    study = optuna.create_study()
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)
    assert _same(read_trials(study), study.get_trials(deepcopy=False))


def test_reading_takes_no_write_lock_on_sqlite(storage: str) -> None:
    """The engine's SQLite storage begins writes with BEGIN IMMEDIATE (the write lock); the bulk read,
    which can last a second on a large study, must not hold up the workers' writes that long."""
    study = _mixed_study(storage)
    engine = study._storage._backend.engine
    statements: list[str] = []
    sqlalchemy.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    read_trials(study)
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN"]
    study.set_user_attr("written", True)  # and writing still takes the write lock
    assert "BEGIN IMMEDIATE" in statements
