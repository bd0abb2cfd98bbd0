"""The figures of a differentiable search: α heat map and per-epoch figure, from live events or a study."""

from __future__ import annotations

import math

import optuna
import pytest
from bokeh.embed import file_html
from bokeh.models import ColumnDataSource, CustomJS, GroupFilter, Slider
from bokeh.resources import INLINE

import nas_workbench as nw
from nas_workbench.engine import events as ev
from nas_workbench.viz.alpha import DnasHistory, alpha_heatmap, dnas_layout, epoch_figure
from tests.conftest import quick_calibration, tiny_dnas_config


@pytest.fixture(scope="module")
def searched(tiny_task, tmp_path_factory) -> tuple[nw.SearchRun, DnasHistory]:
    """A tiny "dnas" search, and the history its live events built."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        quick_calibration(patch)
        config = tiny_dnas_config(f"sqlite:///{tmp_path_factory.mktemp('db') / 'dnas.db'}")
        run = nw.search(config, data=tiny_task)
        live = DnasHistory()
        run.subscribe(live.on_event)
        run.run()
    return run, live


def _same(a: list, b: list) -> bool:
    return all(
        x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(a, b, strict=True)
    )


def test_live_events_and_the_stored_study_give_the_same_columns(searched) -> None:
    run, live = searched
    stored = DnasHistory.from_study(run.study)
    assert stored.alpha == live.alpha
    assert all(_same(stored.epochs[k], live.epochs[k]) for k in stored.epochs)
    assert stored.epochs["epoch"] == [1, 2]  # n_trials 3: two search epochs, the third trial retrains
    assert all(v > 0 for v in stored.epochs["cost"] + stored.epochs["expected_cost"])


def test_heat_map_rows_cover_every_decision_and_choice_of_every_epoch(searched) -> None:
    run, live = searched
    ops, edges = run.space.op_names, run.space.edges
    assert len(live.alpha["probability"]) == 2 * len(edges) * len(ops)
    assert live.slots == list(ops)  # a cell space: one column per op
    assert live.decisions == [run.space.decision_name(i, j) for i, j in edges]


def test_layout_shows_one_epoch_at_a_time_and_renders_standalone(searched) -> None:
    run, _ = searched
    layout = dnas_layout(run.study)
    slider = layout.select_one({"type": Slider})
    assert (slider.value, slider.end) == (2, 2)
    assert isinstance(slider.js_property_callbacks["change:value"][0], CustomJS)
    assert layout.select_one({"type": GroupFilter}).group == "2"
    html = file_html(layout, INLINE, title="dnas")
    assert "nas_alpha_heatmap" in html and "nas_dnas_epochs" in html


def test_the_study_report_shows_the_architecture_weights(searched, tmp_path) -> None:
    run, _ = searched
    html = nw.viz.write_report(run.study, tmp_path / "report.html").read_text()
    assert "nas_alpha_heatmap" in html


def test_layout_is_none_for_a_study_of_another_strategy() -> None:
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert dnas_layout(study) is None


def test_chain_decisions_with_different_choices_get_numbered_columns() -> None:
    history = DnasHistory()
    weights = {
        "stage1.depth": {"1": 0.2, "2": 0.8},
        "stage1.block0.op": {"conv": 0.1, "dwsep": 0.3, "mbconv": 0.6},
    }
    rows = history.add_weights(1, 0, "arch", weights, {})
    assert history.slots == ["choice 1", "choice 2", "choice 3"]
    assert rows["label"][1] == "2\n0.80"
    heatmap, _ = alpha_heatmap(ColumnDataSource(history.alpha), history)
    assert heatmap.y_range.factors == ["stage1.block0.op", "stage1.depth"]  # first decision on top
    assert history.on_event(ev.RunFinished("s", reason="completed", trials_done=0, elapsed_s=0.0)) == (
        None,
        None,
    )
    epoch_figure(ColumnDataSource(history.epochs), "latency_ms")  # no epoch rows yet: still draws


def test_readable_heat_map_and_no_empty_cost_series() -> None:
    """A colour bar says what a cell's colour means; a cell space's labels are the weights alone (the
    column names the op); a search that recorded no cost draws no cost series (no empty legend entries), and
    the legend sits beside the plot, where it hides no epoch (inside, it hid the first, near chance)."""
    history = DnasHistory()
    history.add_weights(
        1, 0, "arch", {"edge1": {"none": 0.3, "skip": 0.7}, "edge2": {"none": 0.5, "skip": 0.5}}, {}
    )
    heatmap, _ = alpha_heatmap(ColumnDataSource(history.alpha), history)
    assert [type(r).__name__ for r in heatmap.right] == ["ColorBar"]
    assert history.alpha["label"][:2] == ["0.30", "0.70"]
    epochs = epoch_figure(ColumnDataSource({"epoch": [1], "accuracy": [0.5], "cost": [float("nan")]}))
    assert [item.label["value"] for item in epochs.legend.items] == ["accuracy"]
    assert [type(r).__name__ for r in epochs.right] == ["Legend"]  # no cost axis; the legend hides no epoch


def test_the_epoch_figure_ticks_whole_epochs() -> None:
    source = ColumnDataSource({"epoch": [1, 2, 3], "accuracy": [0.1, 0.7, 0.8]})
    (ticker,) = [axis.ticker for axis in epoch_figure(source).xaxis]
    assert ticker.min_interval == 1  # tutorial 04's three epochs read 1, 1.5, 2, 2.5, 3 in JupyterLab
