"""Pure Bokeh figure builders: given data sources, return figures. No I/O, no notebook, no threads.

The same builders serve the live widget (sources stream as trials finish), the CLI's standalone HTML
report and the exported report notebook. Sources and renderers carry stable ``name``s so tests and the
browser can find them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

from bokeh.models import (
    BasicTicker,
    ColumnDataSource,
    DataRange1d,
    DatetimeTicker,
    DatetimeTickFormatter,
    HoverTool,
    NoOverlap,
    NumeralTickFormatter,
)
from bokeh.models.annotations import Legend
from bokeh.models.renderers import DataRenderer, GlyphRenderer
from bokeh.plotting import figure

from nas_workbench.config import OBJECTIVE_METRICS
from nas_workbench.metrics import metric_label as metric_axis_label  # the axes name metrics as the form does
from nas_workbench.profiling import METRICS
from nas_workbench.viz._state import METRIC_COLUMNS, TrialTable, tradeoff_metrics
from nas_workbench.viz.band import BAND, add_band, show_band_labels
from nas_workbench.viz.budget_line import add_budget_lines, budget_label
from nas_workbench.viz.ranges import edge_columns, fit_axis, span_one_value
from nas_workbench.viz.waiting import add_waiting_notes, show_drawn

__all__ = [
    "budget_label",
    "fit_tradeoff_axes",
    "history_figure",
    "make_sources",
    "metric_axis_label",
    "show_band_labels",
    "study_figures",
    "tradeoff_figure",
]

#: Rows a trials source holds at most when it is filled from a stored study (see `TrialTable.sample`).
MAX_POINTS = 2_000


def make_sources(
    table: TrialTable, max_points: int = MAX_POINTS
) -> tuple[ColumnDataSource, ColumnDataSource]:
    """The trials source (at most about ``max_points`` rows, see `TrialTable.sample`) and the full
    Pareto-front source, filled from ``table``."""
    trials = ColumnDataSource(data=table.sample(max_points), name="nas_trials")
    front = ColumnDataSource(data=table.front(), name="nas_front")
    return trials, front


#: Metrics a trial's tooltip shows: no test accuracy, which would invite choosing a model on the test
#: split (the architecture panel shows it for the one model chosen).
TOOLTIP_METRICS = tuple(m for m in METRIC_COLUMNS if m != "test_accuracy")

#: Units of counted metrics, whose ticks read as 200k, 1.5M.
_COUNTS = ("count", "FLOPs", "MACs")

#: Columns the arrows of outliers at an axis edge keep from the trials source.
_EDGE_COPY = ("number", "legend", "summary", "color", "accuracy", "unscored_at")


def _tooltips() -> list[tuple[str, str]]:
    """A trial's hover rows: its number and outcome as the legend names it (Optuna's status read "5 (ok)"
    for a trained trial the device measured over budget, drawn as "trained, judged over budget"), its
    architecture, its figures and why it is what it is."""
    rows = [("trial", "@number (@legend)"), ("architecture", "@summary")]
    rows += [(metric_axis_label(m), f"@{{{m}_label}}") for m in TOOLTIP_METRICS]
    rows.append(("note", "@reason"))
    return rows


def _plain(fig: figure) -> figure:
    """No Bokeh logo, the legend under the plot, where it hides no point (the band of trials without a
    score runs along the bottom) and takes no width from it, and no muted copy of each glyph: a legend here
    hides a series, never mutes it, so Bokeh's copies (one model per renderer) were built, sent and never
    drawn."""
    fig.toolbar.logo = None
    for renderer in fig.renderers:
        if isinstance(renderer, GlyphRenderer):
            renderer.muted_glyph = "auto"
    if fig.legend:
        legend: Legend = fig.legend[0]
        fig.center = [item for item in fig.center if item is not legend]
        legend.location = "top_left"
        # compact, under the plot in two columns: beside it, in the workbench's 2x2 grid at a notebook's
        # width, a legend with the budget's entry took half a panel (JupyterLab in Chromium at 1400 px);
        # 8 px apart: with none, the second column's swatch touched the first's longest label
        legend.update(label_text_font_size="8pt", glyph_width=14, padding=4, spacing=8, ncols=2)
        fig.add_layout(legend, "below")
    return fig


def _edge_marks(fig: figure, x: str, unit: str) -> None:
    """Arrows at the x axis's edge for the outliers `fit_tradeoff_axes` finds, with their true value."""
    source = ColumnDataSource(edge_columns(None, [], {}, _EDGE_COPY), name=f"nas_edge_{x}")
    common: dict[str, Any] = {"source": source, "marker": "triangle", "angle": "angle", "size": 11,
                              "color": "color"}  # fmt: skip
    marks: list[DataRenderer] = [fig.scatter(x="edge", y="accuracy", name="nas_edge_marks", **common)]
    if BAND in fig.extra_y_ranges:
        marks.append(fig.scatter(x="edge", y="unscored_at", y_range_name=BAND, **common))
    tooltips = [("trial", "@number (@legend)"), ("architecture", "@summary"),
                (f"{metric_axis_label(x)}, off the axis", f"@value{{0.[000]}} {unit}")]  # fmt: skip
    fig.add_tools(HoverTool(renderers=marks, tooltips=tooltips))


