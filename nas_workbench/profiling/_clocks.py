"""How a block of calls is timed: the clock of a device and thread count, the block timer, garbage collection
paused meanwhile, and the count of involuntary context switches that says whether the timing thread kept its
core (`latency` explains each choice)."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch

from nas_workbench.exceptions import ConfigError

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

__all__ = ["block_timer", "fault_counter", "gc_paused", "resolve_clock", "switch_counter"]


def resolve_clock(device: torch.device, clock: str, threads: int) -> str:
    """The clock of a measurement: "cuda events", "mps wall clock", "cpu wall clock" or "cpu thread time"."""
    if device.type != "cpu":
        return "cuda events" if device.type == "cuda" else f"{device.type} wall clock"
    if clock == "cpu" and threads != 1:
        raise ConfigError(
            "clock", clock, f"'cpu' needs threads=1 (CPU time of {threads} threads is not latency)"
        )
    return "cpu thread time" if clock == "cpu" or (clock == "auto" and threads == 1) else "cpu wall clock"


def block_timer(device: torch.device, clock: str) -> Callable[[Callable[[], Any], int], float]:
    """A function that runs ``fn`` ``number`` times on ``device`` and returns the seconds it took."""
    if device.type == "cuda":

        def time_cuda(fn: Callable[[], Any], number: int) -> float:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(device)
            start.record()
            for _ in range(number):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3

        return time_cuda
    sync = torch.mps.synchronize if device.type == "mps" else (lambda: None)
    now = time.thread_time if clock == "cpu thread time" else time.perf_counter

    def time_host(fn: Callable[[], Any], number: int) -> float:
        sync()
        start = now()
        for _ in range(number):
            fn()
        sync()
        return now() - start

    return time_host


def switch_counter() -> Callable[[], int] | None:
    """A reader of the calling thread's involuntary context switches so far, or None where there is none
    (`_thread_usage`). A switch means another runnable thread took the core: what it ran evicted part of the
    caches, which the timed work then refills on its own clock."""
    return _thread_usage("ru_nivcsw")


def fault_counter() -> Callable[[], int] | None:
    """A reader of the calling thread's minor page faults so far, or None where there is none
    (`_thread_usage`): memory the heap gave back and takes again is faulted in on the timing thread's own
    clock (`nas_workbench.profiling._heap`)."""
    return _thread_usage("ru_minflt")


def _thread_usage(field: str) -> Callable[[], int] | None:
    """A reader of one ``getrusage`` counter of the calling thread (Linux: ``RUSAGE_THREAD``), or None."""
    who = getattr(resource, "RUSAGE_THREAD", None) if resource is not None else None
    if who is None:
        return None
    getrusage = resource.getrusage
    return lambda: int(getattr(getrusage(who), field))


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's garbage collector for the block (a collection inside a timed block is not the
    network's time), and restore it as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
