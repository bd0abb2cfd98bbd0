"""Faults on one machine (SQLite): failing trials, a worker killed mid-trial, several processes on one file,
an unreachable storage, measurements kept apart from training, GPU memory returned."""

from __future__ import annotations

import gc
import itertools
import logging
import math
import os
import signal
import sqlite3
import threading
import time
import weakref

import optuna
import pytest
import torch
from optuna.trial import TrialState

import nas_workbench as nw
from nas_workbench.cli import main
from nas_workbench.engine import TrialResult
from nas_workbench.engine.scheduler import claim
from nas_workbench.profiling import measurement_lock
from nas_workbench.testing.workers import score
from tests.engine.conftest import cheap_config, check_exactly_once, running_trial_of, wait_for


def test_raising_oom_nan_and_overtime_trials_are_failed_with_their_reason_and_the_search_goes_on(storage):
    calls = itertools.count()

    def evaluate(spec, model):
        call = next(calls)
        if call == 0:
            raise RuntimeError("out of luck")
        if call == 1:
            torch.empty(2**62, dtype=torch.uint8)  # a real allocation failure, not a simulated one
        if call == 2:
            return {"accuracy": math.nan}
        if call == 3:
            # over trial_timeout; the abandoned thread then ends without logging an evaluation
            time.sleep(3.0)
            return {"accuracy": 0.5}  # (a `score` here would land in the next test's evaluation log)
        return score(spec, model)

    run = nw.search(cheap_config(storage, "faults", n_trials=7, trial_timeout=1.0), evaluate=evaluate).run()
    results = run.results()
    assert [r.status for r in results] == ["failed"] * 4 + ["ok"] * 3
    reasons = [r.reason for r in results[:4]]
    assert reasons[0] == "RuntimeError: out of luck"
    assert reasons[1].startswith("RuntimeError") and "can't allocate memory" in reasons[1]
    assert reasons[2].startswith("ConfigError") and "a finite number" in reasons[2]  # a NaN score is refused
    assert reasons[3].startswith("TrialTimeoutError") and "trial_timeout=1 s" in reasons[3]


def test_a_worker_killed_mid_trial_loses_nothing_and_its_trial_is_retried_on_resume_sqlite(
    tmp_path, workers, eval_log
):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    config = cheap_config(storage, "kill", n_trials=8)
    nw.search(config)  # the notebook creates the study
    victim = workers(storage, "kill", "score_then_hang")  # completes two trials, then hangs in its third
    wait_for(lambda: len(eval_log()) == 3, 120, "the worker to be stuck in its third trial")
    dead = running_trial_of(storage, "kill", victim.pid)
    assert dead is not None
    victim.send_signal(signal.SIGKILL)  # as a kernel restart or the OOM killer would
    victim.wait()

    resumed = nw.search(config, evaluate=score)  # Resume, in a new process's place
    started = []
    resumed.subscribe(lambda e: started.append(e.trials_before) if e.kind == "run_started" else None)
    resumed.run()
    assert started == [2]  # the worker's two completed trials were kept

    study = optuna.load_study(study_name="kill", storage=storage)
    check_exactly_once(study, 8, eval_log(), hung=1)
    assert resumed.trials_done() == 8
    failed = study.trials[dead.number]
    assert failed.state == TrialState.FAIL
    assert "stopped mid-trial" in TrialResult.from_frozen(failed).reason
    (retry,) = [t for t in study.trials if t.system_attrs.get("failed_trial") == dead.number]
    assert retry.state == TrialState.COMPLETE and retry.params == dead.params  # the same architecture
    mine = [t for t in study.trials if t.user_attrs["worker"].endswith(f":{victim.pid}")]
    assert [t.state for t in mine] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAIL]


def test_without_retries_a_dead_workers_trial_counts_as_failed(storage):
    config = cheap_config(storage, "noretry", n_trials=4, retries=0)
    first = nw.search(config, evaluate=score)
    # A process that claims a trial and then never beats again: dead, as far as the storage can tell.
    abandoned = claim(first.study, first.storage, config.n_trials)
    assert abandoned is not None
    resumed = nw.search(config, evaluate=score).run()  # waits out the grace period, then fails it
    results = resumed.results()
    assert len(results) == 4 and resumed.trials_done() == 4
    (dead,) = [r for r in results if r.status == "failed"]
    assert dead.number == abandoned[0].number and "stopped mid-trial" in dead.reason


