"""Axes one bad measurement cannot stretch (issue 14.6): robust ranges, log scales, outliers at the edge;
and what the plots say around them: budget labels with units, legends beside the plot, no test accuracy in
tooltips, no Bokeh logo."""

from __future__ import annotations

import pytest
from bokeh.models import HoverTool, Legend

from nas_workbench.profiling import METRICS
from nas_workbench.viz import TrialTable, make_sources, study_figures
from nas_workbench.viz.figures import budget_label, fit_tradeoff_axes
from nas_workbench.viz.ranges import fit_axis
from tests.viz.test_figures import result


def test_one_wild_timing_is_an_outlier_and_the_axis_fits_the_others():
    fit = fit_axis([0.85, 0.9, 1.2, 83.0, 1.6])  # the 83 ms among 0.4-1.6 ms
    assert fit is not None and not fit.log
    assert fit.high == (3,) and fit.low == ()
    assert 0.7 < fit.start < 0.85 and 1.6 < fit.end < 1.8


def test_a_tight_cluster_and_a_spread_of_decades_have_no_outliers():
    tight = fit_axis([1.0, 1.01, 1.02, 1.15, 0.97])
    assert tight is not None and tight.outliers == () and not tight.log
    decades = fit_axis([1e3, 4e3, 2e4, 5e4, 3e5, 2e6])
    assert decades is not None and decades.outliers == () and decades.log
    assert decades.start < 1e3 and decades.end > 2e6


def test_the_budget_stays_in_view_and_missing_values_are_skipped():
    fit = fit_axis([0.1, 0.2, float("nan"), None], include=[5.0])
    assert fit is not None and fit.end > 5.0 and fit.start < 0.1
    assert fit_axis([float("nan")]) is None


def test_a_far_value_inside_the_range_the_budget_widens_is_a_point_not_an_arrow():
    """Peak memory of 0.01-0.3 MB under a 5 MB budget: the axis ran 0-5 MB and the small values, far from
    the others' median in decades, were drawn as arrows at its left edge (h3, a PostgreSQL study)."""
    memory = [0.25, 0.26, 0.24, 0.27, 0.25, 0.26, 0.011, 0.012]
    fit = fit_axis(memory, include=[5.0])
    assert fit is not None and fit.start < 0.011 and fit.end > 5.0 and fit.outliers == ()
    alone = fit_axis(memory)  # without the budget the range fits the cluster and they stay arrows
    assert alone is not None and alone.low == (6, 7) and alone.start > 0.012


def test_a_study_with_an_outlier_draws_it_as_an_arrow_at_the_edge():
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    latencies = [0.85, 0.9, 1.2, 83.0, 1.6, 1.1]
    table.extend([result(i, "ok", 0.5 + i / 20, ms) for i, ms in enumerate(latencies)])
    trials, front = make_sources(table)
    fig = study_figures(trials, front, table.objectives, {}, ["latency_ms"])[0]
    assert fig.x_range.end < 2.0  # not stretched to 83 ms
    edges = fig.select_one({"name": "nas_edge_latency_ms"})
    assert edges.data["number"] == [3] and edges.data["value"] == [83.0]
    assert fig.x_range.start < edges.data["edge"][0] < fig.x_range.end  # drawn inside, at the edge
    assert edges.data["accuracy"] == [0.65]

    trials.stream(table.row(result(6, "ok", 0.9, 1.3)))  # a new trial: fitted again, same outlier
    assert not fit_tradeoff_axes([fig], trials, {})
    assert edges.data["number"] == [3]


