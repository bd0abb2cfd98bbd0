"""A proxy-guided search's own figures in the workbench: shown for that strategy only, fed from what its
sampler recorded in the study as trials finish, and again when the study is opened from storage."""

from __future__ import annotations

import asyncio

import optuna
import pytest
from bokeh.document import Document

import nas_workbench as nw
from nas_workbench.engine.records import trial_results
from nas_workbench.export import export_report_notebook
from nas_workbench.ui._controller import read_in_background
from nas_workbench.ui._model import Loaded
from nas_workbench.ui.plots import PlotPanel
from nas_workbench.viz import TrialTable
from tests.strategies.test_proxy_guided import GridSpace, accuracy
from tests.viz.test_proxy import guided


def _rows(panel: PlotPanel, name: str) -> int:
    """Rows of source ``name`` in the proxy widget's synced state (what a saved notebook shows)."""
    assert panel.proxy is not None
    (doc_json,) = panel.proxy.widget.render_bundle["docs_json"].values()
    return len(Document.from_json(doc_json).select_one({"name": name}).data["number"])


def _streamed(panel: PlotPanel, name: str) -> int:
    """Rows of source ``name`` as the kernel holds it (the rendered rows and those streamed since)."""
    assert panel.proxy is not None
    return len(panel.proxy.layout.select_one({"name": name}).data["number"])


def test_the_panel_appears_for_a_proxy_guided_search_and_grows_as_trials_finish() -> None:
    study, space = guided(n_trials=4), GridSpace()
    panel = PlotPanel()
    panel.reset(TrialTable(["accuracy"], ["maximize"]), {}, [])
    panel.new_histories("proxy_guided", "maximize")
    assert panel.proxy is not None
    assert panel.box.children == (panel.widget, panel.proxy.widget)  # placed at once, for the whole run
    assert _rows(panel, "nas_proxy_trials") == 0
    panel.add(trial_results(study), study)  # the first trials name the estimators: drawn anew
    assert _rows(panel, "nas_proxy_trials") == 4
    widget, sent = panel.proxy.widget, []
    panel.proxy.layout.document.on_change(lambda event: sent.append(type(event).__name__))
    for _ in range(6):
        trial = study.ask()
        study.tell(trial, accuracy(space.sample(trial)))
    panel.add(trial_results(study)[4:], study)
    assert _streamed(panel, "nas_proxy_trials") == _streamed(panel, "nas_proxy_correlations") == 10
    assert sorted(sent) == ["ColumnsStreamedEvent"] * 2 + ["ModelChangedEvent"]  # two streams, the text
    assert panel.proxy.widget is widget
    assert _rows(panel, "nas_proxy_trials") == 4  # streamed rows are not in the saved state...
    panel.refresh()  # ...until the end of a run
    assert _rows(panel, "nas_proxy_trials") == _rows(panel, "nas_proxy_correlations") == 10
    panel.new_histories("random", "maximize")  # another strategy: no such figures
    assert panel.proxy is None and panel.box.children == (panel.widget,)


def test_a_stored_proxy_guided_study_is_read_with_its_history() -> None:
    study = guided(n_trials=6)
    config = nw.SearchConfig(strategy="proxy_guided", objectives=["accuracy"], n_trials=6)
    posted: list[object] = []

    def post(item: tuple[int, object]) -> None:
        posted.append(item[1])

    read_in_background(study, config, post, 1).join(60)
    (loaded,) = [item for item in posted if isinstance(item, Loaded)]
    assert loaded.proxy is not None and len(loaded.proxy) == 6 and loaded.dnas is None
    other = nw.SearchConfig(strategy="random", objectives=["accuracy"], n_trials=6)
    posted.clear()
    read_in_background(study, other, post, 1).join(60)
    assert [item.proxy for item in posted if isinstance(item, Loaded)] == [None]


@pytest.mark.slow  # a real search through the engine: its pool is scored with synflow (about 30 s loaded)
def test_workbench_report_and_reload_show_the_proxy_guided_search(make_config, score, wait_for, tmp_path):
    config = make_config(strategy="proxy_guided", objectives=["accuracy"], n_trials=8, study_name="guided")

    async def run() -> nw.Workbench:
        workbench = nw.Workbench(config, evaluate=score)
        workbench.start_button.click()
        await wait_for(lambda: not workbench.searching and "complete" in workbench.message.value)
        return workbench

    workbench = asyncio.run(run())
    assert _rows(workbench.plots, "nas_proxy_trials") == 8  # refreshed at the end of the run
    study = optuna.load_study(study_name="guided", storage=config.storage)

    async def reload() -> nw.Workbench:
        loaded = nw.Workbench.load("guided", config.storage, evaluate=score)
        await wait_for(lambda: loaded.plots.proxy is not None)
        return loaded

    reloaded = asyncio.run(reload())
    assert _rows(reloaded.plots, "nas_proxy_correlations") == 8  # the prior and trust survive a reload
    notebook = export_report_notebook(study, tmp_path / "report.ipynb").read_text()
    assert "## Proxy-guided search" in notebook and "| Trained | Prior (equal trust) |" in notebook
    html = nw.viz.write_report(study, tmp_path / "report.html").read_text()
    assert "nas_proxy_trust" in html and "a pool of 20 candidates" in html
