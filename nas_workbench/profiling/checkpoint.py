"""Checkpoints inside long profiling calls, where the caller may end them (Stop while a run opens).

A network's latency takes a fraction of a second to several seconds to time (up to ``max_time_s`` plus
``slow_time_s`` on a loaded machine, after a wait for the machine's measurement lock), so a check asked
only between networks lets a Stop wait that long. The caller installs a check for the calls made inside a
``with checkpoints(check):`` block of its own thread (a context variable: other threads, and calls outside
the block, see none); the timing loop calls `checkpoint` between its blocks and the lock's wait polls it, and
``check`` raises whatever exception ends the caller's work (the engine's `OpeningCancelled`). The profiling
layer knows nothing of what is cancelled or why.
"""

from __future__ import annotations

from collections.abc import Callable

from nas_workbench._context_hook import ContextHook

__all__ = ["checkpoint", "checkpoints", "has_checkpoints"]

_CHECK: ContextHook[Callable[[], None]] = ContextHook("nas_workbench_checkpoint")

#: Call ``check`` at every `checkpoint` reached in this thread inside the block (it raises to end the work;
#: nested blocks use the innermost check): ``with checkpoints(check): ...``.
checkpoints = _CHECK.installed


def checkpoint() -> None:
    """Call the check installed by the enclosing `checkpoints` block, if any (it may raise)."""
    if (check := _CHECK.get()) is not None:
        check()


def has_checkpoints() -> bool:
    """Whether a `checkpoints` block encloses this call (a wait may then poll instead of blocking)."""
    return _CHECK.get() is not None
