"""How trials read for people: a figure as text, a trial as one line, a list of trials as a table.

The command line's Pareto table (`nas_workbench.cli`), a `TrialResult`'s repr and a `TrialResults` list shown
in a notebook cell (an HTML table) are made from the same columns, so a figure reads the same in a terminal
and in a notebook; `TableList` is the kind of list that shows so, and stays one when sliced. Torch-free,
like the records it shows.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self, SupportsIndex, TypeVar, overload

from nas_workbench.metrics import COUNTED_METRICS, caveats

if TYPE_CHECKING:
    from nas_workbench.engine.records import TrialResult

__all__ = [
    "Column",
    "TableList",
    "figure_text",
    "html_table",
    "result_columns",
    "results_html",
    "results_text",
    "text_table",
    "trial_text",
]

#: A table column: its header and how a trial's cell reads.
Column = tuple[str, Callable[["TrialResult"], str]]

T = TypeVar("T")

#: The figures a trial's one-line text names, when it has them.
_LINE_METRICS = ("accuracy", "test_accuracy", "latency_ms", "peak_memory_mb", "energy_mj", "params", "flops")


def figure_text(result: TrialResult, metric: str, digits: int = 4) -> str:
    """``"0.9652"``, ``"514"``, ``"24.5k"``, ``"0.412 (unstable)"``: a trial's figure for a table cell,
    counts of a thousand or more in thousands or millions, a measurement its caveats mark
    (`nas_workbench.metrics.caveats`) so marked; "-" when the trial has no such figure."""
    value = result.value(metric)
    if value is None:
        return "-"
    marks = caveats(result.metrics[metric].get("detail"))  # "unstable", "uncalibrated"
    return _number(value, metric, digits) + "".join(f" ({mark})" for mark in marks)


def _number(value: float, metric: str, digits: int = 4) -> str:
    if metric in COUNTED_METRICS:
        return (
            f"{value:.0f}" if value < 1e3 else f"{value / 1e3:.1f}k" if value < 1e6 else f"{value / 1e6:.2f}M"
        )
    return f"{value:.{digits}g}"


def _latency_method(latency: Mapping[str, Any]) -> str:
    """How a latency was obtained: the method, or a target device's own label when its profile predicted
    it ("predicted for pixel2 from 10 measurements") or a verification measured it there ("measured on
    pixel2")."""
    source = str(latency.get("source", ""))
    return source if source.startswith(("predicted for ", "measured on ")) else str(latency["method"])


def _budget_mark(result: TrialResult) -> str:
    """The mark "ok" or "OVER"; for a latency a target device's profile judged, also how sure it is within
    (``"ok (91% sure within)"``, the verdict `nas_workbench.engine.budget.device_judged` recorded), or
    that it was measured on the device (``"OVER (measured)"``, a verified finalist)."""
    mark = "ok" if result.feasible else "OVER"
    verdict = result.metrics.get("latency_ms", {}).get("detail", {}).get("budget")
    if not verdict:
        return mark
    if verdict.get("measured"):
        return f"{mark} (measured)"
    return f"{mark} ({verdict['p_within']:.0%} sure within)"


def result_columns(results: Sequence[TrialResult]) -> list[Column]:
    """The columns a list of trials is read by: outcome, accuracies, hardware figures, architecture; the
    latency header says how its figures were obtained, each way once in the trials' order: after a
    verification on the target device some were measured there and the rest predicted, and the first
    trial's way alone read "latency ms (measured)" over a column of predictions."""
    method = "; ".join(
        dict.fromkeys(_latency_method(r.metrics["latency_ms"]) for r in results if "latency_ms" in r.metrics)
    )
    return [
        ("trial", lambda r: str(r.number)),
        ("budget", _budget_mark),
        ("val acc", lambda r: figure_text(r, "accuracy")),
        ("test acc", lambda r: figure_text(r, "test_accuracy")),
        (f"latency ms ({method})" if method else "latency ms", lambda r: figure_text(r, "latency_ms")),
        ("peak MB", lambda r: figure_text(r, "peak_memory_mb")),
        ("params", lambda r: figure_text(r, "params")),
        ("FLOPs", lambda r: figure_text(r, "flops")),
        ("architecture", lambda r: r.summary or r.arch),
    ]


def results_html(results: Sequence[TrialResult]) -> str:
    """``results`` as an HTML table (what a notebook cell shows for `TrialResults`), a trial that did not
    complete with its status and reason in place of its figures' absence."""
    if not results:
        return "<p>No trials.</p>"
    return html_table(*_table(results, status=True))


def _table(results: Sequence[TrialResult], status: bool) -> tuple[list[str], list[list[str]]]:
    """The header and rows of ``results``' table, with each trial's status and reason (``status``) before
    the architecture, the widest cell, which comes last: a table wider than a notebook cell or a terminal
    then hides or wraps only the architecture, never a status."""
    columns = result_columns(results)
    header = [name for name, _ in columns]
    rows = [[cell(r) for _, cell in columns] for r in results]
    if status:
        header.insert(-1, "status")
        for row, r in zip(rows, results, strict=True):
            row.insert(-1, r.status + (f": {r.reason}" if r.reason else ""))
    return header, rows


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A notebook cell's table of plain-text cells (escaped here): the results', the finalists'. Every
    column but the last keeps its cells (not its header) on one line, and the last (the network, the
    widest) reads from the left: JupyterLab right-aligns table cells, and a wide network column squeezed
    a verdict such as "ok (64% sure within)" into four lines (seen in Chromium, 2026-12-06)."""
    last = len(header) - 1

    def cell(tag: str, index: int, text: str) -> str:  # a header may wrap ("latency ms (predicted for ...)")
        style = "text-align:left" if index == last else "white-space:nowrap" if tag == "td" else ""
        attribute = f' style="{style}"' if style else ""
        return f"<{tag}{attribute}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", i, name) for i, name in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return (
        '<table class="nas-results" style="border-collapse:collapse;font-size:12px">'
        f"<tr>{head}</tr>{body}</table>"
    )


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain-text table's lines: the header, a rule, then the rows, each column as wide as its widest
    cell (the command line's tables)."""
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(header)]
    lines = ["  ".join(name.ljust(w) for name, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return lines


def results_text(results: Sequence[TrialResult], status: bool = True) -> str:
    """``results`` as a plain-text table (what ``print(run.results())`` prints, and the command line's
    Pareto table), with each trial's status and reason unless ``status`` is False."""
    return "\n".join(text_table(*_table(results, status)))


def trial_text(result: TrialResult) -> str:
    """``"#5 ok: accuracy 0.9652, test_accuracy 0.9735, latency_ms 0.02579 (measured), params 24.5k, arch
    ..."``: one trial in one line, with the figures it has (how a device's figure was obtained, and an
    accuracy estimated by weight sharing, said so), and why it did not complete when it did not."""
    figures = []
    for metric in _LINE_METRICS:
        entry = result.metrics.get(metric)
        if entry is None:
            continue
        plain = metric in COUNTED_METRICS or ("accuracy" in metric and entry["method"] != "estimated")
        how = [] if plain else [entry["method"], *caveats(entry.get("detail"))]
        figures.append(
            f"{metric} {_number(float(entry['value']), metric)}" + (f" ({', '.join(how)})" if how else "")
        )
    reason = [f"reason {result.reason!r}"] if result.reason else []
    return f"#{result.number} {result.status}: " + ", ".join(
        [*figures, *reason, f"arch {result.summary or result.arch}"]
    )


class TableList(list[T]):
    """A list that a notebook cell shows as a table and ``print`` as text (its kind's ``_repr_html_`` and
    ``__str__``) rather than as the reprs of its items; `repr` stays the list's. A slice is of the same
    kind (``run.results()[-5:]``, ``run.finalists(5)[:2]``), so it shows as a table too."""

    @overload
    def __getitem__(self, index: SupportsIndex) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Self: ...

    def __getitem__(self, index: SupportsIndex | slice) -> T | Self:
        """One item, or for a slice the items as this kind of list again."""
        if isinstance(index, slice):
            return type(self)(super().__getitem__(index))
        return super().__getitem__(index)
