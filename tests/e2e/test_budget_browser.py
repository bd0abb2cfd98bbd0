"""The workbench's hardware budget in a real browser (JupyterLab 4, Debian's Chromium, Playwright).

Before Start the plots say they wait for the first trial, with no legend of nothing. The limits read as
people write them ("2,000", not "2.00e+3 count"), their checkboxes where the other fields' inputs start;
a limit typed in its box ("1.2k") moves the plot's budget line at once, before Start. Check budget answers
a parameter limit and a FLOP limit under their sliders (one reachable, one not); the user unticks the
unreachable one and presses Start; the plots the browser holds then draw the budget line at the limit,
named in the legend, and mark the trials over it (red crosses, "over budget, not trained"), every one of
them over the limit and every other within it; Start is enabled again as the search says it is complete.
Checked on the Bokeh documents the page holds: what the browser received and draws. Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nas_workbench.testing.jupyter import JupyterServer, open_notebook, run_all_cells, serve_notebook

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
N_TRIALS = 10
PARAMS_LIMIT = 1200
FIRST_LIMIT = 2000  # the notebook's, edited to PARAMS_LIMIT in the form

NOTEBOOK_SOURCE = f"""\
import numpy as np
import nas_workbench as nw

rng = np.random.default_rng(0)
x = rng.normal(size=(120, 1, 8, 8)).astype(np.float32)
y = (x[:, :, :, :4].mean(axis=(1, 2, 3)) > 0).astype(np.int64)
tiny = nw.make_task(x, y, name="tiny")


def score(spec, model):
    return {{"accuracy": 1 - 1 / (1 + sum(p.numel() for p in model.parameters()) / 1000)}}


config = nw.SearchConfig(
    space="chain",
    space_options={{"num_stages": 1, "max_depth": 2, "ops": ["conv", "dwsep"], "kernel_sizes": [3],
                   "widths": [16], "strides": [1], "width_ratios": [0.5, 1.0], "stem_channels": 8}},
    strategy="random", objectives=["accuracy", "params"], n_trials={N_TRIALS}, seed=1,
    budget={{"params": {FIRST_LIMIT}, "flops": 10}}, storage="sqlite:///budget.db", study_name="budget",
    profile_metrics=["params", "flops", "macs"],
)
nw.Workbench(config, evaluate=score, data=tiny)
"""

#: The parameter plot as the browser holds it: its budget line, its legend entries and waiting note, and
#: the trials' parameter counts, outcomes and markers.
PLOT_JS = """() => {
  for (const doc of Bokeh.documents) {
    const fig = doc.get_model_by_name("nas_tradeoff_params"), trials = doc.get_model_by_name("nas_trials");
    if (!fig || !trials) continue;
    const legend = fig.below.find((item) => item.type === "Legend");
    return {
      spans: fig.center.filter((item) => item.type === "Span").map((span) => span.location),
      legend: legend.visible ? legend.items.filter((e) => e.visible).map((e) => e.label.value || "field")
                             : [],
      waiting: fig.center.some((item) => item.name === "nas_waiting" && item.visible),
      params: Array.from(trials.data.params),
      status: Array.from(trials.data.status),
      marker: Array.from(trials.data.marker),
      legendField: Array.from(trials.data.legend),
    };
  }
  return null;
}"""


@pytest.fixture(scope="module")
def server(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    with serve_notebook(tmp_path_factory.mktemp("budget"), "budget.ipynb", NOTEBOOK_SOURCE) as running:
        yield running


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    tab = browser.new_page(viewport={"width": 1400, "height": 1600})
    yield tab
    tab.close()


def test_check_budget_answers_counted_limits_and_the_plot_marks_the_trials_over_budget(
    server: JupyterServer, page: Any
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    open_notebook(page, server, "budget.ipynb")
    run_all_cells(page)
    workbench = page.locator(".nas-workbench")
    workbench.wait_for(timeout=60_000)
    page.wait_for_function(f"() => window.Bokeh && ({PLOT_JS})() !== null", timeout=60_000)
    before = page.evaluate(PLOT_JS)
    assert before["waiting"] and before["params"] == []  # the plots wait for the first trial...
    assert before["legend"] == [f"budget {FIRST_LIMIT:,} parameters"]  # ...with no entry of nothing
    assert before["spans"] == [FIRST_LIMIT]

    workbench.locator(".lm-TabBar-tab", has_text="Objectives & budget").click()
    limits = workbench.locator(".nas-limit input")
    shown = limits.evaluate_all("(boxes) => boxes.map((box) => box.value)")
    assert shown[:3] == [f"{FIRST_LIMIT:,}", "10", "100M"], shown  # never "2.00e+3"

    def limit_row(name: str) -> Any:  # the limit's name, checkbox, slider, box and unit
        return workbench.locator(".widget-hbox", has_text=name).filter(has=page.locator(".nas-limit")).first

    checkbox = limit_row("Parameters").locator("input[type=checkbox]").bounding_box()
    device = workbench.locator(".widget-dropdown", has_text="device").first.locator("select").bounding_box()
    assert checkbox and device and abs(checkbox["x"] - device["x"]) <= 4, (checkbox, device)  # lined up
    limits.first.fill("1.2k")
    limits.first.press("Enter")  # the line follows the edit before Start
    page.wait_for_function(f"() => ({PLOT_JS})().spans[0] === {PARAMS_LIMIT}", timeout=60_000)
    assert page.evaluate(PLOT_JS)["legend"] == [f"budget {PARAMS_LIMIT:,} parameters"]
    workbench.locator("button.widget-button", has_text="Check budget").click()
    params_line = workbench.locator(".widget-html", has_text="budget.params").or_(
        workbench.locator(".widget-html", has_text="reachable: 1,200 parameters")
    )
    flops_line = workbench.locator(".widget-html", has_text="unreachable: budget.flops")
    flops_line.wait_for(timeout=120_000)
    assert params_line.first.inner_text().startswith("reachable"), params_line.first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "budget-checked.png"), full_page=True)

    limit_row("FLOPs (multiply-add = 2)").locator("input[type=checkbox]").uncheck()  # the user's fix
    flops_line.wait_for(state="hidden", timeout=30_000)  # the answer was for the limit before the edit
    workbench.locator("button.widget-button", has_text="Start").click()
    workbench.locator(".widget-html", has_text="Search complete").wait_for(timeout=180_000)
    start = workbench.locator("button.widget-button", has_text="Start")
    page.wait_for_function(  # enabled with the message, not after the final plots are re-sent (seconds)
        "(button) => !button.disabled", arg=start.element_handle(), timeout=1_000
    )
    page.wait_for_function(f"() => ({PLOT_JS})().params.length === {N_TRIALS}", timeout=30_000)
    after = page.evaluate(PLOT_JS)
    page.screenshot(path=str(ARTIFACTS / "budget-searched.png"), full_page=True)
    assert not after["waiting"] and after["spans"] == [PARAMS_LIMIT]
    assert f"budget {PARAMS_LIMIT:,} parameters" in after["legend"]
    over = [i for i, status in enumerate(after["status"]) if status == "infeasible"]
    assert over and len(over) < N_TRIALS, after["status"]  # some trials on each side of the limit
    for i, params in enumerate(after["params"]):
        if i in over:
            assert params > PARAMS_LIMIT and after["marker"][i] == "x"
            assert after["legendField"][i] == "over budget, not trained"
        else:
            assert params <= PARAMS_LIMIT and after["marker"][i] == "circle"
