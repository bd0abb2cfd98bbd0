"""What the browser sends back about the plots: selections reach the kernel, echoed data does not."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from bokeh.models import ColumnDataSource, SaveTool, ToolProxy
from bokeh.plotting import figure

from nas_workbench.engine.events import TrialFinished
from nas_workbench.engine.records import TrialResult
from nas_workbench.ui._bokeh import PlotModel


def _model() -> tuple[PlotModel, ColumnDataSource]:
    source = ColumnDataSource({"x": [1, 2], "y": [1, 2]})
    fig = figure(tools="tap")
    fig.scatter("x", "y", source=source)
    return PlotModel(fig), source


def test_rows_the_kernel_streamed_are_not_appended_again_when_the_browser_echoes_them():
    model, source = _model()
    source.stream({"x": [3], "y": [3]})
    # what jupyter_bokeh's view sends after applying that patch (recorded from Chromium)
    echo = {
        "kind": "ColumnsStreamed",
        "model": {"id": source.id},
        "attr": "data",
        "data": {"type": "map", "entries": [["x", [3]], ["y", [3]]]},
        "rollover": None,
        "event": "jsevent",
    }
    model._sync_model(model, echo, [])
    replaced = {
        "kind": "ModelChanged",
        "model": {"id": source.id},
        "attr": "data",
        "new": {"type": "map", "entries": [["x", [9]], ["y", [9]]]},
        "event": "jsevent",
    }
    model._sync_model(model, replaced, [])
    assert source.data["x"] == [1, 2, 3]


def test_bounds_the_browser_computes_for_an_automatic_range_stay_out_of_the_kernel():
    """BokehJS sends back each fit of a DataRange1d (here from one point: 0.46 +- 1); kept, the next render
    of the whole document (the end of a search, `PlotPanel.refresh`) fixed the range there, so a "dnas"
    search's retrained trials lay off its plots."""
    fig = figure()
    fig.scatter([1, 2], [0.46, 0.99])
    model = PlotModel(fig)
    for attr, value in (("start", -0.54), ("end", 1.46)):
        fitted = {"kind": "ModelChanged", "model": {"id": fig.y_range.id}, "attr": attr, "new": value,
                  "event": "jsevent"}  # fmt: skip
        model._sync_model(model, fitted, [])
    assert math.isnan(fig.y_range.start) and math.isnan(fig.y_range.end)  # still automatic
    model.update_from_model(fig)  # the whole document again, as the browser renders it
    assert "1.46" not in json.dumps(model.render_bundle["docs_json"])


def test_a_selection_in_the_browser_reaches_the_kernel():
    model, source = _model()
    seen = []
    source.selected.on_change("indices", lambda attr, old, new: seen.append(new))
    tap = {
        "kind": "ModelChanged",
        "model": {"id": source.selected.id},
        "attr": "indices",
        "new": [1],
        "event": "jsevent",
    }
    model._sync_model(model, tap, [])
    assert source.selected.indices == [1] and seen and seen[-1] == [1]


def test_the_workbench_plots_have_one_toolbar_and_no_bokeh_logo():
    from nas_workbench.ui.plots import PlotPanel
    from nas_workbench.viz import TrialTable

    panel = PlotPanel()
    panel.reset(
        TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"]), {}, ["latency_ms", "params"]
    )
    figures = list(panel.layout.select({"type": figure}))
    assert len(figures) >= 3 and all(f.toolbar_location is None for f in figures)  # merged into one
    assert panel.layout.toolbar.logo is None and all(f.toolbar.logo is None for f in figures)
    merged = panel.layout.toolbar.tools
    proxied = [tool for proxy in merged if isinstance(proxy, ToolProxy) for tool in proxy.tools]
    assert sorted(map(id, proxied)) == sorted(
        id(t) for f in figures for t in f.toolbar.tools if not isinstance(t, SaveTool)
    )
    assert sum(isinstance(tool, SaveTool) for tool in merged) == 1  # saves the whole grid
    kinds = [
        (type(p.tools[0]), str(getattr(p.tools[0], "tooltips", "")))
        for p in merged
        if isinstance(p, ToolProxy)
    ]
    assert len(kinds) == len(set(kinds))  # one button per kind of tool (per tooltip for hover tools)


def test_the_dnas_panel_is_placed_at_the_start_and_stays_the_same_widget() -> None:
    """Placing a widget mid-run re-renders the others from their saved state (Chromium stalled the study's
    plots when the proxy panel did it): the architecture weights' panel is placed with the study's plots,
    empty, and each epoch redraws that same widget."""
    from bokeh.document import Document

    from nas_workbench.engine.events import ArchitectureWeights
    from nas_workbench.ui.plots import PlotPanel
    from nas_workbench.viz import TrialTable

    panel = PlotPanel()
    panel.reset(TrialTable(["accuracy"], ["maximize"]), {}, [])
    panel.new_histories("dnas", "maximize")
    placed = panel.box.children
    assert panel.dnas_widget is not None and placed == (panel.widget, panel.dnas_widget)
    widget = panel.dnas_widget
    for epoch in (1, 2):
        weights = {"edge 1": {"conv": 0.3 * epoch, "skip": 1 - 0.3 * epoch}}
        panel.add_dnas([ArchitectureWeights("s", number=epoch - 1, epoch=epoch, arch="a", weights=weights,
                                            expected={})])  # fmt: skip
        assert panel.box.children == placed and panel.dnas_widget is widget
    (doc_json,) = widget.render_bundle["docs_json"].values()
    alpha = Document.from_json(doc_json).select_one({"name": "nas_alpha"}).data
    assert sorted(set(alpha["epoch"])) == ["1", "2"]  # both epochs drawn in the placed widget
    panel.new_histories("random", "maximize")  # another strategy: no such panel
    assert panel.box.children == (panel.widget,)


