"""The search every DNAS benchmark times: accuracy as the objective, one torch thread, the data loaded
before the clock starts (so that every strategy's wall time is its search alone)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import nas_workbench as nw
from nas_workbench.engine.runner import SearchRun


@dataclass(frozen=True)
class Timing:
    """How long a search took: wall seconds, and the CPU seconds of this process (all its threads).

    On a shared machine the wall time grows with the other processes' load while the CPU time barely
    does: with one torch thread, the CPU time is about what the search takes alone on one core.
    """

    wall_s: float
    cpu_s: float


def timed_search(data: Any = None, **settings: Any) -> tuple[SearchRun, Timing]:
    """Run the search of ``nw.SearchConfig(objectives=["accuracy"], threads=1, **settings)`` on ``data``
    (`nw.search`'s: by default digits, split by the config's seed); the run and its timing."""
    run = nw.search(nw.SearchConfig(objectives=["accuracy"], threads=1, **settings), data=data)
    run.task  # noqa: B018 - loads the data now, before the clock starts
    started, cpu = time.perf_counter(), time.process_time()
    run.run()
    return run, Timing(time.perf_counter() - started, time.process_time() - cpu)
