"""Events the engine emits while a search runs: frozen, JSON-able, consumed by the CLI, the log and the UI.

The engine knows nothing of its consumers. Subscribers are called on the search thread, in order; a
subscriber that touches a UI must hand the event over to the UI's own thread (see `nas_workbench.ui`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from nas_workbench.metrics import Direction

__all__ = [
    "ArchitectureWeights",
    "Emit",
    "Event",
    "RunFinished",
    "RunStarted",
    "RunWarning",
    "TrialEvent",
    "TrialFinished",
    "TrialProfiled",
    "TrialReported",
    "TrialStarted",
]


@dataclass(frozen=True)
class Event:
    """Base of all events; ``kind`` names the event type in logs, given as a class keyword
    (``class RunStarted(Event, kind="run_started")``)."""

    kind: ClassVar[str] = "event"
    study_name: str
    time: float = field(default_factory=time.time, kw_only=True)

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind = kind

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, with ``kind`` added."""
        return {"kind": self.kind, **asdict(self)}


#: What takes the events: a run's ``emit``, and each of its subscribers.
Emit = Callable[[Event], None]


@dataclass(frozen=True)
class TrialEvent(Event):
    """An event about trial ``number`` of the study."""

    number: int


@dataclass(frozen=True)
class RunStarted(Event, kind="run_started"):
    """A search run began (or resumed: ``trials_before`` trials were already finished)."""

    storage: str
    n_trials: int
    trials_before: int
    objectives: list[str]
    directions: list[Direction]
    budget: dict[str, float]
    config: dict[str, Any]


@dataclass(frozen=True)
class TrialStarted(TrialEvent, kind="trial_started"):
    """A trial chose its architecture."""

    spec: dict[str, Any]
    arch: str
    summary: str


@dataclass(frozen=True)
class TrialProfiled(TrialEvent, kind="trial_profiled"):
    """A trial's hardware figures are known; ``violations`` names the budget metrics it exceeds."""

    metrics: dict[str, dict[str, Any]]
    violations: list[str]


@dataclass(frozen=True)
class TrialReported(TrialEvent, kind="trial_reported"):
    """A trial finished one training epoch with this validation accuracy."""

    epoch: int
    accuracy: float


@dataclass(frozen=True)
class TrialFinished(TrialEvent, kind="trial_finished"):
    """A trial ended: ``status`` is "ok", "infeasible", "pruned" or "failed" (``reason`` says why)."""

    status: str
    values: list[float] | None
    metrics: dict[str, dict[str, Any]]
    spec: dict[str, Any]
    arch: str
    summary: str
    reason: str | None
    duration_s: float
    worker: str


@dataclass(frozen=True)
class ArchitectureWeights(TrialEvent, kind="architecture_weights"):
    """A gradient-based search ended an epoch; trial ``number`` logs the architecture it derived (``arch``).

    ``weights`` maps each decision to its choices' probabilities under the architecture weights (what the
    alpha heat map shows); ``expected`` holds the expected hardware cost under them, per penalised metric;
    ``targets`` the cost targets, ``derived`` the predicted and ``measured`` the measured cost of ``arch``
    per targeted metric; ``separation`` the fraction of decisions whose top choice weighs at least twice
    the runner-up.
    """

    epoch: int
    arch: str
    weights: dict[str, dict[str, float]]
    expected: dict[str, float]
    targets: dict[str, float] = field(default_factory=dict)
    derived: dict[str, float] = field(default_factory=dict)
    measured: dict[str, float] = field(default_factory=dict)
    separation: float = float("nan")


@dataclass(frozen=True)
class RunWarning(Event, kind="run_warning"):
    """A warning raised while the run readied this machine (a target device's profile measured at another
    input than the search's): Python prints it, and a display whose run is a thread (the widget) shows it
    from here. ``category``: the warning's class name."""

    message: str
    category: str


@dataclass(frozen=True)
class RunFinished(Event, kind="run_finished"):
    """A search run ended: ``reason`` is "completed", "stopped", "timeout" or "error"."""

    reason: str
    trials_done: int
    elapsed_s: float
    error: str | None = None
