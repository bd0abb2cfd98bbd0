"""Trials → plot columns: the pure data behind every figure, built once and shown in the widget, the
CLI's HTML report and the exported report notebook.

A `TrialTable` grows one row per finished trial (from live events or from a stored study) and keeps
the best-so-far curve incrementally, so streaming a row costs O(1). A study of many thousands of trials
is shown through `TrialTable.sample`: every Pareto-front trial and every improvement of the best-so-far
curve, and an even spread of the others, so plots stay fast and both the front and the curve stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nas_workbench.engine.records import TrialResult, pareto_front
from nas_workbench.engine.study_record import StudyRecord
from nas_workbench.metrics import limit_text, unit_word, value_text
from nas_workbench.profiling import METRICS, caveats

__all__ = [
    "STATUS_LEGEND",
    "STATUS_STYLE",
    "UNSCORED_AT",
    "TrialTable",
    "budget_notes",
    "budget_summary",
    "front_columns",
    "metric_label",
    "stored_budget",
    "tradeoff_metrics",
]

#: How each trial outcome is drawn: (colour, marker). Distinct in colour and shape for colour-blind users.
#: "over": a trained trial a verification on the target device judged over the budget (`row_style`).
STATUS_STYLE: dict[str, tuple[str, str]] = {
    "ok": ("#1f77b4", "circle"),
    "infeasible": ("#d62728", "x"),
    "pruned": ("#ff7f0e", "triangle"),
    "failed": ("#7f7f7f", "square"),
    "over": ("#9467bd", "diamond"),
}

#: How each trial outcome is named in the legends.
STATUS_LEGEND = {
    "ok": "trained",
    "infeasible": "over budget, not trained",
    "pruned": "stopped early",
    "failed": "failed",
    "over": "trained, judged over budget",
}

#: Metric columns every row has (NaN when not measured).
METRIC_COLUMNS = ("accuracy", "test_accuracy", *METRICS)

#: Where a trial without a score is drawn in the band under the accuracy axis (fraction of its height).
UNSCORED_AT = 0.5


def metric_label(entry: Mapping[str, Any] | None) -> str:
    """``"0.412 ms (measured, cpu timer)"``: a value with its unit and method, for tooltips and tables;
    ``"0.412 ms (measured, cpu timer, unstable)"`` for a figure its detail marks (`profiling.caveats`)."""
    if not entry:
        return "n/a"
    unit = f" {unit_word(entry['unit'])}" if entry.get("unit") and entry["unit"] != "fraction" else ""
    marks = "".join(f", {mark}" for mark in caveats(entry.get("detail")))  # "unstable", "uncalibrated"
    return (
        f"{value_text(entry['value'], entry.get('unit'))}{unit} ({entry['method']}, {entry['source']}{marks})"
    )


def row_style(result: TrialResult) -> str:
    """The key of ``result``'s style and legend: its status, or "over" for a trained trial judged over the
    budget after it was trained (its latency measured on the target device, or predicted by the profile
    refitted with the finalists' measurements: `nas_workbench.engine.device_verdicts`)."""
    return "over" if result.status == "ok" and not result.feasible else result.status


class TrialTable:
    """Columns of finished trials, ready for a Bokeh ``ColumnDataSource``.

    Args:
        objectives: The search's objectives; the first one drives the best-so-far curve.
        directions: "maximize" / "minimize" per objective.
    """

    def __init__(self, objectives: Sequence[str], directions: Sequence[str]) -> None:
        self.objectives = list(objectives)
        self.directions = list(directions)
        self.results: list[TrialResult] = []
        self.columns: dict[str, list[Any]] = {name: [] for name in self.column_names()}
        #: Row of each trial number.
        self.rows_by_number: dict[int, int] = {}
        #: Rows where the best-so-far value changed (the curve's corners).
        self.improvements: list[int] = []
        self._best: float | None = None

    @staticmethod
    def column_names() -> list[str]:
        labels = [f"{m}_label" for m in METRIC_COLUMNS]
        return [
            "number",
            "status",
            "feasible",
            "color",
            "marker",
            "legend",
            "arch",
            "summary",
            "reason",
            "duration_s",
            "finished",
            "best_so_far",
            "unscored_at",
            *METRIC_COLUMNS,
            *labels,
        ]

    def row(self, result: TrialResult) -> dict[str, list[Any]]:
        """Append ``result`` and return its row as one-element lists (the shape ``stream()`` takes)."""
        self.rows_by_number[result.number] = len(self.results)
        self.results.append(result)
        style = row_style(result)
        color, marker = STATUS_STYLE.get(style, STATUS_STYLE["failed"])
        score = result.value(self.objectives[0]) if result.status == "ok" and result.feasible else None
        if score is not None:
            better = max if self.directions[0] == "maximize" else min
            best = score if self._best is None else better(self._best, score)
            if best != self._best:
                self.improvements.append(len(self.results) - 1)
            self._best = best
        row: dict[str, Any] = {
            "number": result.number,
            "status": result.status,
            "feasible": result.feasible,
            "color": color,
            "marker": marker,
            "legend": STATUS_LEGEND.get(style, style),
            "arch": result.arch,
            "summary": result.summary,
            "reason": result.reason or "",
            "duration_s": result.duration_s if result.duration_s is not None else float("nan"),
            "finished": (result.datetime_complete or 0.0) * 1000.0,  # Bokeh datetimes are milliseconds
            "best_so_far": self._best if self._best is not None else float("nan"),
        }
        for name in METRIC_COLUMNS:
            value = result.value(name)
            row[name] = float("nan") if value is None else value
            row[f"{name}_label"] = metric_label(result.metrics.get(name))
        # a trial over budget (not trained) or failed before it was scored has no accuracy: it is drawn in
        # a band under the accuracy axis, at its measured cost, never at a made-up accuracy
        unscored = result.value("accuracy") is None and result.status in ("infeasible", "failed")
        row["unscored_at"] = UNSCORED_AT if unscored else float("nan")
        if unscored:
            why = (
                "over budget: not trained" if result.status == "infeasible" else "failed before it was scored"
            )
            for name in ("accuracy", "test_accuracy"):
                row[f"{name}_label"] = f"none ({why})"
        for name, value in row.items():
            self.columns[name].append(value)
        return {name: [value] for name, value in row.items()}

    def extend(self, results: Iterable[TrialResult]) -> None:
        """Append many finished trials (e.g. loaded from storage) in the order they finished, as live
        events would have brought them, so the best-so-far curve is right against time too."""
        finished = [r for r in results if r.status not in ("running", "waiting")]
        for result in sorted(finished, key=lambda r: (r.datetime_complete or 0.0, r.number)):
            self.row(result)

    def front(self) -> dict[str, list[Any]]:
        """Columns of the current Pareto front (see `front_columns`)."""
        return front_columns(self.results, self.objectives, self.directions)

    def result(self, number: int) -> TrialResult:
        """The trial with this number (KeyError when it is not in the table)."""
        return self.results[self.rows_by_number[number]]

    def sample(self, limit: int) -> dict[str, list[Any]]:
        """The columns of at most about ``limit`` rows, for plotting a large study.

        Kept: every Pareto-front trial and every improvement of the best-so-far curve (so the front and
        the curve are exact), then an even spread of the other rows up to ``limit``. Rows keep their
        order. With ``limit`` rows or fewer, all columns are returned as they are.
        """
        total = len(self.results)
        if total <= limit:
            return {name: list(values) for name, values in self.columns.items()}
        front = pareto_front(self.results, self.directions)
        keep = {self.rows_by_number[r.number] for r in front} | set(self.improvements)
        spare = max(limit - len(keep), 0)
        if spare:
            keep.update(range(0, total, max(1, -(-total // spare))))
        rows = sorted(keep)
        return {name: [values[i] for i in rows] for name, values in self.columns.items()}


def front_columns(
    results: Iterable[TrialResult], objectives: Sequence[str], directions: Sequence[str]
) -> dict[str, list[Any]]:
    """The Pareto-front trials as columns, sorted by the first objective, for the front's step line."""
    front = pareto_front(results, directions)
    columns: dict[str, list[Any]] = {"number": [], "arch": [], **{m: [] for m in METRIC_COLUMNS}}
    for result in front:
        columns["number"].append(result.number)
        columns["arch"].append(result.arch)
        for name in METRIC_COLUMNS:
            value = result.value(name)
            columns[name].append(float("nan") if value is None else value)
    return columns


def tradeoff_metrics(objectives: Sequence[str], budget: Iterable[str], recorded: Iterable[str]) -> list[str]:
    """The hardware metrics that get an accuracy trade-off plot, most important first.

    Hardware objectives first, then budget metrics, then latency, memory and energy when they are
    recorded; when none of those applies, the first recorded metric (a search on parameters alone).

    Args:
        objectives: The search's objectives.
        budget: Metrics with a limit.
        recorded: Metrics every trial records (see `nas_workbench.engine.budget.metrics_to_profile`).
    """
    recorded = [m for m in METRICS if m in set(recorded)]
    shown = [m for m in objectives if m in METRICS]
    shown += [m for m in budget if m in METRICS]
    shown += [m for m in ("latency_ms", "peak_memory_mb", "energy_mj") if m in recorded]
    unique = list(dict.fromkeys(shown))
    return unique or recorded[:1]


def stored_budget(record: StudyRecord) -> tuple[dict[str, float], dict[str, str]]:
    """A study's absolute limits (from its record, `nas_workbench.engine.study_record`) and, for the
    budget line, how a limit was given: relative to the device ("p30 on this CPU"), or on the target
    device whose profile judges latency ("predicted for pixel3")."""
    resolved = {m: f"{r['spec']} on {r['device']}" for m, r in record.budget_resolved.items()}
    return dict(record.budget), budget_notes(resolved, record.budget, record.config.get("target_device"))


def budget_summary(record: StudyRecord) -> str:
    """A study's limits for a reader, each with its unit and how it was given: ``"latency_ms ≤ 0.705 ms
    (p50 on this CPU), peak_memory_mb ≤ 5 MB"`` (``"none"`` without limits), as the report and the report
    notebook say them (a stored limit reads ``0.7049895000008632`` otherwise)."""
    budget, notes = stored_budget(record)
    return ", ".join(f"{m} ≤ {limit_text(m, v, notes.get(m))}" for m, v in budget.items()) or "none"


def budget_notes(
    resolved: Mapping[str, str], budget: Mapping[str, Any], target_device: str | None
) -> dict[str, str]:
    """How each limit was given, for its budget line: the ``resolved`` relative limits' notes ("p30 on
    this CPU"), and a latency limit on a target device "predicted for pixel3" (the search judges it by
    the device's profile, not by timing here)."""
    notes = dict(resolved)
    if target_device and "latency_ms" in budget and "latency_ms" not in notes:
        notes["latency_ms"] = f"predicted for {target_device}"
    return notes
