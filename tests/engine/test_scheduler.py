"""The scheduler's stand-in for Optuna's optimize loop: a study that stops itself, an interrupted trial, and
the Optuna internals it relies on."""

from __future__ import annotations

import threading
import warnings

import optuna
import pytest
from optuna.trial import TrialState

from nas_workbench.engine.scheduler import run_trials, stopped_itself
from nas_workbench.engine.storage import open_storage
from nas_workbench.exceptions import NasWorkbenchError


def grid_study(storage_url: str) -> tuple[optuna.Study, optuna.storages.RDBStorage]:
    """A study whose BruteForceSampler stops it once both values of ``x`` have been tried."""
    storage = open_storage(storage_url)
    with warnings.catch_warnings():  # BruteForceSampler is "experimental" in Optuna 5
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.BruteForceSampler(seed=0)
    return optuna.create_study(storage=storage, study_name="grid", sampler=sampler), storage


def run(study: optuna.Study, storage: optuna.storages.RDBStorage, objective) -> bool:
    return run_trials(study, storage, objective, 10, heartbeat_interval=1.0, stop=threading.Event())


def test_a_grid_that_stops_itself_ends_the_loop_and_says_so_in_the_study(storage):
    study, opened = grid_study(storage)
    assert not stopped_itself(opened, "grid")
    assert run(study, opened, lambda trial: [trial.suggest_categorical("x", [0, 1])]) is True
    assert sorted(t.params["x"] for t in study.trials) == [0, 1]  # stopped with room for 8 more
    assert stopped_itself(open_storage(storage), "grid")  # any process reading the storage sees it


def test_an_interrupt_in_the_trial_that_completes_the_grid_is_raised_as_itself(storage):
    study, opened = grid_study(storage)

    def objective(trial: optuna.Trial) -> list[float]:
        x = trial.suggest_categorical("x", [0, 1])
        if trial.number == 1:  # the grid's last architecture: telling its failure stops the study
            raise KeyboardInterrupt
        return [x]

    with pytest.raises(KeyboardInterrupt):
        run(study, opened, objective)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAIL]


@pytest.mark.parametrize("renamed", ["_stop_flag", "_thread_local"])
def test_optuna_without_the_optimize_loop_internals_fails_loudly(storage, renamed):
    study, opened = grid_study(storage)
    delattr(study, renamed)  # as a future Optuna that renamed it
    with pytest.raises(NasWorkbenchError, match=rf"optuna {optuna.__version__} has no Study\.{renamed}"):
        run(study, opened, lambda trial: [trial.suggest_categorical("x", [0, 1])])
    assert study.trials == []  # refused before any trial ran
