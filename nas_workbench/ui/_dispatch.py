"""Hand items from worker threads to the kernel's event loop, a batch at a time.

The search runs in a background thread and emits events there; widgets and Bokeh documents must only be
touched from the kernel's own thread (since ipykernel 7, updates from other threads are lost or land in
the wrong cell). `Coalescer.put` may be called from any thread: it queues the item and, unless a flush
is already due, asks the loop (``loop.call_soon_threadsafe``) to flush at most every ``interval``
seconds. The flush runs on the loop and gets what was queued since the last one, so a burst of a
thousand trials becomes a few batches, each streamed to the browser as one message. A batch holds at
most ``max_batch`` items, the rest following at once in later callbacks, so that a huge burst never
holds the loop (and a cell waiting to run) for long.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Coalescer", "running_loop"]

logger = logging.getLogger("nas_workbench")

T = TypeVar("T")

#: Seconds between two deliveries, at least (the shortest: as `Coalescer.pace` sets it for few points).
INTERVAL = 0.25


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread (the kernel's, in a notebook cell), or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@dataclass(eq=False)
class Coalescer(Generic[T]):
    """Deliver items put from any thread to ``apply(batch)`` on ``loop``, in order, batched.

    Args:
        loop: The loop that owns the widgets (the kernel's, captured in the cell that built them).
        apply: Called on the loop with the items queued since the last call, oldest first.
        interval: Minimum seconds between two calls of ``apply``; the first item of a quiet spell is
            delivered at once.
        on_error: Called on the loop with an exception ``apply`` raised (the next batches still come).
        max_batch: Most items per call of ``apply``.
    """

    loop: asyncio.AbstractEventLoop
    apply: Callable[[list[T]], None]
    interval: float = INTERVAL
    on_error: Callable[[Exception], None] | None = None
    max_batch: int = 500
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _pending: list[T] = field(default_factory=list, init=False, repr=False)
    _scheduled: bool = field(default=False, init=False, repr=False)
    _last: float = field(default=-float("inf"), init=False, repr=False)

    def pace(self, points: int, per_interval: int = 500, longest: float = 2.0) -> None:
        """Set the interval for a display of ``points`` points: `INTERVAL` up to ``per_interval`` points,
        growing in proportion beyond (to at most ``longest``), since each update redraws every point:
        the browser's share of time spent drawing stays the same."""
        self.interval = min(longest, INTERVAL * max(1.0, points / per_interval))

    def put(self, item: T) -> None:
        """Queue ``item`` (any thread)."""
        with self._lock:
            self._pending.append(item)
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._schedule)
        except RuntimeError:  # the loop is closed: the kernel is shutting down, nobody is watching
            logger.debug("event loop closed; dropped %d queued update(s)", len(self._pending))

    def _schedule(self) -> None:
        delay = self._last + self.interval - time.monotonic()
        if delay > 0:
            self.loop.call_later(delay, self.flush)
        else:
            self.flush()

    def flush(self) -> None:
        """Apply what is queued, up to ``max_batch`` items (on the loop's thread); more follows at once."""
        with self._lock:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            self._scheduled = bool(self._pending)
        if self._scheduled:
            self.loop.call_soon(self.flush)  # after whatever else waits on the loop
        if not batch:
            return
        self._last = time.monotonic()
        try:
            self.apply(batch)
        except Exception as error:  # a display bug must not stop later updates
            logger.debug("applying %d update(s) failed", len(batch), exc_info=True)
            if self.on_error is not None:
                self.on_error(error)
