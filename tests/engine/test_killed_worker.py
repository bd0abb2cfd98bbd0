"""One local worker killed mid-search while the other completes the plan: the search finished, and says
so; a worker killed by a signal is described by the signal, not by the last line of its log."""

from __future__ import annotations

import os
import signal

import pytest

import nas_workbench as nw
from nas_workbench.engine import events as ev
from nas_workbench.testing.workers import sleepy
from tests.engine.conftest import cheap_config


@pytest.mark.slow  # 14 s, an edge case of two workers finishing one study
def test_a_search_completed_by_the_other_worker_is_not_an_error(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)  # the workers' logs go to ./runs
    config = cheap_config(f"sqlite:///{tmp_path / 'study.db'}", "killed", n_trials=6, heartbeat_interval=0.5)
    run = nw.search(config, evaluate=sleepy)
    killed: list[int] = []
    ends: list[ev.RunFinished] = []

    def kill_one_worker(event: ev.Event) -> None:
        if isinstance(event, ev.TrialFinished) and not killed:
            killed.append(int(event.worker.split(":")[1]))
            os.kill(killed[0], signal.SIGKILL)
        elif isinstance(event, ev.RunFinished):
            ends.append(event)

    run.subscribe(kill_one_worker)
    run.run(workers=2)
    (end,) = ends
    assert killed and run.trials_done() == 6
    assert end.reason != "error" and run.error is None, end.error
    warning = next(r.getMessage() for r in caplog.records if "on the way" in r.getMessage())
    assert f"(pid {killed[0]}) was killed by SIGKILL" in warning
