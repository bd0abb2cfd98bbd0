"""What the engine stores in an Optuna study, and how to read it back.

Everything a search knows lives in its Optuna storage, so any process (a resumed kernel, the CLI's
``show``, the Jupyter server extension) can read a study without the run that wrote it.

The study's own settings are its record, read and written only by `nas_workbench.engine.study_record`.

Trial user attributes: ``spec`` (ArchSpec dict), ``arch`` (the space's notation), ``summary`` (one line),
``status`` ("ok", "infeasible", "pruned", "failed"), ``reason``, ``metrics`` (name → Measurement dict,
including ``accuracy`` and ``test_accuracy``), ``device``, ``timings``, ``worker``. Trial constraints
(`FrozenTrial.constraints`) hold ``(value - limit) / limit`` per budget metric: feasible when all <= 0.
A trial over budget is stored PRUNED, with no value, and read back with status "infeasible"
(`nas_workbench.engine.budget.OverBudget`). They are read back through `nas_workbench.trial_attrs`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from nas_workbench import _compat
from nas_workbench.engine._bulk_read import read_trials
from nas_workbench.engine.events import TrialFinished
from nas_workbench.engine.result_display import TableList, results_html, results_text, trial_text
from nas_workbench.engine.study_record import read_record
from nas_workbench.trial_attrs import DNAS_ATTR, WEIGHTS_ATTR, attr, fail_reason, learning_curve

__all__ = [
    "DNAS_ATTR",
    "WEIGHTS_ATTR",
    "TrialResult",
    "TrialResults",
    "budget_missed",
    "outcome_counts",
    "pareto_front",
    "trial_results",
]

_STATE_STATUS = {
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "failed",
    TrialState.RUNNING: "running",
    TrialState.WAITING: "waiting",
}


@dataclass(frozen=True, repr=False)  # the repr is one line (`trial_text`), not every stored detail
class TrialResult:
    """One trial as stored: its architecture, figures and outcome.

    Attributes:
        number: The Optuna trial number.
        status: "ok", "infeasible", "pruned", "failed", "running" or "waiting".
        spec: The ArchSpec as a dict.
        arch: The architecture in its space's notation.
        summary: One-line description.
        metrics: Metric name → {"value", "unit", "method", "source", "detail"}.
        values: The objective values (None unless the trial completed).
        feasible: Whether every budget constraint holds.
        reason: Why it is infeasible, pruned or failed.
        duration_s: Wall time of the trial.
        datetime_complete: When it finished (epoch seconds), for history plots.
        intermediate: Validation accuracy per epoch.
        worker: "host:pid" of the process that ran it.
    """

    number: int
    status: str
    spec: Mapping[str, Any]
    arch: str
    summary: str
    metrics: Mapping[str, Mapping[str, Any]]
    values: tuple[float, ...] | None
    feasible: bool
    reason: str | None
    duration_s: float | None
    datetime_complete: float | None
    intermediate: Mapping[int, float]
    worker: str | None

    @classmethod
    def from_frozen(cls, trial: FrozenTrial) -> TrialResult:
        if trial.state == TrialState.COMPLETE:  # "infeasible" too in studies of earlier versions
            status = attr(trial, "status", "ok")
        elif trial.state == TrialState.PRUNED and attr(trial, "status") == "infeasible":  # `OverBudget`
            status = "infeasible"
        else:
            status = _STATE_STATUS[trial.state]
        reason = attr(trial, "reason") or fail_reason(trial)
        if reason is None and trial.state == TrialState.FAIL:  # failed by another process's heartbeat check
            worker = attr(trial, "worker")
            reason = (
                f"its worker{f' {worker}' if worker else ''} stopped mid-trial (killed, crashed or cut off)"
            )
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        finished = trial.datetime_complete.timestamp() if trial.datetime_complete else None
        constraints = trial.constraints  # Optuna 5: {name: value - limit}
        return cls(
            number=trial.number,
            status=status,
            spec=attr(trial, "spec", {}),
            arch=attr(trial, "arch", ""),
            summary=attr(trial, "summary", ""),
            metrics=_without_placeholder(status, attr(trial, "metrics", {})),
            values=tuple(trial.values) if trial.values is not None else None,
            feasible=all(c <= 0 for c in constraints.values()) and status != "infeasible",
            reason=reason,
            duration_s=duration,
            datetime_complete=finished,
            intermediate=learning_curve(trial),  # multi-objective curves are not in intermediate_values
            worker=attr(trial, "worker"),
        )

    @classmethod
    def from_event(cls, event: TrialFinished) -> TrialResult:
        """The same record, built from a live `TrialFinished` event instead of the storage."""
        return cls(
            number=event.number,
            status=event.status,
            spec=event.spec,
            arch=event.arch,
            summary=event.summary,
            metrics=event.metrics,
            values=tuple(event.values) if event.values is not None else None,
            feasible=event.status != "infeasible",
            reason=event.reason,
            duration_s=event.duration_s,
            datetime_complete=event.time,
            intermediate={},
            worker=event.worker,
        )

    def finished_event(self, study_name: str, worker: str) -> TrialFinished:
        """The `TrialFinished` event of this trial (``worker``: when the record names none)."""
        return TrialFinished(
            study_name,
            number=self.number,
            status=self.status,
            values=list(self.values) if self.values is not None else None,
            metrics={k: dict(v) for k, v in self.metrics.items()},
            spec=dict(self.spec),
            arch=self.arch,
            summary=self.summary,
            reason=self.reason,
            duration_s=self.duration_s or 0.0,
            worker=self.worker or worker,
        )

    def __repr__(self) -> str:
        return f"TrialResult({trial_text(self)})"

    def value(self, metric: str) -> float | None:
        """The value of ``metric`` (None when it was not measured)."""
        entry = self.metrics.get(metric)
        return None if entry is None else float(entry["value"])

    @property
    def estimated_accuracy(self) -> bool:
        """Whether the accuracy is an estimate (a supernet's weight sharing, in a gradient-based search's
        epochs), not a trained network's."""
        entry = self.metrics.get("accuracy")
        return entry is not None and entry.get("method") == "estimated"

    def rejudged(self, verdict: Mapping[str, Any] | None, objectives: Sequence[str] = ()) -> TrialResult:
        """This trial as a verification on the target device judged it again (its architecture's entry in
        `StudyRecord.verified`, so a later repeat of the architecture, which copies the stored trial, reads
        the same): its latency measured there or predicted by the refitted profile, also as its objective
        value when latency is one of the study's ``objectives`` (the Pareto front is sorted by the values:
        kept as searched, it ranked a finalist by the latency predicted before it was measured), and
        whether it is now within budget; a trained trial now over says why, an untrained one now within
        says it was not trained. Without ``verdict``, the trial itself."""
        if not verdict or "latency_ms" not in self.metrics:
            return self
        latency = verdict["latency_ms"]
        metrics = {**self.metrics, "latency_ms": latency}
        values = self.values
        if values is not None and "latency_ms" in objectives:
            at = list(objectives).index("latency_ms")
            values = tuple(float(latency["value"]) if i == at else v for i, v in enumerate(values))
        judged = latency["detail"]["budget"]["verdict"]
        reason = self.reason
        if self.status == "ok":
            feasible = bool(verdict["feasible"])
            reason = None if feasible else f"judged again: {judged}"
        else:
            feasible = self.feasible
            if self.status == "infeasible" and verdict["feasible"]:
                reason = f"{self.reason}; judged again: {judged} (not trained)"
        return dataclasses.replace(self, metrics=metrics, values=values, feasible=feasible, reason=reason)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "status": self.status,
            "spec": dict(self.spec),
            "arch": self.arch,
            "summary": self.summary,
            "metrics": {k: dict(v) for k, v in self.metrics.items()},
            "values": list(self.values) if self.values is not None else None,
            "feasible": self.feasible,
            "reason": self.reason,
            "duration_s": self.duration_s,
            "worker": self.worker,
        }


