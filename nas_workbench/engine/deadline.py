"""``trial_timeout`` enforced while a trial is scored, whatever the scoring does.

A trial's scoring (training, or a user's ``evaluate``) may hang: a stuck data loader, a deadlock, an
``evaluate`` that waits on a server that never answers. Checking the clock after it returns would then
hang the search, and the trial's heartbeat would keep it alive so that no other process takes over.
So the scoring runs in a daemon thread that the trial's thread waits on for at most ``trial_timeout``:
at the deadline the trial fails with `TrialTimeoutError` (its reason recorded, its heartbeat stopped,
the search going on with the next trial).

**Why a thread that is abandoned, not one that is killed or a child process.** Python cannot kill a
thread, and a child process per trial would pickle the user's ``evaluate`` and model (many are closures
or hold open resources) and pay a process start per trial. The cost of abandoning: the late thread runs
on until its work returns, holding the network and its memory (on a GPU too), and competing for the CPU
with the next trials; whatever it records afterwards is refused, its trial being finished. Training
checks its deadline after every epoch and stops there; a user's ``evaluate`` that never returns keeps its
thread for the life of the process (a worker process ends with its plan, and the thread with it). Without
``trial_timeout`` the scoring runs in the trial's own thread, as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from nas_workbench.exceptions import NasWorkbenchError

__all__ = ["TrialTimeoutError", "within"]

logger = logging.getLogger("nas_workbench")

T = TypeVar("T")


class TrialTimeoutError(NasWorkbenchError, TimeoutError):
    """A trial was scored (trained, evaluated) for longer than ``trial_timeout``."""


def within(limit: float | None, call: Callable[[], T], what: str) -> T:
    """``call()``'s result, or `TrialTimeoutError` once it has run ``limit`` seconds (see the module).

    Args:
        limit: Seconds allowed; None runs ``call`` in this thread with no limit.
        call: The scoring; its exception, if it raises in time, is raised here.
        what: What is being run, for the message and the thread's name ("evaluate", "training").
    """
    if limit is None:
        return call()
    outcome: list[T] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def target() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # handed to the waiting thread, which raises it
            failure.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=target, name=f"nas-{what}", daemon=True)
    thread.start()
    if not done.wait(limit):
        logger.warning("%s abandoned at trial_timeout=%g s; its thread runs on until it returns", what, limit)
        raise TrialTimeoutError(f"{what} exceeded trial_timeout={limit:g} s and was abandoned")
    if failure:
        raise failure[0]
    return outcome[0]
