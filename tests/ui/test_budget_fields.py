"""The hardware budget in the form as a data scientist reads and edits it: limits in human numbers, the
fields lined up with the others, and the plots' budget lines following an edit (JupyterLab in Chromium
showed "1.20e+3 count", kept the old line until Start, and put the checkboxes at the left edge)."""

from __future__ import annotations

import asyncio
from typing import Any

import ipywidgets as W
import pytest

import nas_workbench as nw
from nas_workbench.engine.events import TrialFinished
from nas_workbench.engine.records import TrialResult
from nas_workbench.exceptions import ConfigError
from nas_workbench.metrics import readable_number
from nas_workbench.ui._fields import DESCRIPTION_WIDTH
from nas_workbench.ui._limit import exact_text, parse_limit
from nas_workbench.ui.form import ConfigForm
from nas_workbench.ui.plots import PlotPanel
from nas_workbench.viz import TrialTable
from tests.ui.conftest import TINY


def parts(form: ConfigForm, metric: str) -> tuple[W.HTML, W.Checkbox, Any, W.Text, W.Label, W.Text]:
    """A limit's label, checkbox, slider, number box, unit and relative box, as the form places them."""
    row, _answer = form.fields[f"budget.{metric}"].box.children[0].children
    label, inputs = row.children
    return (label, *inputs.children)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1200", 1200), ("1,200", 1200), ("1.2k", 1200), ("3.4M", 3.4e6), ("1.15k", 1150), ("2e6", 2e6),
     (" 150 k ", 150_000), ("0.25", 0.25), (".5", 0.5), ("1.5G", 1.5e9)],
)  # fmt: skip
def test_a_limit_is_typed_as_people_write_it(text: str, value: float) -> None:
    assert parse_limit("budget.params", text) == value