class TrialResults(TableList[TrialResult]):
    """A list of trials (`SearchRun.results`, `SearchRun.pareto`) that a notebook cell shows as a table,
    as the command line prints a Pareto front, rather than as the reprs of its items."""

    def _repr_html_(self) -> str:
        return results_html(self)

    def __str__(self) -> str:
        """The trials as a text table (``print(run.results())``); `repr` stays the list's."""
        return results_text(self)


#: Sources of the accuracy that studies written by earlier versions recorded for trials over budget, which
#: were never trained: 0.0 from one of these is that placeholder, not a score.
_PLACEHOLDER_SOURCES = ("trainer (validation split)", "user evaluate()")


def _without_placeholder(status: str, metrics: Mapping[str, Any]) -> Mapping[str, Any]:
    """``metrics`` without the placeholder accuracy an older engine recorded for an untrained trial over
    budget (the engine now records none), so no result, front or plot shows it as a score."""
    entry = metrics.get("accuracy")
    if status == "infeasible" and entry and entry["value"] == 0.0 and entry["source"] in _PLACEHOLDER_SOURCES:
        return {k: v for k, v in metrics.items() if k != "accuracy"}
    return metrics


def trial_results(study: optuna.Study, states: Iterable[TrialState] | None = None) -> TrialResults:
    """All trials of ``study`` as `TrialResult`s, in trial-number order, as a verification on the target
    device judged them again when there was one (`StudyRecord.verified`)."""
    record = read_record(study)
    verdicts = record.verified.get("archs", {}) if record is not None else {}
    objectives = record.objectives if record is not None else ()
    results = (TrialResult.from_frozen(t) for t in read_trials(study, states))
    return TrialResults(r.rejudged(verdicts.get(r.arch), objectives) for r in results)


