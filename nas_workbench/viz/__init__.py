"""Figures of a search, built once from trial data and shown in the widget, the HTML report and notebooks."""

from __future__ import annotations

from nas_workbench.viz._proxy_state import ProxyHistory
from nas_workbench.viz._state import STATUS_STYLE, TrialTable, front_columns, metric_label, tradeoff_metrics
from nas_workbench.viz.alpha import DnasHistory, alpha_heatmap, dnas_layout, epoch_figure
from nas_workbench.viz.arch import (
    cell_graph_data,
    cell_graph_figure,
    is_cell_graph,
    layer_table_html,
    profile_table_html,
)
from nas_workbench.viz.figures import (
    MAX_POINTS,
    history_figure,
    make_sources,
    metric_axis_label,
    study_figures,
    tradeoff_figure,
)
from nas_workbench.viz.proxy import proxy_layout, proxy_study_layout
from nas_workbench.viz.report import pareto_table_html, report_layout, write_report

__all__ = [
    "MAX_POINTS",
    "STATUS_STYLE",
    "DnasHistory",
    "ProxyHistory",
    "TrialTable",
    "alpha_heatmap",
    "cell_graph_data",
    "cell_graph_figure",
    "dnas_layout",
    "epoch_figure",
    "front_columns",
    "history_figure",
    "is_cell_graph",
    "layer_table_html",
    "make_sources",
    "metric_axis_label",
    "metric_label",
    "pareto_table_html",
    "profile_table_html",
    "proxy_layout",
    "proxy_study_layout",
    "report_layout",
    "study_figures",
    "tradeoff_figure",
    "tradeoff_metrics",
    "write_report",
]