def test_a_first_trial_is_drawn_on_axes_around_it():
    """One trial: Bokeh's automatic range spans 2 units around a value, so a peak memory of 0.05 MB was
    drawn from -0.95 to 1.05 MB and a finishing time with microsecond ticks (323000us); the hardware axis
    is fitted around the value, the time axis spans a minute."""
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend([result(0, "ok", 0.98, 0.0167)])  # a peak memory of 0.05 MB
    trials, front = make_sources(table)
    figures = study_figures(trials, front, table.objectives, {}, ["latency_ms", "peak_memory_mb"])
    for fig, value in ((figures[0], 0.0167), (figures[1], 0.05)):
        assert 0 < fig.x_range.start < value < fig.x_range.end < 2 * value, fig.name
    assert figures[3].name == "nas_history_finished" and figures[3].x_range.default_span == 60_000


def test_trial_zero_alone_is_drawn_on_a_trial_axis_without_negative_numbers():
    """Trial 0 alone: Bokeh's automatic range spans 2 units around it, so the history ran from -1 to 1,
    ticked -1, 0, 1; it spans half a trial either side (-0.5 to 0.5, whole ticks: 0 alone)."""
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend([result(0, "ok", 0.98, 0.0167)])
    trials, front = make_sources(table)
    history = study_figures(trials, front, table.objectives, {}, ["latency_ms"])[1]
    assert history.name == "nas_history_number"
    assert history.x_range.default_span == 1 and history.xaxis[0].ticker.min_interval == 1


def _sized(number: int, params: float):
    trial = result(number, "ok", 0.5 + number / 100, 1.0)
    trial.metrics["params"] = {"value": params, "unit": "count", "method": "counted", "source": "torch"}
    return trial


def test_data_spanning_decades_gets_a_log_axis_and_a_live_run_is_told_to_rebuild():
    table = TrialTable(["accuracy", "params"], ["maximize", "minimize"])
    table.extend([_sized(0, 1000.0), _sized(1, 1500.0)])
    trials, front = make_sources(table)
    fig = study_figures(trials, front, table.objectives, {}, ["params"])[0]
    assert fig.x_scale.__class__.__name__ == "LinearScale"
    for number, params in enumerate([2e4, 1e5, 5e5], start=2):
        trials.stream(table.row(_sized(number, params)))
    assert fit_tradeoff_axes([fig], trials, {})  # 1k-500k parameters: the axis should be logarithmic now
    trials, front = make_sources(table)
    rebuilt = study_figures(trials, front, table.objectives, {}, ["params"])[0]
    assert rebuilt.x_scale.__class__.__name__ == "LogScale"
    assert not fit_tradeoff_axes([rebuilt], trials, {})


@pytest.mark.parametrize("metric", list(METRICS))
def test_every_budget_label_names_its_unit(metric):
    text = budget_label(metric, 150_000.0 if METRICS[metric].unit in ("count", "FLOPs", "MACs") else 2.0)
    unit = "parameters" if metric == "params" else METRICS[metric].unit
    assert text.endswith(f" {unit}") and "e+" not in text, text
    assert budget_label("latency_ms", 2.0) == "budget 2 ms"
    assert budget_label("params", 150_000) == "budget 150k parameters"
    assert budget_label("flops", 3.2e6, "p30 on this CPU") == "budget 3.2M FLOPs (p30 on this CPU)"
    assert (
        budget_label("latency_ms", 1000.0) == "budget 1,000 ms"
        and budget_label("latency_ms", 0.42) == "budget 0.42 ms"
    )


def test_tooltips_show_no_test_accuracy_the_legend_hides_no_point_and_there_is_no_logo():
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend([result(0, "ok", 0.8, 1.0), result(1, "infeasible", 0.9, 3.0)])
    trials, front = make_sources(table)
    for fig in study_figures(trials, front, table.objectives, {"latency_ms": 2.0}, ["latency_ms"]):
        for hover in fig.select({"type": HoverTool}):
            assert not any("test" in label.lower() for label, _ in hover.tooltips), hover.tooltips
        assert fig.toolbar.logo is None
        legends = fig.select({"type": Legend})
        assert legends and all(legend not in fig.center for legend in legends)  # under the plot
        assert all(legend in fig.below for legend in legends)
