"""Figures of a proxy-guided search: its pool, the prior's ranking against the trained objective, the
Spearman correlation of the prior as trials arrive, and the trust in each estimator per trial. Pure Bokeh,
like `figures`; the columns come from `ProxyHistory` (live in the workbench, or read from a stored study
for the reports).
"""

from __future__ import annotations

import html
from typing import Any

import optuna
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, Range1d
from bokeh.models.annotations import Span
from bokeh.models.widgets.markups import Div
from bokeh.palettes import Category10_10
from bokeh.plotting import figure
from bokeh.transform import factor_cmap

from nas_workbench.viz._proxy_state import MIN_TRIALS, SOURCES, ProxyHistory

__all__ = [
    "pool_html",
    "pool_note",
    "prior_figure",
    "proxy_layout",
    "proxy_study_layout",
    "spearman_figure",
    "trust_figure",
]

_SOURCE_COLOURS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#7f7f7f")
_TOOLS = "pan,box_zoom,reset,save"


def _colour(index: int) -> str:
    return Category10_10[(index + 1) % len(Category10_10)]  # the first colour is the prior's


def pool_html(history: ProxyHistory) -> str:
    """`ProxyHistory.summary` as a paragraph."""
    return f"<p><b>Proxy-guided search</b>: {html.escape(history.summary())}</p>"


def pool_note(history: ProxyHistory) -> str:
    """`pool_html`, and while too few trials are trained for a correlation, when it will show."""
    early = history.ranked < MIN_TRIALS
    return pool_html(history) + (f"<p>(Spearman from {MIN_TRIALS} trained trials on)</p>" if early else "")


def prior_figure(source: ColumnDataSource, objective: str = "objective") -> figure:
    """Each trained trial's objective against where the trusted prior ranked it when it was proposed
    (percentile among the candidates within budget; 1 = the top), coloured by the trial's source.

    Args:
        source: `ProxyHistory.trials` rows.
        objective: The objective's label.
    """
    fig = figure(
        title="Prior's ranking against the trained objective",
        x_axis_label="Prior percentile when proposed (1 = top of the ranking)",
        y_axis_label=objective,
        x_range=Range1d(start=-0.02, end=1.02),
        height=300,
        sizing_mode="stretch_width",
        tools=_TOOLS + ",hover",
        tooltips=[
            ("trial", "@number"),
            ("source", "@source"),
            ("prior", "@score{0.000}"),
            ("value", "@value{0.0000}"),
            ("architecture", "@arch"),
        ],
        toolbar_location=None,  # the workbench shows one toolbar, its plots'
        name="nas_proxy_prior",
    )
    fig.scatter(
        "score", "value", source=source, size=8, alpha=0.8, legend_field="source",
        color=factor_cmap("source", list(_SOURCE_COLOURS), list(SOURCES)),
    )  # fmt: skip
    fig.legend.location = "top_left"
    return fig


def _unit_figure(
    name: str, title: str, x_label: str, y_label: str, tooltips: list[tuple[str, str]]
) -> figure:
    """An empty figure whose y axis spans the correlations and weights, -1 to 1, with a line at 0."""
    fig = figure(
        title=title,
        x_axis_label=x_label,
        y_axis_label=y_label,
        y_range=Range1d(start=-1.05, end=1.05),
        height=300,
        sizing_mode="stretch_width",
        tools=_TOOLS + ",hover",
        tooltips=tooltips,
        toolbar_location=None,  # the workbench shows one toolbar, its plots'
        name=name,
    )
    fig.add_layout(Span(location=0, dimension="width", line_color="#999999", line_dash="dotted"))
    return fig


def spearman_figure(source: ColumnDataSource, estimators: list[str]) -> figure:
    """The Spearman correlation, over the trials trained so far, of the objective with the prior at equal
    trust and with each estimator alone, as trained trials arrive.

    Args:
        source: `ProxyHistory.spearman` rows.
        estimators: The estimators (`ProxyHistory.estimators`).
    """
    tooltips = [("trained", "@trained"), ("trial", "@number"), ("prior", "@prior{0.00}")]
    fig = _unit_figure(
        "nas_proxy_spearman",
        "Prior vs trained trials (Spearman so far)",
        "Trained trials",
        "Spearman with the objective",
        tooltips + [(name, f"@{{rho_{name}}}{{0.00}}") for name in estimators],
    )
    fig.line("trained", "prior", source=source, line_width=3, color=Category10_10[0],
             legend_label="prior (equal trust)")  # fmt: skip
    for index, name in enumerate(estimators):
        fig.line("trained", f"rho_{name}", source=source, line_width=1.5, color=_colour(index),
                 legend_label=name)  # fmt: skip
    fig.legend.location = "bottom_right"
    fig.legend.click_policy = "hide"
    return fig


def trust_figure(source: ColumnDataSource, estimators: list[str]) -> figure:
    """The trust (rank-aggregation weight) the strategy gave each estimator when it planned each trial.

    Args:
        source: `ProxyHistory.trials` rows.
        estimators: The estimators (`ProxyHistory.estimators`).
    """
    fig = _unit_figure(
        "nas_proxy_trust",
        "Trust in each estimator",
        "Trial",
        "Weight (Spearman shrunk towards 1)",
        [("trial", "@number")] + [(n, f"@{{trust_{n}}}{{0.00}}") for n in estimators],
    )
    for index, name in enumerate(estimators):
        fig.step("number", f"trust_{name}", source=source, mode="after", line_width=2,
                 color=_colour(index), legend_label=name)  # fmt: skip
    if estimators:
        fig.legend.location = "bottom_left"
        fig.legend.click_policy = "hide"
    return fig


def proxy_layout(history: ProxyHistory, objective: str = "objective") -> Any:
    """The pool's paragraph above the three figures, for the trials ``history`` holds so far."""
    # copies: the history's lists grow as trials arrive, and a source must change only through stream()
    trials = ColumnDataSource({k: list(v) for k, v in history.trials.items()}, name="nas_proxy_trials")
    spearman = ColumnDataSource(
        {k: list(v) for k, v in history.spearman.items()}, name="nas_proxy_correlations"
    )
    return column(
        Div(text=pool_note(history), sizing_mode="stretch_width", name="nas_proxy_pool"),
        row(
            prior_figure(trials, objective),
            spearman_figure(spearman, history.estimators),
            sizing_mode="stretch_width",
        ),
        trust_figure(trials, history.estimators),
        sizing_mode="stretch_width",
    )


def proxy_study_layout(study: optuna.Study, objective: str = "objective") -> Any | None:
    """`proxy_layout` of a stored study; None when no trial of it was planned by `proxy_guided`."""
    history = ProxyHistory.from_study(study)
    return proxy_layout(history, objective) if len(history) else None