@pytest.mark.parametrize("text", ["", "lots", "-5", "0", "1.2x", "1e999", "k"])
def test_a_limit_that_is_no_number_is_refused_naming_the_field_the_text_and_what_is_allowed(
    text: str,
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_limit("budget.params", text)
    assert refused.value.field == "budget.params" and refused.value.value == text
    assert "1,200, 1.2k, 3.4M" in str(refused.value)


@pytest.mark.parametrize(
    "value", [1200, 1202, 150_000, 123_457, 3.4e6, 1e8, 1.5e9, 0.25, 0.001, 12345.0, 2.5]
)
def test_a_limit_is_shown_without_e_notation_and_reads_back_exactly(value: float) -> None:
    shown = exact_text(value)
    assert "e" not in shown.lower() and parse_limit("budget.params", shown) == value, shown


def test_readable_numbers() -> None:
    assert [readable_number(v) for v in (1200, 150_000, 3.4e6, 1.5e9, 0.42, 2.0)] == [
        "1,200", "150k", "3.4M", "1.5G", "0.42", "2"
    ]  # fmt: skip


def test_limits_show_human_numbers_named_units_and_line_up_with_the_other_fields() -> None:
    form = ConfigForm(nw.SearchConfig(budget={"params": 1200, "flops": 3.4e6, "latency_ms": 12345.0}))
    label, enabled, slider, number, unit, _relative = parts(form, "params")
    assert number.value == "1,200" and unit.value == "parameters" and not slider.readout  # no "1.20e+3 count"
    assert [parts(form, "flops")[i].value for i in (3, 4)] == ["3.4M", "FLOPs"]
    assert parts(form, "latency_ms")[3].value == "12,345" and form.read().budget["latency_ms"] == 12345.0
    # the name right-aligned in the descriptions' column, the checkbox where the other fields' inputs start
    assert label.layout.width == DESCRIPTION_WIDTH and "Parameters" in label.value and not enabled.description
    assert form.read().budget == {"params": 1200, "flops": 3.4e6, "latency_ms": 12345.0}


def test_a_dragged_limit_is_what_the_box_shows_and_a_typed_one_moves_the_slider() -> None:
    form = ConfigForm(nw.SearchConfig(budget={"params": 1200}))
    _, _, slider, number, _, _ = parts(form, "params")
    slider.value = 123_456.7  # where a drag ends
    assert number.value == "123k" and form.read().budget["params"] == 123_000
    number.value = "2.5M"
    assert slider.value == pytest.approx(2.5e6) and form.read().budget["params"] == 2.5e6
    number.value = "5e12"  # beyond the slider: it widens
    assert slider.max >= 12.7 and slider.value == pytest.approx(5e12)


def test_a_limit_that_is_no_number_is_shown_under_its_field() -> None:
    form = ConfigForm(nw.SearchConfig(budget={"params": 1200}))
    parts(form, "params")[3].value = "lots"
    error = form.fields["budget.params"].error
    assert error.layout.display == "" and "budget.params" in error.value and "1.2k" in error.value
    assert form.validate() is None
    parts(form, "params")[3].value = "1.2k"
    assert error.layout.display == "none" and form.read().budget == {"params": 1200}


def test_a_running_search_freezes_every_part_of_a_limit_and_an_unset_one_stays_off_after() -> None:
    form = ConfigForm(nw.SearchConfig(budget={"params": 1200}))
    form.set_disabled(True)
    assert all(w.disabled for w in parts(form, "params")[1:4]) and parts(form, "flops")[1].disabled
    form.set_disabled(False)
    assert not any(w.disabled for w in parts(form, "params")[1:4])
    _, enabled, slider, number, _, _ = parts(form, "flops")
    assert not enabled.disabled and slider.disabled and number.disabled  # no limit: nothing to slide


def _spans(panel: PlotPanel, metric: str) -> dict[str | None, float]:
    (fig,) = [f for f in panel._figures if f.name == f"nas_tradeoff_{metric}"]
    return {span.name: span.location for span in fig.center if span.__class__.__name__ == "Span"}


def _legend(panel: PlotPanel, metric: str) -> list[str]:
    (fig,) = [f for f in panel._figures if f.name == f"nas_tradeoff_{metric}"]
    return [getattr(item.label, "value", "field") for legend in fig.legend for item in legend.items]


def test_before_any_trial_the_budget_lines_follow_the_edited_limit_at_once(make_config) -> None:
    workbench = nw.Workbench(make_config(budget={"params": 1200}))
    assert _spans(workbench.plots, "params") == {"nas_budget": 1200}
    parts(workbench.form, "params")[3].value = "2k"
    assert _spans(workbench.plots, "params") == {"nas_budget": 2000}
    assert "budget 2,000 parameters" in _legend(workbench.plots, "params")
    parts(workbench.form, "flops")[1].value = True  # a limit ticked gets its plot and line
    assert _spans(workbench.plots, "flops") == {"nas_budget": float(parts(workbench.form, "flops")[2].value)}


def _result(number: int, params: float, status: str = "ok") -> TrialResult:
    def metric(value: float, unit: str) -> dict[str, Any]:
        return {"value": value, "unit": unit, "method": "counted", "source": "test", "detail": None}

    accuracy = 0.5 + number / 100
    metrics = {"params": metric(params, "count")}
    if status == "ok":
        metrics["accuracy"] = metric(accuracy, "fraction")
    values = [accuracy, params] if status == "ok" else None
    event = TrialFinished("s", number, status, values, metrics, {}, f"a{number}", f"arch {number}", None, 1.0,
                          "host:1")  # fmt: skip
    return TrialResult.from_event(event)


def test_after_a_search_its_budget_line_stays_and_an_edited_limit_is_drawn_beside_it() -> None:
    panel = PlotPanel()
    table = TrialTable(["accuracy", "params"], ["maximize", "minimize"])
    panel.reset(table, {"params": 1200}, ["params"])
    panel.add([_result(0, 800), _result(1, 1500, "infeasible")])  # judged against 1,200
    panel.follow_budget({"params": 2000})
    assert _spans(panel, "params") == {"nas_budget": 1200, "nas_edited": 2000}
    assert "budget 1,200 parameters" in _legend(panel, "params")
    assert "next Start: 2,000 parameters" in _legend(panel, "params")
    assert panel.points == 2  # the trials are still drawn
    panel.follow_budget({"params": 1200})  # edited back: one line again
    assert _spans(panel, "params") == {"nas_budget": 1200}
    panel.follow_budget({"params": "p30"})  # relative: no value until a search resolves it
    assert _spans(panel, "params") == {"nas_budget": 1200}
    panel.follow_budget({"params": 2000})
    panel.reset(table, {"params": 2000}, ["params"])  # a new search's: the edit is its budget
    assert _spans(panel, "params") == {"nas_budget": 2000}


def test_a_latency_limit_on_a_target_device_is_named_so_on_its_line_before_and_after_start(
    make_config, score, wait_for, tmp_path, monkeypatch
) -> None:
    """The budget line of a limit judged by a device's profile said only "budget 20 ms" after Start (seen
    in JupyterLab in Chromium, 2026-12-06): it says "predicted for <device>" as a reopened study did."""
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))
    space = nw.spaces.get("chain", **TINY)
    archs = nw.profiling.propose(space, 8, seed=0)
    latency = [1.0 + 2.0 * sum(key.endswith(".op") for key in space.parse(a).choices) for a in archs]
    nw.profiling.fit_device("board", space, archs, latency, input_shape=(1, 8, 8), num_classes=10)
    config = make_config(budget={"latency_ms": 20.0}, target_device="board", study_name="board", n_trials=2)

    async def main() -> tuple[list[str], list[str]]:
        workbench = nw.Workbench(config, evaluate=score)
        before = _legend(workbench.plots, "latency_ms")
        workbench.start_button.click()
        await wait_for(lambda: not workbench.searching and "complete" in workbench.message.value)
        return before, _legend(workbench.plots, "latency_ms")

    before, after = asyncio.run(main())
    assert any("predicted for board" in entry for entry in before), before
    assert any("predicted for board" in entry for entry in after), after
