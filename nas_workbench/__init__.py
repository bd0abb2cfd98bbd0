"""NAS Workbench: hardware-budgeted neural architecture search from a notebook, on Optuna.

>>> import nas_workbench as nw
>>> space = nw.spaces.get("nb201")
>>> run = nw.search(nw.SearchConfig(space="chain", budget={"latency_ms": 0.5}, n_trials=20))
>>> run.start()            # background thread; run.run() blocks instead

Public names are imported on first use (PEP 562), so light users of the package — the Jupyter server
extension listing studies, the CLI's ``--help`` — do not pay for importing torch or ipywidgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas_workbench._lazy import lazy_attributes

__version__ = "0.1.0"

#: Public name → the module that defines it.
_EXPORTS = {
    "ArchSpec": "nas_workbench.spec",
    "ConfigError": "nas_workbench.exceptions",
    "InfeasibleBudgetError": "nas_workbench.exceptions",
    "MissingDependencyError": "nas_workbench.exceptions",
    "NasWorkbenchError": "nas_workbench.exceptions",
    "ProfilingError": "nas_workbench.exceptions",
    "SpaceError": "nas_workbench.exceptions",
    "UnknownNameError": "nas_workbench.exceptions",
    "Fidelity": "nas_workbench.config",
    "SearchConfig": "nas_workbench.config",
    "SearchRun": "nas_workbench.engine.runner",
    "search": "nas_workbench.engine.runner",
    "TrialResult": "nas_workbench.engine.records",
    "Profile": "nas_workbench.metrics",
    "profile": "nas_workbench.profiling",
    "Task": "nas_workbench.task",
    "load_task": "nas_workbench.task",
    "make_task": "nas_workbench.task",
    "Workbench": "nas_workbench.ui",
    "show": "nas_workbench.ui",
}
_SUBMODULES = ("spaces", "strategies", "estimation", "profiling", "engine", "viz", "export", "testing")

__all__ = [
    "ArchSpec",
    "ConfigError",
    "Fidelity",
    "InfeasibleBudgetError",
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
    "Workbench",
    "__version__",
    "engine",
    "estimation",
    "export",
    "load_task",
    "make_task",
    "profile",
    "profiling",
    "search",
    "show",
    "spaces",
    "strategies",
    "testing",
    "viz",
]

if TYPE_CHECKING:
    from nas_workbench import engine, estimation, export, profiling, spaces, strategies, testing, viz
    from nas_workbench.config import Fidelity, SearchConfig
    from nas_workbench.engine.records import TrialResult
    from nas_workbench.engine.runner import SearchRun, search
    from nas_workbench.exceptions import (
        ConfigError,
        InfeasibleBudgetError,
        MissingDependencyError,
        NasWorkbenchError,
        ProfilingError,
        SpaceError,
        UnknownNameError,
    )
    from nas_workbench.metrics import Profile
    from nas_workbench.profiling import profile
    from nas_workbench.spec import ArchSpec
    from nas_workbench.task import Task, load_task, make_task
    from nas_workbench.ui import Workbench, show


__getattr__ = lazy_attributes(__name__, _EXPORTS, _SUBMODULES)


def __dir__() -> list[str]:
    return __all__
