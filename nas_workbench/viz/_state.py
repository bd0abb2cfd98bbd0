"""Trials → plot columns: the pure data behind every figure, built once and shown in the widget, the
CLI's HTML report and the exported report notebook.

A `TrialTable` grows one row per finished trial (from live events or from a stored study) and keeps
the best-so-far curve incrementally, so streaming a row costs O(1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nas_workbench.engine.records import TrialResult, pareto_front
from nas_workbench.profiling import METRICS

__all__ = ["STATUS_STYLE", "TrialTable", "front_columns", "metric_label"]

#: How each trial outcome is drawn: (colour, marker). Distinct in colour and shape for colour-blind users.
STATUS_STYLE: dict[str, tuple[str, str]] = {
    "ok": ("#1f77b4", "circle"),
    "infeasible": ("#d62728", "x"),
    "pruned": ("#ff7f0e", "triangle"),
    "failed": ("#7f7f7f", "square"),
}

#: Metric columns every row has (NaN when not measured).
METRIC_COLUMNS = ("accuracy", "test_accuracy", *METRICS)


def metric_label(entry: dict[str, Any] | None) -> str:
    """``"0.412 ms (measured, cpu timer)"``: a value with its unit and method, for tooltips and tables."""
    if not entry:
        return "n/a"
    unit = f" {entry['unit']}" if entry.get("unit") and entry["unit"] != "fraction" else ""
    return f"{entry['value']:.4g}{unit} ({entry['method']}, {entry['source']})"


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
        self._best: float | None = None

    @staticmethod
    def column_names() -> list[str]:
        labels = [f"{m}_label" for m in METRIC_COLUMNS]
        return ["number", "status", "feasible", "color", "marker", "arch", "summary", "reason", "duration_s",
                "finished", "best_so_far", *METRIC_COLUMNS, *labels]  # fmt: skip

    def row(self, result: TrialResult) -> dict[str, list[Any]]:
        """Append ``result`` and return its row as one-element lists (the shape ``stream()`` takes)."""
        self.results.append(result)
        color, marker = STATUS_STYLE.get(result.status, STATUS_STYLE["failed"])
        score = result.value(self.objectives[0]) if result.status == "ok" and result.feasible else None
        if score is not None:
            better = max if self.directions[0] == "maximize" else min
            self._best = score if self._best is None else better(self._best, score)
        row: dict[str, Any] = {
            "number": result.number,
            "status": result.status,
            "feasible": result.feasible,
            "color": color,
            "marker": marker,
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
        for name, value in row.items():
            self.columns[name].append(value)
        return {name: [value] for name, value in row.items()}

    def extend(self, results: Iterable[TrialResult]) -> None:
        """Append many finished trials (e.g. loaded from storage), in trial-number order."""
        for result in sorted(results, key=lambda r: r.number):
            if result.status not in ("running", "waiting"):
                self.row(result)

    def front(self) -> dict[str, list[Any]]:
        """Columns of the current Pareto front (see `front_columns`)."""
        return front_columns(self.results, self.objectives, self.directions)


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