def tradeoff_figure(
    trials: ColumnDataSource,
    front: ColumnDataSource | None,
    x: str = "latency_ms",
    y: str = "accuracy",
    budget: float | None = None,
    title: str | None = None,
    front_order: str | None = "descending",
    budget_note: str | None = None,
    x_log: bool = False,
    edited: float | None = None,
) -> figure:
    """Accuracy against a hardware metric: every trial by status, the Pareto front and the budget line.

    Args:
        trials: Source from `make_sources`.
        front: Pareto-front source from `make_sources`; None when ``x`` is not an objective.
        x: Hardware metric on the x axis.
        y: Score on the y axis.
        budget: Draw the limit of ``x`` as a dashed vertical line.
        title: Figure title (default: "<y> vs <x>").
        front_order: How ``x`` runs along the front source's rows, "ascending" or "descending"
            (`front_columns` sorts by the first objective), so the front is drawn as the staircase that
            bounds the dominated region; None draws its points without the line, as for a front of
            three objectives, which is no staircase in two of them.
        budget_note: How a relative limit was given, e.g. "p30 on this CPU", shown on the budget line.
        x_log: A logarithmic x axis (for values spanning decades, see `nas_workbench.viz.ranges`).
        edited: A limit of ``x`` edited in the form since the search, drawn apart (`add_budget_lines`).
    """
    fig = figure(
        title=title or f"{metric_axis_label(y)} vs {metric_axis_label(x)}",
        x_axis_label=metric_axis_label(x),
        y_axis_label=metric_axis_label(y),
        x_axis_type="log" if x_log else "linear",
        height=340,
        sizing_mode="stretch_width",
        tools="pan,box_zoom,wheel_zoom,reset,save,tap",
        name=f"nas_tradeoff_{x}",
    )
    scatter = fig.scatter(
        x=x,
        y=y,
        source=trials,
        color="color",
        marker="marker",
        size=9,
        alpha=0.75,
        legend_field="legend",
        name="nas_trials_scatter",
    )
    fig.add_tools(HoverTool(renderers=[scatter, *add_band(fig, x, y, trials)], tooltips=_tooltips()))
    if front is not None:
        if front_order is not None:
            # minimised x, maximised y: the staircase holds each point's y up to the next larger x
            rising = (front_order == "ascending") == (OBJECTIVE_METRICS.get(x, "minimize") == "minimize")
            fig.step(
                x=x, y=y, source=front, mode="after" if rising else "before", line_width=2, color="#2ca02c"
            )
        fig.scatter(
            x=x,
            y=y,
            source=front,
            size=12,
            fill_alpha=0,
            line_color="#2ca02c",
            line_width=2,
            legend_label="Pareto front",
        )
    add_budget_lines(fig, x, budget, budget_note, edited)
    if x in METRICS and METRICS[x].unit in _COUNTS:  # 200k, 1.5m: never overlapping 2.000e+5 ticks
        # up to three decimals, shown only where needed: with one, 9,876-10,040 parameters under a 10k
        # budget were ticked 9.9k, 9.9k, 10k, 10k (tutorial 08 in JupyterLab in Chromium)
        fig.xaxis.formatter = NumeralTickFormatter(format="0.[000]a")
    _edge_marks(fig, x, METRICS[x].unit if x in METRICS else "")
    fig.legend.click_policy = "hide"
    return _plain(fig)


