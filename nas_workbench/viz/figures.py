"""Pure Bokeh figure builders: given data sources, return figures. No I/O, no notebook, no threads.

The same builders serve the live widget (sources stream as trials finish), the CLI's standalone HTML
report and the exported report notebook. Sources and renderers carry stable ``name``s so tests and the
browser can find them.
"""

from __future__ import annotations

from bokeh.models import ColumnDataSource, HoverTool, Label, Span
from bokeh.plotting import figure

from nas_workbench.config import OBJECTIVE_METRICS
from nas_workbench.profiling import METRICS
from nas_workbench.viz._state import METRIC_COLUMNS, TrialTable

__all__ = ["history_figure", "make_sources", "metric_axis_label", "tradeoff_figure"]


def metric_axis_label(metric: str) -> str:
    """``"Latency (ms)"``, ``"Validation accuracy"``: an axis title with the unit."""
    if metric == "accuracy":
        return "Validation accuracy"
    if metric == "test_accuracy":
        return "Test accuracy"
    info = METRICS[metric]
    return f"{info.label} ({info.unit})"


def make_sources(table: TrialTable) -> tuple[ColumnDataSource, ColumnDataSource]:
    """The trials source and the Pareto-front source, filled from ``table``."""
    trials = ColumnDataSource(data={k: list(v) for k, v in table.columns.items()}, name="nas_trials")
    front = ColumnDataSource(data=table.front(), name="nas_front")
    return trials, front


def _tooltips() -> list[tuple[str, str]]:
    rows = [("trial", "@number (@status)"), ("architecture", "@summary")]
    rows += [(metric_axis_label(m), f"@{{{m}_label}}") for m in METRIC_COLUMNS]
    rows.append(("note", "@reason"))
    return rows


def tradeoff_figure(
    trials: ColumnDataSource,
    front: ColumnDataSource | None,
    x: str = "latency_ms",
    y: str = "accuracy",
    budget: float | None = None,
    title: str | None = None,
) -> figure:
    """Accuracy against a hardware metric: every trial by status, the Pareto front and the budget line.

    Args:
        trials: Source from `make_sources`.
        front: Pareto-front source from `make_sources`; None when ``x`` is not an objective.
        x: Hardware metric on the x axis.
        y: Score on the y axis.
        budget: Draw the limit of ``x`` as a dashed vertical line.
        title: Figure title (default: "<y> vs <x>").
    """
    fig = figure(
        title=title or f"{metric_axis_label(y)} vs {metric_axis_label(x)}",
        x_axis_label=metric_axis_label(x),
        y_axis_label=metric_axis_label(y),
        height=340,
        sizing_mode="stretch_width",
        tools="pan,box_zoom,wheel_zoom,reset,save,tap",
        name=f"nas_tradeoff_{x}",
    )
    scatter = fig.scatter(
        x=x, y=y, source=trials, color="color", marker="marker", size=9, alpha=0.75, legend_field="status",
        name="nas_trials_scatter",
    )  # fmt: skip
    fig.add_tools(HoverTool(renderers=[scatter], tooltips=_tooltips()))
    if front is not None:
        mode = "after" if OBJECTIVE_METRICS.get(x, "minimize") == "minimize" else "before"
        fig.step(
            x=x, y=y, source=front, mode=mode, line_width=2, color="#2ca02c", legend_label="Pareto front"
        )
        fig.scatter(x=x, y=y, source=front, size=12, fill_alpha=0, line_color="#2ca02c", line_width=2)
    if budget is not None:
        fig.add_layout(Span(location=budget, dimension="height", line_dash="dashed", line_color="#d62728"))
        fig.add_layout(
            Label(
                x=budget,
                y=8,
                y_units="screen",
                text=f" budget {budget:g}",
                text_color="#d62728",
                text_font_size="9pt",
            )
        )
    fig.legend.location = "bottom_right"
    fig.legend.click_policy = "hide"
    return fig


def history_figure(trials: ColumnDataSource, metric: str = "accuracy") -> figure:
    """Every trial's score against its number, with the best-so-far curve."""
    fig = figure(
        title="Optimisation history",
        x_axis_label="Trial",
        y_axis_label=metric_axis_label(metric),
        height=300,
        sizing_mode="stretch_width",
        tools="pan,box_zoom,wheel_zoom,reset,save",
        name="nas_history",
    )
    points = fig.scatter(
        x="number", y=metric, source=trials, color="color", marker="marker", size=7, alpha=0.7
    )
    fig.add_tools(HoverTool(renderers=[points], tooltips=_tooltips()))
    fig.line(
        x="number", y="best_so_far", source=trials, line_width=2, color="#2ca02c", legend_label="best so far"
    )
    fig.legend.location = "bottom_right"
    return fig