def pareto_front(results: Iterable[TrialResult], directions: Sequence[str]) -> TrialResults:
    """The feasible, completed trials no other such trial dominates, best first objective first.

    The front is Optuna's (its non-dominated sort); one trial is kept per distinct point (the earliest),
    so ties do not repeat rows. Accuracies a supernet estimated by weight sharing (a gradient-based
    search's epochs) rank architectures within one supernet but are far below what the same architecture
    reaches trained alone, so they compete only among themselves: once any candidate was trained, the
    front is drawn from the trained ones.

    Args:
        results: Trials to choose from.
        directions: "maximize" / "minimize" per objective, in the order of `TrialResult.values`.
    """
    signs = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
    candidates = [r for r in results if r.status == "ok" and r.feasible and r.values is not None]
    candidates = [r for r in candidates if not r.estimated_accuracy] or candidates
    if not candidates:
        return TrialResults()
    points = np.array([r.values for r in candidates], dtype=float) * signs  # now: larger is better
    on_front = _compat.nondomination_ranks(-points, first_only=True) == 0
    order = np.lexsort(tuple(-points[:, k] for k in reversed(range(points.shape[1]))))  # best first, stable
    front: dict[tuple[float, ...], TrialResult] = {}
    for index in order:
        if on_front[index]:
            front.setdefault(tuple(points[index]), candidates[index])
    return TrialResults(front.values())


def budget_missed(results: Iterable[TrialResult], budget: Mapping[str, float]) -> str | None:
    """The sentence that says a budgeted search trained nothing because every trial it profiled was over
    budget, with the least value each limit saw; None when something fitted, or nothing was over."""
    listed = list(results)
    counts = outcome_counts(listed)
    if not budget or counts["trained"] or not counts["infeasible"]:
        return None
    least = [
        f"{name} at least {min(values):.4g} against {limit:.4g}"
        for name, limit in budget.items()
        if (values := [v for r in listed if (v := r.value(name)) is not None])
    ]
    seen = f" ({'; '.join(least)})" if least else ""
    over = f"{counts['infeasible']} of {len(listed)} trials"
    return f"No architecture met the budget: {over} were over it{seen}."


def outcome_counts(results: Iterable[TrialResult]) -> dict[str, int]:
    """Trials by status ("ok", "infeasible", "pruned", "failed"), and of the "ok" ones how many were
    trained (``"trained"``) and how many are a supernet's epochs, their accuracy estimated by weight
    sharing (``"estimated"``): what a summary line counts. ``"epochs"``: a supernet's epochs whatever
    their status (one whose derived architecture was over budget is "infeasible")."""
    listed = list(results)
    counts = {s: sum(r.status == s for r in listed) for s in ("ok", "infeasible", "pruned", "failed")}
    counts["estimated"] = sum(r.status == "ok" and r.estimated_accuracy for r in listed)
    counts["trained"] = counts["ok"] - counts["estimated"]
    counts["epochs"] = sum(r.estimated_accuracy for r in listed)
    return counts
