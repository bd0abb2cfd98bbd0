"""Chaos on a private PostgreSQL cluster: clients' connections terminated again and again
(``pg_terminate_backend``), then the server stopped for longer than the storage's retry window.

What must hold: every terminated connection is ridden out (no trial failed or counted for it, no
traceback); a search cut off for longer than the window ends with exit status 2 and one line saying so,
and the next processes of the study finish it to exactly ``n_trials`` completed trials. The attempts that
were in progress when the window ran out are left running, go stale, and are retried (their retries
replace them); an evaluation they had finished was kept on disk and their retry takes it: none is lost.
"""

from __future__ import annotations

import time

import optuna
import pytest
from optuna.trial import TrialState

import nas_workbench as nw
from nas_workbench.engine.scheduler import plan, replaced
from nas_workbench.engine.storage import RETRY_WINDOW_ENV, StorageUnavailableError
from nas_workbench.testing.workers import score
from tests.engine.conftest import cheap_config, log_of, wait_for
from tests.engine.private_postgres import PrivateCluster, private_postgres

__all__ = ["private_postgres"]  # the fixture, imported for this module's tests


def _outcome(study: optuna.Study, n_trials: int, evaluations: int) -> dict[str, int]:
    """The figures the issue's goal names: completed and failed trials of the plan, failed attempts that
    were replaced by a retry, and evaluations beyond one per completed trial (lost with a process)."""
    planned = plan(study.get_trials(deepcopy=False), n_trials)
    completed = sum(t.state == TrialState.COMPLETE for t in planned)
    return {
        "planned": len(planned),
        "completed": completed,
        "failed": sum(t.state == TrialState.FAIL for t in planned),
        "replaced": len(replaced(study.trials)),
        "lost_evaluations": evaluations - completed,
        "unfinished": sum(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in planned),
    }


def test_a_search_rides_out_terminated_connections_and_resumes_after_an_outage_past_the_window(
    private_postgres: PrivateCluster, monkeypatch, eval_log
):
    cluster = private_postgres
    monkeypatch.setenv(RETRY_WINDOW_ENV, "2")  # the window, short for a quick test
    n_trials = 16

    def evaluate(spec, model):  # slow enough that the faults come before the plan is done
        time.sleep(0.25)
        return score(spec, model)

    config = cheap_config(cluster.url, "chaos", n_trials=n_trials, repeats=True, heartbeat_interval=0.5)
    run = nw.search(config, evaluate=evaluate).start()
    wait_for(lambda: len(eval_log()) >= 2, 60, "the first trials")
    with cluster.terminating(every_s=0.15) as terminated:  # until connections in use were cut 5 times
        time.sleep(2)  # (a loaded machine's search holds fewer of them at a time: up to 10 s more)
        wait_for(lambda: sum(terminated) >= 5, 10, "5 connections in use cut")
    assert run.running, run.error
    during_terminations = len(eval_log())

    cluster.stop()
    time.sleep(4)  # longer than the window
    assert run.wait(timeout=30)
    assert isinstance(run.error, StorageUnavailableError), run.error
    assert "unreachable for" in str(run.error)
    cluster.start()

    resumed = nw.search(config, evaluate=evaluate).run()  # a new process's place: it finishes the study
    study = optuna.load_study(study_name="chaos", storage=cluster.url)
    outcome = _outcome(study, n_trials, len(eval_log()))
    assert during_terminations >= 2 and resumed.trials_done() == n_trials
    assert outcome["completed"] == n_trials and outcome["failed"] == 0 and outcome["unfinished"] == 0, outcome
    assert outcome["replaced"] <= 1 and outcome["lost_evaluations"] == 0, outcome


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_workers_ride_out_25_s_of_terminations_and_a_75_s_outage(
    private_postgres: PrivateCluster, workers, eval_log, capsys
):
    """The issue's goal: 2 workers, 60 trials, connections terminated every 0.15 s for 25 s, then a 75 s
    outage (the default window is 60 s: the workers exit 2 and new ones finish the study)."""
    cluster = private_postgres
    n_trials, name = 60, "chaos-workers"
    started = time.monotonic()

    def note(what: str) -> None:
        with capsys.disabled():
            print(f"\n{time.monotonic() - started:6.1f} s: {what}; {len(eval_log())} evaluations", end="")

    nw.search(cheap_config(cluster.url, name, n_trials=n_trials, repeats=True))
    first = [workers(cluster.url, name, "slow") for _ in range(2)]
    wait_for(lambda: len(eval_log()) >= 2, 120, "the workers' first trials")
    note("terminations start")
    with cluster.terminating(every_s=0.15) as terminated:
        time.sleep(25)
    assert all(process.poll() is None for process in first), [log_of(p) for p in first]

    note("server stopped")
    cluster.stop()
    time.sleep(75)
    cluster.start()
    note("server started")
    for process in first:
        assert process.wait(timeout=60) == 2, log_of(process)
        assert log_of(process).splitlines()[-1].startswith("error: storage ")
    second = [workers(cluster.url, name, "slow") for _ in range(2)]
    note("new workers")
    for process in second:
        assert process.wait(timeout=600) == 0, log_of(process)
    note("done")

    study = optuna.load_study(study_name=name, storage=cluster.url)
    outcome = _outcome(study, n_trials, len(eval_log()))
    tracebacks = sum(log_of(p).count("Traceback") for p in first + second)
    with capsys.disabled():
        print(f"\nchaos: {sum(terminated)} connections terminated in {len(terminated)} rounds; {outcome}; "
              f"tracebacks {tracebacks}")  # fmt: skip
    assert outcome["completed"] == n_trials and outcome["failed"] == 0 and outcome["unfinished"] == 0
    assert tracebacks == 0
    assert outcome["replaced"] <= 2  # at most the two attempts cut off in a trial
    assert outcome["lost_evaluations"] == 0  # their finished evaluations were kept for their retries