def _trial(number: int, latency_ms: float) -> TrialResult:
    def metric(value: float, unit: str) -> dict[str, Any]:
        return {"value": value, "unit": unit, "method": "measured", "source": "test", "detail": None}

    metrics = {"accuracy": metric(0.5 + number / 100, "fraction"), "latency_ms": metric(latency_ms, "ms")}
    event = TrialFinished("s", number, "ok", [0.5 + number / 100, latency_ms], metrics, {}, f"a{number}",
                          f"arch {number}", None, 1.0, "host:1")  # fmt: skip
    return TrialResult.from_event(event)


def test_a_batch_of_rows_that_moves_the_axes_reaches_the_browser_as_one_patch() -> None:
    """Rows, front and fitted axis of a batch in one PATCH-DOC (jupyter_bokeh sends a patch per change),
    which a copy of the document, as the browser holds it, applies to the kernel's state."""
    from bokeh.core.serialization import Buffer, Serialized
    from bokeh.document import Document

    from nas_workbench.ui.plots import PlotPanel
    from nas_workbench.viz import TrialTable

    panel = PlotPanel()
    panel.reset(TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"]), {}, [])
    browser = Document.from_json(panel.layout.document.to_json())
    sent: list[tuple[dict[str, Any], list[bytes] | None]] = []
    panel.widget.send = lambda content, buffers=None: sent.append((content, buffers))
    panel.add([_trial(n, 1.0 + n / 10) for n in range(8)] + [_trial(8, 40.0)])  # an outlier: a fitted axis
    header, _, content = (json.loads(message["payload"]) for message, _ in sent[:3])
    assert header["msgtype"] == "PATCH-DOC" and len(sent) == 3 + 2 * header["num_buffers"]
    kinds = {(event["kind"], event.get("attr")) for event in content["events"]}
    assert {("ColumnsStreamed", "data"), ("ModelChanged", "start"), ("ModelChanged", "end")} <= kinds
    pairs = zip(sent[3::2], sent[4::2], strict=True)
    buffers = [Buffer(json.loads(ref["payload"])["id"], data[0]) for (ref, _), (_, data) in pairs if data]
    browser.apply_json_patch(Serialized(content=content, buffers=buffers))
    (tradeoff,) = [f for f in panel._figures if f.name == "nas_tradeoff_latency_ms"]
    shown = browser.get_model_by_id(tradeoff.x_range.id)
    assert (shown.start, shown.end) == (tradeoff.x_range.start, tradeoff.x_range.end)
    assert browser.get_model_by_id(panel.trials.id).data["number"] == list(range(9))


def test_the_band_label_appears_with_the_first_trial_streamed_without_a_score() -> None:
    from nas_workbench.ui.plots import PlotPanel
    from nas_workbench.viz import TrialTable

    panel = PlotPanel()
    panel.reset(TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"]), {"latency_ms": 1.0}, [])
    labels = [item for fig in panel._figures for item in fig.center if item.name == "nas_unscored_label"]
    panel.add([_trial(0, 0.5)])
    assert labels and not any(label.visible for label in labels)
    trained = _trial(1, 2.0)
    unscored = {"latency_ms": trained.metrics["latency_ms"]}  # over budget: never trained, no accuracy
    over = dataclasses.replace(trained, status="infeasible", metrics=unscored)
    panel.add([over])
    assert all(label.visible for label in labels)


def test_the_waiting_note_leaves_with_the_first_trial_streamed() -> None:
    from nas_workbench.ui.plots import PlotPanel
    from nas_workbench.viz import TrialTable
    from nas_workbench.viz.waiting import WAITING_NOTE

    panel = PlotPanel()
    panel.reset(TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"]), {}, [])
    notes = [item for fig in panel._figures for item in fig.center if item.name == WAITING_NOTE]
    assert notes and all(note.visible for note in notes)
    assert not any(legend.visible for fig in panel._figures for legend in fig.legend)  # no legend of nothing
    panel.add([_trial(0, 0.5)])
    assert not any(note.visible for note in notes)
    assert all(legend.visible for fig in panel._figures for legend in fig.legend)


def test_a_selection_made_before_its_rows_arrived_selects_what_exists() -> None:
    """A tap in the browser can race a stream: its indices may point past the rows the kernel holds (an
    IndexError from a driver script). Indices past the rows are ignored; none left clears the selection."""
    from nas_workbench.ui.plots import PlotPanel
    from nas_workbench.viz import TrialTable

    chosen: list[TrialResult | None] = []
    panel = PlotPanel(on_select=chosen.append)
    panel.reset(TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"]), {}, [])
    panel.trials.selected.indices = [0]  # before the first trial
    panel.add([_trial(0, 0.5), _trial(1, 0.6)])
    panel.trials.selected.indices = [1, 5]  # row 5 is not there yet
    assert [None if trial is None else trial.number for trial in chosen] == [None, 1]
