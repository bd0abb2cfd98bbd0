"""Figures of a search, built once from trial data and shown in the widget, the HTML report and notebooks."""

from __future__ import annotations

from nas_workbench.viz._state import STATUS_STYLE, TrialTable, front_columns, metric_label
from nas_workbench.viz.figures import history_figure, make_sources, metric_axis_label, tradeoff_figure
from nas_workbench.viz.report import pareto_table_html, report_layout, write_report

__all__ = [
    "STATUS_STYLE",
    "TrialTable",
    "front_columns",
    "history_figure",
    "make_sources",
    "metric_axis_label",
    "metric_label",
    "pareto_table_html",
    "report_layout",
    "tradeoff_figure",
    "write_report",
]
