"""Plot data and the standalone report, from a real study."""

from __future__ import annotations

import math

import optuna
import pytest

import nas_workbench as nw
from nas_workbench.engine.records import TrialResult, pareto_front
from nas_workbench.viz import TrialTable, make_sources, pareto_table_html, tradeoff_figure, write_report


def result(number: int, status: str, accuracy: float, latency: float, feasible: bool = True) -> TrialResult:
    metrics = {
        "accuracy": {"value": accuracy, "unit": "fraction", "method": "measured", "source": "trainer"},
        "latency_ms": {"value": latency, "unit": "ms", "method": "measured", "source": "cpu timer"},
    }
    return TrialResult(number, status, {}, f"a{number}", f"arch {number}", metrics,
                       (accuracy, latency) if status in ("ok", "infeasible") else None, feasible, None, 1.0,
                       1000.0 + number, {}, "w")  # fmt: skip


def test_pareto_front_is_feasible_and_non_dominated():
    results = [
        result(0, "ok", 0.90, 1.0),
        result(1, "ok", 0.95, 2.0),
        result(2, "ok", 0.93, 3.0),  # dominated by 1
        result(3, "infeasible", 0.99, 0.5, feasible=False),
        result(4, "pruned", 0.99, 0.1),
        result(5, "ok", 0.90, 1.0),  # a tie with 0: kept once
        result(6, "ok", 0.97, 4.0),
    ]
    front = pareto_front(results, ["maximize", "minimize"])
    assert [r.number for r in front] == [6, 1, 0]


def test_table_rows_best_so_far_and_labels():
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    for r in [
        result(0, "ok", 0.8, 1.0),
        result(1, "failed", 0.0, 0.0),
        result(2, "ok", 0.9, 2.0),
        result(3, "ok", 0.7, 1.0),
    ]:
        table.row(r)
    assert table.columns["best_so_far"][0] == 0.8 and table.columns["best_so_far"][-1] == 0.9
    assert math.isnan(table.columns["test_accuracy"][0])
    assert table.columns["latency_ms_label"][0] == "1 ms (measured, cpu timer)"
    assert table.columns["marker"][1] != table.columns["marker"][0]  # failed trials look different
    assert table.front()["number"] == [2, 0]
    trials, front = make_sources(table)
    figure = tradeoff_figure(trials, front, budget=1.5)
    assert (
        trials.data["number"] == [0, 1, 2, 3]
        and figure.select_one({"name": "nas_trials_scatter"}) is not None
    )


@pytest.mark.parametrize("objectives", [["accuracy", "latency_ms"], ["accuracy"]])
def test_report_of_a_real_study(tmp_path, tiny_task, objectives):
    config = nw.SearchConfig(
        space="chain",
        space_options={"num_stages": 1, "max_depth": 1, "ops": ["conv", "dwsep"], "kernel_sizes": [3, 5],
                       "widths": [8], "strides": [1], "width_ratios": [1.0], "stem_channels": 8},
        strategy="random", objectives=objectives, budget={"latency_ms": 1000.0},
        n_trials=2, storage=f"sqlite:///{tmp_path / 'r.db'}", study_name="r",
    )  # fmt: skip
    run = nw.search(config, evaluate=lambda spec, model: {"accuracy": 0.5}, data=tiny_task).run()
    path = write_report(
        optuna.load_study(study_name="r", storage=config.storage), tmp_path / "out" / "r.html"
    )
    text = path.read_text()
    assert "NAS Workbench report: r" in text and "Pareto front" in text
    assert "budget latency_ms \\u2264 1,000 ms," in text  # as the budget line says it, not a dict's repr
    assert "cdn.bokeh.org" not in text  # BokehJS inline: the file opens offline
    front = run.pareto()
    assert front and "nas-pareto" in text
    table = pareto_table_html(front)
    assert front[0].summary in table and "ms (measured" in table
    assert "Energy per inference" not in table  # not profiled: no column of "n/a"
