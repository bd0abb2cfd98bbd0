"""The scheduler's stand-in for Optuna's optimize loop: a study that stops itself, an interrupted trial, and
the Optuna internals it relies on."""

from __future__ import annotations

import threading
import warnings

import optuna
import pytest
from optuna.trial import TrialState

import nas_workbench as nw
from nas_workbench import _compat
from nas_workbench.engine.scheduler import run_trials
from nas_workbench.engine.storage import open_storage
from nas_workbench.exceptions import CompatibilityError
from nas_workbench.testing.workers import score
from tests.engine.conftest import cheap_config


def grid_study(storage_url: str) -> tuple[optuna.Study, optuna.storages.RDBStorage]:
    """A study whose BruteForceSampler stops it once both values of ``x`` have been tried."""
    storage = open_storage(storage_url)
    with warnings.catch_warnings():  # BruteForceSampler is "experimental" in Optuna 5
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.BruteForceSampler(seed=0)
    return optuna.create_study(storage=storage, study_name="grid", sampler=sampler), storage


def run(study: optuna.Study, storage: optuna.storages.RDBStorage, objective) -> bool:
    return run_trials(study, storage, objective, 10, heartbeat_interval=1.0, stop=threading.Event())


def test_a_grid_that_stops_itself_ends_the_loop_and_says_so(storage):
    study, opened = grid_study(storage)
    assert run(study, opened, lambda trial: [trial.suggest_categorical("x", [0, 1])]) is True
    assert sorted(t.params["x"] for t in study.trials) == [0, 1]  # stopped with room for 8 more


def test_an_interrupt_in_the_trial_that_completes_the_grid_is_raised_as_itself(storage):
    study, opened = grid_study(storage)

    def objective(trial: optuna.Trial) -> list[float]:
        x = trial.suggest_categorical("x", [0, 1])
        if trial.number == 1:  # the grid's last architecture: telling its failure stops the study
            raise KeyboardInterrupt
        return [x]

    with pytest.raises(KeyboardInterrupt):
        run(study, opened, objective)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.WAITING]


def test_an_interrupted_trial_runs_again_on_resume_in_its_place(storage):
    config = cheap_config(storage, "interrupted", n_trials=3, retries=0)
    run = nw.search(config, evaluate=score)
    interrupted = []

    def interrupt_once(spec, model):
        if not interrupted:
            interrupted.append(spec)
            raise KeyboardInterrupt
        return score(spec, model)

    with pytest.raises(KeyboardInterrupt):
        nw.search(config, evaluate=interrupt_once).run()
    (first,) = run.study.trials[:1]
    assert first.state == TrialState.FAIL and first.user_attrs["reason"].startswith(
        "interrupted (KeyboardInterrupt)"
    )
    resumed = nw.search(config, evaluate=score).run()
    assert resumed.trials_done() == 3
    assert [t.state for t in resumed.study.trials] == [TrialState.FAIL] + [TrialState.COMPLETE] * 3
    assert (
        resumed.study.trials[1].params == first.params and "reason" not in resumed.study.trials[1].user_attrs
    )


def test_an_optuna_outside_the_checked_versions_is_refused_before_any_trial(storage, monkeypatch):
    study, opened = grid_study(storage)
    monkeypatch.setitem(_compat.CHECKED, "optuna", ("4.0", "5.0"))  # as if this Optuna were too new
    _compat.require.cache_clear()
    try:
        with pytest.raises(CompatibilityError, match=rf"optuna>=4.0,<5.0, but optuna {optuna.__version__}"):
            run(study, opened, lambda trial: [trial.suggest_categorical("x", [0, 1])])
    finally:
        _compat.require.cache_clear()
    assert study.trials == []


def test_a_trial_reads_the_whole_study_four_times_at_most(storage):
    """The claim (twice when it adds the trial), the sampler (once, shared by the strategy's reads:
    `_compat.sampling_trials`) and the repeat check (once): a guard against bookkeeping that re-reads."""
    config = cheap_config(storage, "reads", strategy="tpe", n_trials=6)
    run = nw.search(config, evaluate=score)
    cached = _compat.storage_of(run.study)
    reads = []
    read = cached.get_all_trials
    cached.get_all_trials = lambda *args, **kwargs: reads.append(1) or read(*args, **kwargs)  # type: ignore[method-assign]
    run.run()
    # and the run's own six: the trials done (before, in the producer, twice after: 4), the last claim and
    # the loop's look at the plan (2)
    assert len(reads) <= 4 * 6 + 6
    assert run.trials_done() == 6
