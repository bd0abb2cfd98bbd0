"""The search every DNAS benchmark times: accuracy as the objective, one torch thread, the data loaded
before the clock starts (so that every strategy's wall time is its search alone)."""

from __future__ import annotations

import time
from typing import Any

import nas_workbench as nw
from nas_workbench.engine.runner import SearchRun


def timed_search(**settings: Any) -> tuple[SearchRun, float]:
    """Run the search of ``nw.SearchConfig(objectives=["accuracy"], threads=1, **settings)``; the run and
    its wall time in seconds."""
    run = nw.search(nw.SearchConfig(objectives=["accuracy"], threads=1, **settings))
    run.task  # noqa: B018 - loads the data now, before the clock starts
    started = time.perf_counter()
    run.run()
    return run, time.perf_counter() - started
