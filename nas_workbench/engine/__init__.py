"""The search engine: runs a `SearchConfig` as an Optuna study and emits events.

`SearchRun` (which needs torch) is imported on first use, so reading stored studies — records, events,
storage — stays light for the Jupyter server extension.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nas_workbench.engine.events import (
    ArchitectureWeights,
    Event,
    RunFinished,
    RunStarted,
    TrialFinished,
    TrialProfiled,
    TrialReported,
    TrialStarted,
)
from nas_workbench.engine.records import TrialResult, pareto_front, study_meta, trial_results
from nas_workbench.engine.storage import StorageUnavailableError, open_storage
from nas_workbench.engine.workers import LocalWorkers, run_worker

__all__ = [
    "ArchitectureWeights",
    "Evaluate",
    "Event",
    "LocalWorkers",
    "RunFinished",
    "RunStarted",
    "SearchRun",
    "StorageUnavailableError",
    "TrialFinished",
    "TrialProfiled",
    "TrialReported",
    "TrialResult",
    "TrialStarted",
    "open_storage",
    "pareto_front",
    "run_worker",
    "search",
    "study_meta",
    "trial_results",
]

_LAZY = {"Evaluate", "SearchRun", "search"}

if TYPE_CHECKING:
    from nas_workbench.engine.runner import Evaluate, SearchRun, search


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("nas_workbench.engine.runner"), name)
    raise AttributeError(f"module 'nas_workbench.engine' has no attribute {name!r}")
