"""The search engine: runs a `SearchConfig` as an Optuna study and emits events.

`SearchRun` and the workers (which need torch) are imported on first use, so reading stored studies —
records, events, storage — stays light for the Jupyter server extension.
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
from nas_workbench.engine.records import TrialResult, pareto_front, trial_results
from nas_workbench.engine.storage import StorageUnavailableError, open_storage
from nas_workbench.engine.study_record import DataIdentity, StudyRecord, read_record, record_of

__all__ = [
    "ArchitectureWeights",
    "DataIdentity",
    "Evaluate",
    "Event",
    "LocalWorkers",
    "RunFinished",
    "RunStarted",
    "SearchRun",
    "StorageUnavailableError",
    "StudyRecord",
    "TrialFinished",
    "TrialProfiled",
    "TrialReported",
    "TrialResult",
    "TrialStarted",
    "open_storage",
    "pareto_front",
    "read_record",
    "record_of",
    "run_worker",
    "search",
    "trial_results",
]

_LAZY = {
    "Evaluate": "nas_workbench.engine.runner",
    "SearchRun": "nas_workbench.engine.runner",
    "search": "nas_workbench.engine.runner",
    "LocalWorkers": "nas_workbench.engine.local_workers",
    "run_worker": "nas_workbench.engine.workers",
}

if TYPE_CHECKING:
    from nas_workbench.engine.local_workers import LocalWorkers
    from nas_workbench.engine.runner import Evaluate, SearchRun, search
    from nas_workbench.engine.workers import run_worker


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nas_workbench.engine' has no attribute {name!r}")
