"""Helpers for tests of several processes on one study: a cheap config, workers, an evaluation log."""

from __future__ import annotations

import contextlib
import functools
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import optuna
import pytest
from optuna.trial import TrialState

import nas_workbench as nw
from nas_workbench.engine.storage import open_storage
from nas_workbench.testing.workers import TINY_CHAIN

EVALUATE = "nas_workbench.testing.workers:"


def cheap_config(storage: str, study_name: str, **changes) -> nw.SearchConfig:
    """Trials that only build a tiny network and count its parameters (digits, so workers have the data)."""
    settings = {
        "space": "chain",
        "space_options": TINY_CHAIN,
        "strategy": "random",
        "objectives": ["accuracy", "params"],
        "profile_metrics": ["params"],
        "n_trials": 10,
        "storage": storage,
        "study_name": study_name,
        "heartbeat_interval": 2.0,  # a dead worker's trial is failed after 8 s (a loaded machine stalls 2 s)
        "retries": 1,
        **changes,
    }
    return nw.SearchConfig(**settings)


@pytest.fixture(autouse=True)
def own_measurement_lock(tmp_path, monkeypatch) -> None:
    """This test's processes share a profiling cache, and so a measurement lock, with nobody else's."""
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def eval_log(tmp_path, monkeypatch) -> Callable[[], list[str]]:
    """Every evaluation of `nas_workbench.testing.workers` in any process appends a line; read them back."""
    path = tmp_path / "evaluations.log"
    monkeypatch.setenv("NAS_WORKBENCH_EVAL_LOG", str(path))
    return lambda: path.read_text().split("\n")[:-1] if path.exists() else []


@pytest.fixture
def workers(tmp_path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``nas-workbench worker`` processes; any still running at the end of the test is killed."""
    started: list[subprocess.Popen[str]] = []

    def start(storage: str, study: str, evaluate: str = "score", *extra: str) -> subprocess.Popen[str]:
        path = tmp_path / f"worker{len(started)}.log"
        command = [sys.executable, "-m", "nas_workbench.cli", "worker", "--storage", storage, "--study"]
        command += [study, "--evaluate", EVALUATE + evaluate] if evaluate else [study]
        with path.open("w") as log:
            process = subprocess.Popen([*command, *extra], stdout=log, stderr=subprocess.STDOUT, text=True)
        process.log_path = path  # type: ignore[attr-defined]
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def log_of(process: subprocess.Popen[str]) -> str:
    return process.log_path.read_text()  # type: ignore[attr-defined]


@functools.cache
def opened(storage: str) -> optuna.storages.BaseStorage:
    """The storage at URL ``storage``, opened once per test session."""
    return open_storage(storage)


def running_trial_of(storage: str, study: str, pid: int) -> optuna.trial.FrozenTrial | None:
    """The RUNNING trial that process ``pid`` claimed, if any."""
    trials = optuna.load_study(study_name=study, storage=opened(storage)).get_trials(
        deepcopy=False, states=(TrialState.RUNNING,)
    )
    return next((t for t in trials if t.user_attrs.get("worker", "").endswith(f":{pid}")), None)


def check_exactly_once(study: optuna.Study, n_trials: int, evaluations: list[str], hung: int = 0) -> None:
    """Nothing lost: the plan holds ``n_trials`` finished trials, none running or waiting. Nothing done
    twice: one evaluation per completed trial that is not a repeat of an earlier architecture (a repeat
    reuses its result, `nas_workbench.engine.repeats`), plus the ``hung`` ones of attempts killed
    mid-trial."""
    from nas_workbench.engine.scheduler import plan

    planned = plan(study.get_trials(deepcopy=False), n_trials)
    assert len(planned) == n_trials
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL) for t in planned)
    completed = [t for t in planned if t.state == TrialState.COMPLETE and "repeat_of" not in t.user_attrs]
    assert len(evaluations) == len(completed) + hung


@pytest.fixture
def study_name(postgres) -> Iterator[str]:
    """A study name no other test uses; the study is deleted afterwards."""
    name = f"pytest-{uuid.uuid4().hex[:12]}"
    yield name
    with contextlib.suppress(KeyError):
        optuna.delete_study(study_name=name, storage=opened(postgres))
