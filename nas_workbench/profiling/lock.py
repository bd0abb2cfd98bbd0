"""A machine-wide lock that keeps hardware measurements apart from each other and from training.

Latency, memory and energy figures are skewed when another trial trains or measures at the same time, in
this process or another. Measurements take the lock *exclusively*; training (or any other heavy work that
should not overlap a measurement) takes it *shared* through `shared_use`, so many trainings run together
but a measurement waits until none runs, and runs alone.

It is a readers-writer lock on two files with ``fcntl.flock``, which works across processes and, because
every acquisition opens its own file descriptor, across threads of one process too. A measurement first
takes a turnstile that new shared users also pass through, so a stream of trainings cannot starve it.
A thread that already holds the exclusive lock may take it again (profiling one network takes it once for
all its measurements); the inner acquisition reports the outer one's wait, so each figure's
``lock_wait_s`` says how long its measurement waited for the machine. Inside a `checkpoints` block (a
run that is opening) a wait polls the lock and asks the block's check, so Stop ends it. On systems
without ``fcntl`` (Windows) it falls back to a lock within this process only, and says so (``lock_scope``).

Why not ``fasteners.InterProcessReaderWriterLock``: it locks with POSIX record locks (``fcntl.lockf``),
which belong to the process, so a thread measuring would not wait for a thread of the same process that
trains (the engine runs both in one process), and its inter-process locks are not meant to be shared by
threads. It also lets a stream of readers starve a writer (no turnstile) and cannot
be re-entered by the thread that holds it. ``flock`` on a descriptor per acquisition gives all three.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nas_workbench.exceptions import ProfilingError
from nas_workbench.profiling.cache import cache_dir
from nas_workbench.profiling.checkpoint import checkpoint, has_checkpoints

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LockInfo", "file_lock", "measurement_lock", "shared_by_caller", "shared_use"]

logger = logging.getLogger("nas_workbench")

_PROCESS_LOCK = threading.RLock()
_HELD = threading.local()  # per thread: how deep it is inside measurement_lock / shared_use
#: Seconds between two tries of a lock held by others, while a `checkpoints` block may end the wait.
_POLL_S = 0.05


@dataclass
class LockInfo:
    """How a measurement held the lock: its scope ("machine" or "process") and the seconds spent waiting."""

    scope: str
    wait_s: float = 0.0

    def detail(self) -> dict[str, object]:
        """The entries a `Measurement.detail` records about the lock."""
        return {"exclusive": True, "lock_scope": self.scope, "lock_wait_s": round(self.wait_s, 4)}


def _lock_paths(directory: Path | None) -> tuple[Path, Path]:
    root = directory if directory is not None else cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    return root / "measure.lock", root / "measure.turnstile"


#: Seconds between two notices that a measurement waits for other work (one per wait, at most this often).
_NOTICE_EVERY_S = 60.0
_last_notice = -_NOTICE_EVERY_S


def _say_waiting(path: Path) -> None:
    """Tell the user why nothing moves: a measurement waits, maybe for minutes, until other processes on
    this machine that share the lock (trainings, measurements: another search, a benchmark) pause."""
    global _last_notice
    now = time.monotonic()
    if now - _last_notice >= _NOTICE_EVERY_S:
        _last_notice = now
        logger.warning(
            "a measurement waits until other processes on this machine pause their training or measuring "
            "(lock %s); it goes on by itself, or give this search its own cache (NAS_WORKBENCH_CACHE) to "
            "measure without waiting, at the cost of skewed figures",
            path,
        )


@contextlib.contextmanager
def _flock(path: Path, mode: int, say_waiting: bool = False) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if say_waiting:
                _say_waiting(path)
            _wait_for(fd, mode)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _wait_for(fd: int, mode: int) -> None:
    """Take the lock on ``fd`` once its holders let go: blocking, or, inside a `checkpoints` block (a run
    that is opening, which Stop may cancel), polling every `_POLL_S` seconds with a `checkpoint` each time,
    so that a cancel ends the wait within that."""
    if not has_checkpoints():
        fcntl.flock(fd, mode)
        return
    while True:
        checkpoint()
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(_POLL_S)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block: one writer at a time.

    For short critical sections such as read-merge-write of a cache file; it does not count as a
    measurement.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover - Windows
        with _PROCESS_LOCK:
            yield
        return
    with _flock(path, fcntl.LOCK_EX):
        yield


@contextlib.contextmanager
def measurement_lock(directory: Path | None = None) -> Iterator[LockInfo]:
    """Hold the machine's measurement lock exclusively for the block (waiting for others first).

    Args:
        directory: Where the lock files live; the profiling cache directory by default. Workers that should
            not overlap must use the same directory.
    """
    start = time.perf_counter()
    if getattr(_HELD, "shared", 0):
        raise ProfilingError("cannot measure inside shared_use(): the measurement would wait for itself")
    scope = "machine" if fcntl is not None else "process"
    if getattr(_HELD, "exclusive", 0):  # re-entry: this thread already measures alone
        yield LockInfo(scope, _HELD.wait_s)  # what the outer acquisition waited, for this measurement too
        return
    _HELD.exclusive, _HELD.wait_s = 1, 0.0
    try:
        if fcntl is None:  # pragma: no cover - Windows
            with _PROCESS_LOCK:
                _HELD.wait_s = time.perf_counter() - start
                yield LockInfo(scope, _HELD.wait_s)
            return
        main, turnstile = _lock_paths(directory)
        with (
            _flock(turnstile, fcntl.LOCK_EX, say_waiting=True),
            _flock(main, fcntl.LOCK_EX, say_waiting=True),
        ):
            _HELD.wait_s = time.perf_counter() - start
            yield LockInfo(scope, _HELD.wait_s)
    finally:
        _HELD.exclusive = 0


@contextlib.contextmanager
def shared_use(directory: Path | None = None) -> Iterator[None]:
    """Mark the block (a training run, say) as work that measurements must not overlap.

    Many shared users may hold it together; `measurement_lock` waits until all have left.
    """
    depth = getattr(_HELD, "shared", 0)
    if depth or getattr(_HELD, "exclusive", 0):  # nested, or inside a measurement: already apart
        _HELD.shared = depth + 1
        try:
            yield
        finally:
            _HELD.shared = depth
        return
    _HELD.shared = 1
    try:
        if fcntl is None:  # pragma: no cover - Windows
            with _PROCESS_LOCK:
                yield
            return
        main, turnstile = _lock_paths(directory)
        with _flock(turnstile, fcntl.LOCK_EX):
            pass  # wait here while a measurement is queued or running
        with _flock(main, fcntl.LOCK_SH):
            yield
    finally:
        _HELD.shared = 0


@contextlib.contextmanager
def shared_by_caller() -> Iterator[None]:
    """Mark this thread as part of a `shared_use` that the thread waiting on it holds (a trial scored in a
    thread of its own, `nas_workbench.engine.deadline`): a measurement in it is refused, as it would be in
    the holder, instead of waiting for a lock that its own holder keeps. Takes no lock itself."""
    depth = getattr(_HELD, "shared", 0)
    _HELD.shared = depth + 1
    try:
        yield
    finally:
        _HELD.shared = depth
