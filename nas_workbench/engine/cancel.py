"""Cancelling a run while it opens: the checks that let Stop end the opening's profiling within a second.

Opening a run may resolve a relative limit by profiling 32 networks and check the budget by profiling a
descent through the space (tens of seconds on a busy 2-core VM). The widget opens a run in a thread, and
its Stop used to drop the run only once that thread had finished, the CPU busy until then. A ``cancelled``
predicate (any ``() -> bool``: an `threading.Event`'s ``is_set``, or the widget's "is this start still
current") is asked before each network is profiled, inside its profile between timed blocks of a few
milliseconds and while it waits for the machine's measurement lock (`nas_workbench.profiling.checkpoint`),
and between the opening's other steps; once it answers True the opening raises `OpeningCancelled` and
creates no study. A network's profile alone takes up to several seconds on a loaded machine (its timing
waits out slow episodes), so asking only between networks left the CPU busy that long after Stop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.profiling.checkpoint import checkpoints

__all__ = ["Cancelled", "OpeningCancelled", "check_cancelled", "until_cancelled"]

#: Whether the run being opened was cancelled (asked between networks and steps).
Cancelled = Callable[[], bool]

T = TypeVar("T")
R = TypeVar("R")


class OpeningCancelled(NasWorkbenchError):
    """The run was cancelled while it opened (Stop before its first trial): no study was created."""


def check_cancelled(cancelled: Cancelled | None, step: str) -> None:
    """Raise `OpeningCancelled` naming ``step`` (what was about to start) when ``cancelled`` says so."""
    if cancelled is not None and cancelled():
        raise OpeningCancelled(f"the run was cancelled while it opened, before {step}; no study was created")


def until_cancelled(value: Callable[[T], R], cancelled: Cancelled | None, step: str) -> Callable[[T], R]:
    """``value`` (a network's profiled metric, say), asking ``cancelled`` before each call and at the
    profiling's checkpoints inside it (between timed blocks, while waiting for the measurement lock:
    `nas_workbench.profiling.checkpoint`), each time as `check_cancelled` naming ``step``; ``value`` itself
    when there is nothing to ask."""
    if cancelled is None:
        return value

    def check() -> None:
        check_cancelled(cancelled, step)

    def checked(item: T) -> R:
        check()
        with checkpoints(check):
            return value(item)

    return checked