def fit_tradeoff_axes(
    figures: Sequence[figure],
    trials: ColumnDataSource,
    budget: Mapping[str, Any],
    edited: Mapping[str, float] | None = None,
) -> bool:
    """Fit the x axis of each trade-off figure to its trials and limits (see `nas_workbench.viz.ranges`;
    ``edited``: limits edited in the form since the search), the outliers drawn as arrows at the edge.
    Call it after the trials change. Returns whether a figure's log or linear scale no longer suits its
    data (the caller builds the figures again)."""
    rescale = False
    for fig in figures:
        metric = (fig.name or "").removeprefix("nas_tradeoff_")
        name = f"nas_edge_{metric}"  # the renderers, not fig.select: that walks every model (slow)
        glyphs = (r for r in fig.renderers if isinstance(r, GlyphRenderer))
        edges = next(
            (cast(ColumnDataSource, r.data_source) for r in glyphs if r.data_source.name == name), None
        )
        if edges is None:
            continue
        values = list(trials.data.get(metric, []))
        limits = [budget.get(metric), (edited or {}).get(metric)]
        fit = fit_axis(values, [limit for limit in limits if isinstance(limit, int | float)])
        if fit is not None and fit.log != (fig.x_scale.__class__.__name__ == "LogScale"):
            rescale = True
        # the automatic range fits until a first outlier; from then on the fitted one (two messages a batch).
        # One value alone is fitted too: Bokeh's automatic range spans 2 units around it (a first trial's
        # peak memory of 0.05 MB was drawn from -0.95 to 1.05 MB)
        x_range = cast(DataRange1d, fig.x_range)
        fixed = not (isinstance(x_range.start, float) and math.isnan(x_range.start))  # NaN: automatic
        shown = {v for v in [*values, *limits] if isinstance(v, int | float) and math.isfinite(v)}
        wanted = fit is not None and (fixed or bool(fit.outliers) or len(shown) == 1)
        if wanted and fit is not None and (x_range.start, x_range.end) != (fit.start, fit.end):
            x_range.start, x_range.end = fit.start, fit.end
        columns = edge_columns(fit, values, trials.data, _EDGE_COPY)
        if columns["number"] != list(edges.data["number"]):
            edges.data = columns
    return rescale


