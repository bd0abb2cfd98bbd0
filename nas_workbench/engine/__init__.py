"""The search engine: runs a `SearchConfig` as an Optuna study and emits events.

The events (plain dataclasses) are imported with the package; every other name on first use, so reading
stored studies — records, storage — stays light for the Jupyter server extension and the CLI, and only
`SearchRun` and the workers load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas_workbench._lazy import lazy_attributes
from nas_workbench.engine.events import (
    ArchitectureWeights,
    Event,
    RunFinished,
    RunStarted,
    RunWarning,
    TrialFinished,
    TrialProfiled,
    TrialReported,
    TrialStarted,
)

#: Public name → the module that defines it, imported on first use.
_EXPORTS = {
    **dict.fromkeys(["TrialResult", "pareto_front", "trial_results"], "nas_workbench.engine.records"),
    **dict.fromkeys(
        ["DataIdentity", "StudyRecord", "read_record", "record_of"], "nas_workbench.engine.study_record"
    ),
    **dict.fromkeys(["StorageUnavailableError", "open_storage"], "nas_workbench.engine.storage"),
    "LocalWorkers": "nas_workbench.engine.local_workers",
    "run_worker": "nas_workbench.engine.workers",
    **dict.fromkeys(["Evaluate", "SearchRun", "search"], "nas_workbench.engine.runner"),
}

__all__ = [
    "ArchitectureWeights",
    "DataIdentity",
    "Evaluate",
    "Event",
    "LocalWorkers",
    "RunFinished",
    "RunStarted",
    "RunWarning",
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

if TYPE_CHECKING:
    from nas_workbench.engine.local_workers import LocalWorkers
    from nas_workbench.engine.records import TrialResult, pareto_front, trial_results
    from nas_workbench.engine.runner import Evaluate, SearchRun, search
    from nas_workbench.engine.storage import StorageUnavailableError, open_storage
    from nas_workbench.engine.study_record import DataIdentity, StudyRecord, read_record, record_of
    from nas_workbench.engine.workers import run_worker

__getattr__ = lazy_attributes(__name__, _EXPORTS)
