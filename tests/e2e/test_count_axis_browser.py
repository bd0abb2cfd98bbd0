"""Count axes (parameters, FLOPs, MACs) read as 200k, 1.5m: labelled by BokehJS in Chromium, where
NumeralTickFormatter's numbro formats the ticks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bokeh.embed import file_html
from bokeh.resources import INLINE

from nas_workbench.viz import TrialTable, make_sources, study_figures
from tests.viz.test_figures import result

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    tab = browser.new_page(viewport={"width": 900, "height": 1200})
    yield tab
    tab.close()


def test_a_narrow_count_axis_labels_each_tick_apart(page: Any, tmp_path: Path) -> None:
    """Parameter counts of 9,876 to 10,040 under a 10k budget (tutorial 08 in JupyterLab) were ticked
    '9.9k 9.9k 10k 10k' (one decimal at most); each tick reads apart, and wide ranges read as before."""
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    for number, params in enumerate((9_876, 9_900, 10_040)):
        trial = result(number, "ok", 0.9 + number / 100, 1.0)
        trial.metrics["params"] = {"value": params, "unit": "count", "method": "counted", "source": "torch"}
        table.extend([trial])
    trials, front = make_sources(table)
    (params,) = [f for f in study_figures(trials, front, table.objectives, {"params": 10_000}, ["params"])
                 if f.name == "nas_tradeoff_params"]  # fmt: skip
    path = tmp_path / "params.html"
    path.write_text(file_html(params, INLINE))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    labels = page.evaluate(
        """(ticks) => {
             const fig = Bokeh.documents[0].get_model_by_name("nas_tradeoff_params");
             const axis = fig.below.find((model) => "formatter" in model);
             return ticks.map((row) => axis.formatter.doFormat(row, {loc: 0}));
           }""",
        [[9850, 9900, 9950, 10000, 10050], [150_000, 200_000, 250_000], [1_200_000, 1_210_000, 1_220_000]],
    )
    narrow, wide, millions = labels
    assert len(set(narrow)) == len(narrow), narrow
    assert wide == ["150k", "200k", "250k"], wide
    assert len(set(millions)) == len(millions), millions