def history_figure(trials: ColumnDataSource, metric: str = "accuracy", x: str = "number") -> figure:
    """Every trial's score with the best-so-far curve, against the trial number or the time it finished.

    Args:
        trials: Source from `make_sources`.
        metric: The score plotted (the first objective).
        x: "number" (trial number) or "finished" (wall-clock time the trial ended).
    """
    by_time = x == "finished"
    fig = figure(
        title="Best so far against time" if by_time else "Optimisation history",
        x_axis_label="Time finished" if by_time else "Trial",
        x_axis_type="datetime" if by_time else "linear",
        y_axis_label=metric_axis_label(metric),
        height=300,
        sizing_mode="stretch_width",
        tools="pan,box_zoom,wheel_zoom,reset,save,tap",
        name=f"nas_history_{x}",
    )
    if by_time:
        # the time of day, with enough ticks that two fall in a short search's span and labels that would
        # overlap in a narrow panel left out: at 3 ticks, a 9-second search got one tick, which Bokeh could
        # only label with the year ("2026"); six full labels overlapped. Ticks under a second apart carry
        # their milliseconds: a 5-second search was ticked 16:29:10, 16:29:10, 16:29:11
        fig.xaxis.ticker = DatetimeTicker(desired_num_ticks=5)
        fig.xaxis.major_label_policy = NoOverlap()
        clock, minutes = "%H:%M:%S", "%H:%M"
        fig.xaxis.formatter = DatetimeTickFormatter(
            milliseconds=f"{clock}.%3N",
            seconds=clock,
            minsec=clock,
            minutes=minutes,
            hourmin=minutes,
            hours=minutes,
        )
    else:  # trial numbers are whole: three trials were ticked 0, 0.5, 1, 1.5, 2 (JupyterLab in Chromium)
        fig.xaxis.ticker = BasicTicker(min_interval=1)
    span_one_value(cast(DataRange1d, fig.x_range), x)  # one trial: not 2 units around it
    points = fig.scatter(x=x, y=metric, source=trials, color="color", marker="marker", size=7, alpha=0.7)
    fig.add_tools(HoverTool(renderers=[points, *add_band(fig, x, metric, trials)], tooltips=_tooltips()))
    fig.step(
        x=x,
        y="best_so_far",
        source=trials,
        mode="after",
        line_width=2,
        color="#2ca02c",
        legend_label="best so far",
    )
    return _plain(fig)


def study_figures(
    trials: ColumnDataSource,
    front: ColumnDataSource,
    objectives: Sequence[str],
    budget: Mapping[str, float | str],
    recorded: Sequence[str],
    budget_notes: Mapping[str, str] | None = None,
    edited: Mapping[str, float] | None = None,
) -> list[figure]:
    """Every figure of a study, on shared sources (selecting a point selects it in all of them).

    One accuracy trade-off plot per hardware metric of `tradeoff_metrics` (the Pareto front on the
    objectives, the budget line where there is a limit), then the history against trial number and
    against time; until the first trial each says it waits for one (`nas_workbench.viz.waiting`).

    Args:
        trials: Trials source from `make_sources`.
        front: Pareto-front source from `make_sources`.
        objectives: The search's objectives (the first drives the history).
        budget: Metric → limit.
        recorded: Hardware metrics every trial records.
        budget_notes: Metric → how its limit was given relative to the device ("p30 on this CPU").
        edited: Metric → a limit edited in the workbench's form since the search (a line of its own).
    """
    notes, edited = budget_notes or {}, edited or {}
    limits = {m: v for m, v in budget.items() if isinstance(v, int | float)}  # relative: not resolved yet
    two = len(objectives) == 2 and "accuracy" in objectives
    plots = []
    for metric in tradeoff_metrics(objectives, budget, recorded):
        limit = limits.get(metric)
        shown = [value for value in (limit, edited.get(metric)) if value is not None]
        fit = fit_axis(list(trials.data.get(metric, [])), shown)
        plots.append(
            tradeoff_figure(
                trials,
                front if metric in objectives else None,
                x=metric,
                budget=limit,
                front_order=_front_order(metric, objectives) if two else None,
                budget_note=notes.get(metric),
                x_log=fit is not None and fit.log,
                edited=edited.get(metric),
            )
        )
    fit_tradeoff_axes(plots, trials, limits, edited)
    first = objectives[0] if objectives else "accuracy"
    figures = [*plots, history_figure(trials, first), history_figure(trials, first, x="finished")]
    add_waiting_notes(figures)
    show_drawn(figures, trials)
    return figures


def _front_order(metric: str, objectives: Sequence[str]) -> str:
    """How ``metric`` runs along a two-objective front sorted best first by ``objectives[0]``: the first
    objective worsens from row to row, so on a front the other one improves."""
    minimised = OBJECTIVE_METRICS.get(metric, "minimize") == "minimize"
    worsening = metric == objectives[0]
    return "ascending" if worsening == minimised else "descending"
