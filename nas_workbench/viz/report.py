"""A standalone HTML report of a study: settings, trade-off plots, history and the Pareto table.

BokehJS is inlined so the file opens anywhere, offline (clusters often have no internet).
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import optuna
from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models.widgets.markups import Div
from bokeh.resources import INLINE

from nas_workbench.engine.budget import metrics_to_profile
from nas_workbench.engine.records import TrialResult, outcome_counts, pareto_front, trial_results
from nas_workbench.engine.study_record import record_of
from nas_workbench.viz._state import TrialTable, budget_summary, metric_label, stored_budget
from nas_workbench.viz.alpha import dnas_layout
from nas_workbench.viz.figures import make_sources, metric_axis_label, study_figures
from nas_workbench.viz.proxy import proxy_study_layout

__all__ = ["pareto_table_html", "report_layout", "write_report"]

_TABLE_METRICS = ("accuracy", "test_accuracy", "latency_ms", "peak_memory_mb", "params", "flops", "energy_mj")


def pareto_table_html(front: list[TrialResult]) -> str:
    """The Pareto-front trials as an HTML table, every figure with its unit and method; a metric no trial
    has is left out (tutorial 01's table had an energy column of "n/a" where energy was not profiled)."""
    shown = [m for m in _TABLE_METRICS if any(m in r.metrics for r in front)]
    head = "".join(f"<th>{html.escape(metric_axis_label(m))}</th>" for m in shown)
    rows = []
    for r in front:
        cells = "".join(f"<td>{html.escape(metric_label(r.metrics.get(m)))}</td>" for m in shown)
        name = f'<code title="{html.escape(r.arch)}">{html.escape(r.summary or r.arch)}</code>'
        rows.append(f"<tr><td>{r.number}</td><td>{name}</td>{cells}</tr>")
    return (
        '<table class="nas-pareto" border="1" style="border-collapse:collapse;font-size:12px">'
        f"<tr><th>Trial</th><th>Architecture</th>{head}</tr>{''.join(rows)}</table>"
    )


def report_layout(study: optuna.Study) -> Any:
    """The report's Bokeh layout for ``study``."""
    record = record_of(study)
    objectives, directions = list(record.objectives), list(record.directions)
    budget, notes = stored_budget(record)
    results = trial_results(study)
    table = TrialTable(objectives, directions)
    table.extend(results)
    trials, front = make_sources(table)
    counts = outcome_counts(table.results)
    config = record.config

    def esc(value: object) -> str:
        return html.escape(str(value))

    target = f", latency predicted for {esc(config['target_device'])}" if config.get("target_device") else ""
    trained = f"{counts['trained']} trained" + (
        f", {counts['estimated']} supernet epochs (accuracy estimated by weight sharing)"
        if counts["estimated"]
        else ""
    )

    goals = ", ".join(f"{m} ({d})" for m, d in zip(objectives, directions, strict=True))
    summary = (
        f"<h2>NAS Workbench report: {esc(study.study_name)}</h2>"
        f"<p>Space <b>{esc(record.space)}</b>, strategy <b>{esc(record.strategy)}</b>, "
        f"objectives {esc(goals)}, budget {esc(budget_summary(record))}, "
        f"device {esc(config.get('device', '?'))}{target}.</p>"
        f"<p>{len(table.results)} trials: {trained}, {counts['infeasible']} over budget "
        f"(not trained), {counts['pruned']} stopped early, {counts['failed']} failed.</p>"
    )
    recorded = metrics_to_profile(objectives, budget, config.get("profile_metrics"))
    plots = study_figures(trials, front, objectives, budget, recorded, notes)
    weights = dnas_layout(study)  # a gradient-based search: its architecture weights per epoch
    if weights is not None:
        plots.append(weights)
    guided = proxy_study_layout(study, metric_axis_label(objectives[0]))  # a proxy-guided search
    if guided is not None:
        plots.append(guided)
    front_rows = pareto_front(results, directions)
    return column(
        Div(text=summary, sizing_mode="stretch_width"),
        *plots,
        Div(
            text="<h3>Pareto front (feasible, non-dominated)</h3>" + pareto_table_html(front_rows),
            sizing_mode="stretch_width",
        ),
        sizing_mode="stretch_width",
    )


def write_report(study: optuna.Study, path: str | os.PathLike[str]) -> Path:
    """Write the standalone HTML report of ``study`` to ``path`` and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(file_html(report_layout(study), INLINE, title=f"NAS Workbench: {study.study_name}"))
    return path