@pytest.mark.slow  # 12 s; local workers on one SQLite file also run in tests/ui/test_workers.py
def test_local_worker_processes_share_one_sqlite_file_and_every_trial_reaches_the_run(
    tmp_path, eval_log, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the workers' logs go to ./runs
    path = tmp_path / "study.db"
    run = nw.search(cheap_config(f"sqlite:///{path}", "shared", n_trials=16), evaluate=score)
    finished = []
    run.subscribe(lambda e: finished.append(e) if e.kind == "trial_finished" else None)
    run.run(workers=2)
    check_exactly_once(run.study, 16, eval_log())
    assert sorted(e.number for e in finished) == list(range(16))  # every worker's trial, once, live
    assert len({e.worker for e in finished}) == 2 and os.getpid() not in {
        int(e.worker.split(":")[1]) for e in finished
    }
    assert len(run.study.trials) in range(16, 18)  # at most one spare per racing process, never claimed
    assert all(t.state == TrialState.WAITING for t in run.study.trials[16:])
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize(
    "storage, study, message",
    [
        ("postgresql://postgres@127.0.0.1:1/test", "x", "port 1 failed: Connection refused"),
        ("sqlite:///{tmp}/empty.db", "nope", "no study 'nope'"),
    ],
)
def test_a_worker_that_cannot_reach_its_study_says_so_and_exits_nonzero(tmp_path, capsys, storage, study,
                                                                        message):  # fmt: skip
    status = main(["worker", "--storage", storage.format(tmp=tmp_path), "--study", study])
    error = capsys.readouterr().err
    assert status == 2 and error.startswith("error: ") and message in error and "Traceback" not in error


def test_evaluation_holds_off_latency_measurements_of_other_workers(storage):
    measured = threading.Event()
    held_off: list[bool] = []
    threads: list[threading.Thread] = []

    def evaluate(spec, model):
        def measure() -> None:
            with measurement_lock():
                measured.set()

        threads.append(threading.Thread(target=measure))
        threads[-1].start()
        held_off.append(not measured.wait(0.5))  # as another worker's measurement would
        return score(spec, model)

    run = nw.search(cheap_config(storage, "lock", n_trials=1), evaluate=evaluate).run()
    threads[0].join(timeout=30)
    assert [r.status for r in run.results()] == ["ok"]
    assert held_off == [True] and measured.is_set()  # waited while evaluating, measured right after


def test_a_failed_trial_leaves_nothing_alive_in_kept_log_records(storage, caplog):
    """caplog keeps every record, as a notebook's handler may: the failure's record must not hold the error,
    whose traceback holds the trial's frames and what they allocated (tensors on a GPU)."""

    class Held:
        pass

    held: list[weakref.ref[Held]] = []

    def evaluate(spec, model):
        activations = Held()
        held.append(weakref.ref(activations))
        raise RuntimeError(f"failed holding {activations!r}")

    config = cheap_config(storage, "kept-records", n_trials=2, retries=0)
    with caplog.at_level(logging.WARNING, logger="nas_workbench"):
        run = nw.search(config, evaluate=evaluate).run()
    assert [r.status for r in run.results()] == ["failed", "failed"]
    assert any("failed holding" in record.getMessage() for record in caplog.records)
    gc.collect()
    assert held and all(ref() is None for ref in held)


@pytest.mark.gpu
def test_finished_trials_leave_no_gpu_memory_behind(storage):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    torch.cuda.init()
    torch.cuda.empty_cache()
    baseline, reserved = torch.cuda.memory_allocated(), torch.cuda.memory_reserved()

    def evaluate(spec, model):
        activations = [torch.randn(1024, 1024, device="cuda") for _ in range(8)]
        if spec.choices["stage1.block0.op"] == "conv":
            raise RuntimeError(f"failed holding {len(activations)} tensors")  # its traceback holds them
        return score(spec, model)

    config = cheap_config(storage, "gpu", n_trials=6, device="cuda", profile_metrics=["params", "latency_ms"])
    run = nw.search(config, evaluate=evaluate).run()
    assert {r.status for r in run.results()} <= {"ok", "failed"}
    assert torch.cuda.memory_allocated() == baseline
    # segments still holding the earlier live blocks stay (cuBLAS' workspace, a 1 MiB block in a 2 MiB one)
    assert torch.cuda.memory_reserved() <= reserved
