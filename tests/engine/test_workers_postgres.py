"""Workers on the real PostgreSQL server (127.0.0.1:5432, database ``test``): sharing a study, a worker
killed mid-trial, the database restarted mid-search.

Each test uses its own study names and deletes them. Without a reachable server these tests skip, except
under CI (``CI=true``), where they fail: `.ci/run` starts the server.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import nas_workbench as nw
from tests.conftest import reachable
from tests.engine.conftest import (
    cheap_config,
    check_exactly_once,
    log_of,
    opened,
    running_trial_of,
    wait_for,
)

pytestmark = pytest.mark.postgres


def _cluster_command(action: str) -> list[str]:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]


def _run_workers(
    postgres, study_name, workers, n_trials: int, n_workers: int, timeout: float
) -> optuna.Study:
    """Create the study, let ``n_workers`` worker processes run it to the end, and return it."""
    nw.search(cheap_config(postgres, study_name, n_trials=n_trials))
    processes = [workers(postgres, study_name) for _ in range(n_workers)]
    for process in processes:
        assert process.wait(timeout=timeout) == 0, log_of(process)
    return optuna.load_study(study_name=study_name, storage=opened(postgres))


def test_postgres_workers_share_a_study_without_loss_or_duplicates(postgres, study_name, workers, eval_log):
    study = _run_workers(postgres, study_name, workers, n_trials=20, n_workers=2, timeout=300)
    check_exactly_once(study, 20, eval_log())
    assert len(study.trials) in range(20, 22)  # at most one spare per racing worker, never claimed


@pytest.mark.slow
def test_postgres_four_workers_run_a_hundred_trials_each_without_loss_or_duplicates(
    postgres, study_name, workers, eval_log
):
    study = _run_workers(postgres, study_name, workers, n_trials=400, n_workers=4, timeout=900)
    check_exactly_once(study, 400, eval_log())
    assert {t.state for t in study.trials[:400]} == {TrialState.COMPLETE}
    per_worker = {}
    for trial in study.trials[:400]:
        per_worker[trial.user_attrs["worker"]] = per_worker.get(trial.user_attrs["worker"], 0) + 1
    assert len(per_worker) == 4  # every worker took part


def test_postgres_worker_killed_mid_trial_is_failed_and_retried_by_another(
    postgres, study_name, workers, eval_log
):
    nw.search(cheap_config(postgres, study_name, n_trials=12))
    victim = workers(postgres, study_name, "score_then_hang")  # completes two trials, then hangs
    wait_for(lambda: running_trial_of(postgres, study_name, victim.pid) is not None and len(eval_log()) >= 3,
             120, "the victim to be stuck in its third trial")  # fmt: skip
    dead = running_trial_of(postgres, study_name, victim.pid)
    survivor = workers(postgres, study_name)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert survivor.wait(timeout=300) == 0, log_of(survivor)  # it waited for the dead trial and retried it

    study = optuna.load_study(study_name=study_name, storage=opened(postgres))
    check_exactly_once(study, 12, eval_log(), hung=1)
    assert study.trials[dead.number].state == TrialState.FAIL
    (retry,) = [t for t in study.trials if t.system_attrs.get("failed_trial") == dead.number]
    assert retry.state == TrialState.COMPLETE and retry.params == dead.params
    assert retry.user_attrs["worker"].endswith(f":{survivor.pid}")


@pytest.mark.slow  # 21 s; lost connections and an outage are ridden out in test_chaos_postgres.py
def test_postgres_restarted_mid_search_is_ridden_out(postgres, study_name, workers, eval_log):
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        pytest.skip("needs the local Debian PostgreSQL cluster (pg_ctlcluster) to restart it")
    nw.search(cheap_config(postgres, study_name, n_trials=16))
    processes = [workers(postgres, study_name, "sleepy") for _ in range(2)]
    wait_for(lambda: len(eval_log()) >= 4, 120, "the workers to finish a few trials")
    try:
        subprocess.run(_cluster_command("stop"), check=True, capture_output=True, timeout=60)
        time.sleep(
            3
        )  # down long enough for both workers to notice: each calls the storage many times a second
    finally:
        subprocess.run(_cluster_command("start"), capture_output=True, timeout=60)
        wait_for(lambda: reachable(postgres) is None, 60, "PostgreSQL to accept connections again")
    for process in processes:
        assert process.wait(timeout=300) == 0, log_of(process)
    assert any("retrying" in log_of(p) and "reachable again" in log_of(p) for p in processes)
    study = optuna.load_study(study_name=study_name, storage=opened(postgres))
    check_exactly_once(study, 16, eval_log())
