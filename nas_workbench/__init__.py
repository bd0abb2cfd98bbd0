"""NAS Workbench: hardware-budgeted neural architecture search from a notebook, on Optuna.

>>> import nas_workbench as nw
>>> space = nw.spaces.get("nb201")
>>> run = nw.search(nw.SearchConfig(space="chain", budget={"latency_ms": 0.5}, n_trials=20))
>>> run.start()            # background thread; run.run() blocks instead
"""

from __future__ import annotations

__version__ = "0.1.0"

from nas_workbench import spaces, strategies  # noqa: E402 - registries first: config validates against them
from nas_workbench.config import Fidelity, SearchConfig  # noqa: E402
from nas_workbench.engine import SearchRun, TrialResult, search  # noqa: E402
from nas_workbench.exceptions import (  # noqa: E402
    ConfigError,
    MissingDependencyError,
    NasWorkbenchError,
    ProfilingError,
    SpaceError,
    UnknownNameError,
)
from nas_workbench.profiling import Profile, profile  # noqa: E402
from nas_workbench.spec import ArchSpec  # noqa: E402
from nas_workbench.task import Task, load_task, make_task  # noqa: E402

__all__ = [
    "ArchSpec",
    "ConfigError",
    "Fidelity",
    "MissingDependencyError",
    "NasWorkbenchError",
    "Profile",
    "ProfilingError",
    "SearchConfig",
    "SearchRun",
    "SpaceError",
    "Task",
    "TrialResult",
    "UnknownNameError",
    "__version__",
    "load_task",
    "make_task",
    "profile",
    "search",
    "spaces",
    "strategies",
]
