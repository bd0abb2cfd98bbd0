"""Checkpoints inside a profile: a timing, and a wait for the measurement lock, end within a fraction of a
second once the caller's check says so (Stop while a run opens), not when the network's profile ends."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
from torch import nn

from nas_workbench.profiling import TimingOptions, measure_latency, measurement_lock
from nas_workbench.profiling.checkpoint import checkpoint, checkpoints

#: A timing that would run for 20 s of its own unless ended: far past any network's profile.
LONG = TimingOptions(min_time_s=20.0, max_time_s=20.0, slow_time_s=0.0, max_repeats=10**6, reference=False)


class Ended(Exception):
    """What the test's check raises."""


def check_after(seconds: float) -> tuple[list[float], object]:
    """A check that raises `Ended` once ``seconds`` have passed since its first call; the times it was
    called at, and the check."""
    calls: list[float] = []

    def check() -> None:
        calls.append(time.perf_counter())
        if calls[-1] - calls[0] >= seconds:
            raise Ended

    return calls, check


def test_a_check_ends_a_timing_between_its_blocks():
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).eval()
    calls, check = check_after(0.3)
    started = time.perf_counter()
    with checkpoints(check), pytest.raises(Ended):  # type: ignore[arg-type]
        measure_latency(model, (64,), options=LONG)
    assert time.perf_counter() - started < 3.0  # the timing alone would have taken 20 s
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert len(calls) > 10 and max(gaps) < 0.5, max(gaps)  # asked between blocks of milliseconds


def test_a_check_ends_a_wait_for_the_measurement_lock(tmp_path):
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # another measurement holds the machine's lock
        with measurement_lock(tmp_path):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        _, check = check_after(0.2)
        started = time.perf_counter()
        with checkpoints(check), pytest.raises(Ended), measurement_lock(tmp_path):  # type: ignore[arg-type]
            pytest.fail("took the lock another thread holds")
        assert time.perf_counter() - started < 2.0
    finally:
        release.set()
        holder.join(30)
    with measurement_lock(tmp_path):  # the cancelled wait left nothing held
        pass


def test_no_check_outside_the_block_nor_in_another_thread():
    called: list[str] = []
    seen_elsewhere: list[int] = []
    with checkpoints(lambda: called.append(threading.current_thread().name)):
        other = threading.Thread(target=lambda: (checkpoint(), seen_elsewhere.append(len(called))))
        other.start()
        other.join(10)
        checkpoint()
    checkpoint()
    assert called == [threading.current_thread().name] and seen_elsewhere == [0]
