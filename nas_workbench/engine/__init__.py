"""The search engine: runs a `SearchConfig` as an Optuna study and emits events."""

from __future__ import annotations

from nas_workbench.engine.events import (
    Event,
    RunFinished,
    RunStarted,
    TrialFinished,
    TrialProfiled,
    TrialReported,
    TrialStarted,
)
from nas_workbench.engine.records import TrialResult, pareto_front, study_meta, trial_results
from nas_workbench.engine.runner import Evaluate, SearchRun, open_storage, search

__all__ = [
    "Evaluate",
    "Event",
    "RunFinished",
    "RunStarted",
    "SearchRun",
    "TrialFinished",
    "TrialProfiled",
    "TrialReported",
    "TrialResult",
    "TrialStarted",
    "open_storage",
    "pareto_front",
    "search",
    "study_meta",
    "trial_results",
]
