"""A latency timed on several torch threads while other processes hold the cores is said to be unreliable
when the search starts (`threads_outnumber_idle_cores`), with the setting that fixes it."""

from __future__ import annotations

import json
import os
import warnings

import pytest

import nas_workbench as nw
from nas_workbench.engine.preflight import Networks, prepare_machine
from nas_workbench.profiling import _device
from nas_workbench.profiling._device import cores_used_by_others, threads_outnumber_idle_cores


def _others(monkeypatch: pytest.MonkeyPatch, busy_cores: float, cores: int = 2) -> None:
    monkeypatch.setattr(_device, "cores_used_by_others", lambda window_s=0.25: busy_cores)
    monkeypatch.setattr(_device.os, "cpu_count", lambda: cores)


def test_more_threads_than_idle_cores_is_named_with_the_fix(monkeypatch):
    _others(monkeypatch, busy_cores=1.2)
    message = threads_outnumber_idle_cores(2)
    assert message is not None
    assert "2 torch threads" in message and "1.2 of the 2 cores" in message and "threads=1" in message
    assert threads_outnumber_idle_cores(1) is None  # one thread: its own CPU time is timed
    _others(monkeypatch, busy_cores=0.3)
    assert threads_outnumber_idle_cores(2) is None  # the second core is (nearly) free
    _others(monkeypatch, busy_cores=2.0, cores=8)
    assert threads_outnumber_idle_cores(4) is None and threads_outnumber_idle_cores(7) is not None


def test_a_search_that_times_latency_on_busy_cores_warns_when_it_starts(monkeypatch, tiny_task):
    config = nw.SearchConfig(space="chain", objectives=["accuracy", "latency_ms"], threads=2)
    networks = Networks.of(config, tiny_task)
    before = _device.torch.get_num_threads()
    try:
        _others(monkeypatch, busy_cores=1.9)
        with pytest.warns(RuntimeWarning, match=r"timed on 2 torch threads .* set threads=1"):
            prepare_machine(config, lambda: networks, None)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            prepare_machine(config.replace(threads=1), lambda: networks, None)  # one thread: silent
            untimed = config.replace(objectives=["accuracy"], profile_metrics=["params"])
            prepare_machine(untimed, lambda: networks, None)  # latency not asked for: nothing timed
    finally:
        _device.torch.set_num_threads(before)


def test_this_process_own_cpu_time_is_not_counted_as_others(monkeypatch):
    """Over a window of 0.25 s the machine used 0.5 s of CPU, 0.25 s of it this process's: others used one
    core. The machine's figure is read from /proc/stat where there is one."""
    machine, own = iter([10.0, 10.5]), iter([1.0, 1.25])
    monkeypatch.setattr(_device, "_machine_busy_s", lambda: next(machine))
    monkeypatch.setattr(_device.time, "process_time", lambda: next(own))
    monkeypatch.setattr(_device.time, "sleep", lambda s: None)
    assert cores_used_by_others(0.25) == pytest.approx(1.0)


def test_the_machine_busy_time_is_read_where_linux_has_it():
    busy = _device._machine_busy_s()
    assert busy is None if not os.path.exists("/proc/stat") else busy > 0


def test_the_command_line_prints_it_as_one_warning_line(tmp_path, capsys, monkeypatch):
    """`nas-workbench run` shows a Python warning as ``warning: <message>``, like its ``error:`` lines."""
    from nas_workbench.cli import main
    from nas_workbench.testing.workers import TINY_CHAIN

    monkeypatch.chdir(tmp_path)
    _others(monkeypatch, busy_cores=1.9)
    config = {
        "space": "chain",
        "space_options": {**TINY_CHAIN, "max_depth": 1},
        "objectives": ["accuracy", "latency_ms"],
        "fidelity": {"epochs": 1, "subset": 0.2},
        "n_trials": 1,
        "threads": 2,
    }
    (tmp_path / "search.yaml").write_text(json.dumps(config))
    before = _device.torch.get_num_threads()
    try:
        assert main(["run", "search.yaml"]) == 0
    finally:
        _device.torch.set_num_threads(before)
    err = capsys.readouterr().err
    assert "warning: latency is timed on 2 torch threads" in err, err
    assert "RuntimeWarning" not in err and "prepare_machine(" not in err, err
