"""``trial_timeout`` enforced while a trial runs: a hanging ``evaluate`` (in this process or in a worker)
and a long training are failed at the deadline with their reason, and the search goes on."""

from __future__ import annotations

import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

import nas_workbench as nw
from nas_workbench.engine import TrialResult
from nas_workbench.testing.workers import score
from tests.engine.conftest import cheap_config, log_of

LIMIT = 2.0
#: The issue's goal: the hung trial is failed within this many seconds of its deadline.
SLACK_S = 5.0


def _check_first_trial_timed_out(study: optuna.Study, what: str, evaluated_at: float) -> None:
    """Trial 0, whose scoring began at ``evaluated_at`` (Unix time), failed for its timeout within
    `SLACK_S` of the deadline; the others completed."""
    first, *rest = sorted(study.trials, key=lambda t: t.number)
    assert first.state == TrialState.FAIL
    reason = TrialResult.from_frozen(first).reason
    assert reason == f"TrialTimeoutError: {what} exceeded trial_timeout=2 s and was abandoned"
    assert first.datetime_complete is not None and first.datetime_start is not None
    assert LIMIT <= first.datetime_complete.timestamp() - evaluated_at < LIMIT + SLACK_S
    assert rest and all(t.state == TrialState.COMPLETE for t in rest)


def test_a_hanging_evaluate_is_failed_at_the_deadline_and_the_search_goes_on(storage):
    release = threading.Event()
    calls: list[float] = []

    def evaluate(spec, model):
        calls.append(time.time())
        if len(calls) == 1:
            release.wait(3600)  # an hour, unless the test ends first
        return score(spec, model)

    config = cheap_config(storage, "hang", n_trials=3, trial_timeout=LIMIT, repeats=True)
    started = time.monotonic()
    try:
        run = nw.search(config, evaluate=evaluate).run()
    finally:
        release.set()
    assert time.monotonic() - started < 60
    _check_first_trial_timed_out(run.study, "evaluate", calls[0])
    assert run.trials_done() == 3 and len(calls) == 3


@pytest.mark.slow  # a worker process starts in 10-30 s on a loaded machine
def test_a_hanging_evaluate_in_a_worker_process_is_failed_at_the_deadline(storage, workers, eval_log):
    nw.search(cheap_config(storage, "hang-worker", n_trials=3, trial_timeout=LIMIT, repeats=True))
    worker = workers(storage, "hang-worker", "hang_first")  # its first evaluation sleeps an hour
    assert worker.wait(timeout=120) == 0, log_of(worker)
    study = optuna.load_study(study_name="hang-worker", storage=storage)
    _check_first_trial_timed_out(study, "evaluate", float(eval_log()[0].split()[2]))
    assert "Traceback" not in log_of(worker)


def test_a_training_longer_than_the_deadline_is_failed_with_its_reason(storage, tiny_task):
    config = cheap_config(
        storage, "long-training", n_trials=2, trial_timeout=LIMIT, fidelity=nw.Fidelity(epochs=10_000),
        profile_metrics=["params"], strategy="random",
    )  # fmt: skip
    started = time.monotonic()
    run = nw.search(config, data=tiny_task).run()
    assert time.monotonic() - started < 2 * (LIMIT + SLACK_S) + 20
    results = run.results()
    assert [r.status for r in results] == ["failed", "failed"]
    assert all(r.reason.startswith("TrialTimeoutError: training exceeded trial_timeout=2 s") for r in results)
