"""A latency figure that stayed unstable, or was predicted by an uncalibrated table, is marked where people
read it: the trial tooltips (the label columns) and the CLI's Pareto table."""

from __future__ import annotations

from nas_workbench.cli import format_pareto_table
from nas_workbench.engine.records import TrialResult
from nas_workbench.viz import TrialTable
from nas_workbench.viz._state import metric_label


def _trial(number: int, latency_detail: dict) -> TrialResult:
    metrics = {
        "accuracy": {
            "value": 0.8 + number / 100,
            "unit": "fraction",
            "method": "measured",
            "source": "trainer",
        },
        "latency_ms": {
            "value": 1.0 + number,
            "unit": "ms",
            "method": "measured",
            "source": "cpu thread time",
            "detail": latency_detail,
        },
    }
    values = (0.8 + number / 100, 1.0 + number)
    return TrialResult(
        number, "ok", {}, f"a{number}", f"arch {number}", metrics, values, True, None, 1.0, 1.0, {}, "w"
    )


UNSTABLE = {"stable": False, "unstable_reason": "two halves of the timing disagree by 9.0%"}


def test_tooltips_mark_unstable_and_uncalibrated_figures():
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    steady, shaky = _trial(0, {"stable": True}), _trial(1, UNSTABLE)
    table.extend([steady, shaky])
    assert table.columns["latency_ms_label"] == [
        "1 ms (measured, cpu thread time)",
        "2 ms (measured, cpu thread time, unstable)",
    ]
    uncalibrated = {"value": 0.5, "unit": "ms", "method": "estimated", "source": "uncalibrated lookup table"}
    assert metric_label({**uncalibrated, "detail": {"calibrated": False}}).endswith(", uncalibrated)")


def test_the_pareto_table_marks_an_unstable_latency():
    results = [
        _trial(0, {"stable": True}),
        _trial(1, UNSTABLE),
    ]  # the faster one less accurate: both on the front
    text = format_pareto_table(results, ["accuracy", "latency_ms"], ["maximize", "minimize"], {})
    rows = {line.split()[0]: line for line in text.splitlines()[2:4]}
    assert "(unstable)" not in rows["0"] and "2 (unstable)" in rows["1"]


def test_the_pareto_table_names_the_device_profile_and_counts_supernet_epochs_apart():
    from dataclasses import replace

    profiled = {"method": "predicted", "source": "predicted for pixel3 from 10 measurements"}
    epoch, retrained = (
        replace(t, metrics={**t.metrics, "latency_ms": {**t.metrics["latency_ms"], **profiled}})
        for t in (_trial(0, {}), _trial(1, {}))
    )
    epoch = replace(
        epoch, metrics={**epoch.metrics, "accuracy": {**epoch.metrics["accuracy"], "method": "estimated"}}
    )
    text = format_pareto_table([epoch, retrained], ["accuracy", "latency_ms"], ["maximize", "minimize"], {})
    header, _, *rows, summary = text.splitlines()
    assert "latency ms (predicted for pixel3 from 10 measurements)" in header
    assert [row.split()[0] for row in rows] == ["1"]  # the supernet's estimate is not on the front
    assert "(1 trained, 1 supernet epochs (accuracy estimated), 0 over budget" in summary


def test_a_large_count_reads_in_full_not_in_scientific_notation():
    """Tutorial 01's Pareto table showed "1.919e+04 count" and "4.157e+05 FLOPs" (JupyterLab, Chromium)."""
    params = {"value": 19190.0, "unit": "count", "method": "counted", "source": "nn.Module.parameters"}
    assert metric_label(params) == "19,190 parameters (counted, nn.Module.parameters)"  # not "count"
    assert metric_label({**params, "value": 415700.0, "unit": "FLOPs"}).startswith("415,700 FLOPs")
    assert metric_label({**params, "value": 3.4172e9, "unit": "FLOPs"}).startswith("3.417G FLOPs")
    assert metric_label({**params, "value": 1200.0}).startswith("1,200 parameters")
    assert metric_label({**params, "value": 0.41234, "unit": "ms"}).startswith("0.4123 ms")


def test_an_axis_title_names_its_unit_once():
    from nas_workbench.viz.figures import metric_axis_label

    assert metric_axis_label("flops") == "FLOPs (multiply-add = 2)"  # the report's header said "(FLOPs)" too
    assert metric_axis_label("latency_ms") == "Latency (ms)" and metric_axis_label("params") == "Parameters"
