"""A proxy-guided search in a real JupyterLab, in Debian's Chromium: its own figures (pool, prior against
the trained trials, trust per estimator) appear below the study's plots while it runs and hold every trial
at the end. The screenshot goes to ``test-artifacts/workbench-proxy-guided.png``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nas_workbench.testing.jupyter import (
    JupyterServer,
    open_notebook,
    plot_points,
    run_all_cells,
    serve_notebook,
    wait_plot_points,
)
from tests.e2e.test_workbench_browser import NOTEBOOK_SOURCE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
N_TRIALS = 12

SOURCE = (
    NOTEBOOK_SOURCE.replace('strategy="random", objectives=["accuracy", "params"], n_trials=60',
                            f'strategy="proxy_guided", objectives=["accuracy"], n_trials={N_TRIALS}')
    .replace('study_name="e2e"', 'study_name="guided"')
    .replace("time.sleep(0.15)", "time.sleep(0.3)")
)  # fmt: skip


@pytest.fixture(scope="module")
def server(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    with serve_notebook(tmp_path_factory.mktemp("lab"), "guided.ipynb", SOURCE) as running:
        yield running


def test_a_proxy_guided_search_shows_its_pool_prior_and_trust(server: JupyterServer, browser: Any) -> None:
    assert 'strategy="proxy_guided"' in SOURCE
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    open_notebook(page, server, "guided.ipynb")
    run_all_cells(page)
    workbench = page.locator(".nas-workbench")
    workbench.wait_for(timeout=45_000)
    workbench.locator("button.widget-button", has_text="Start").click()
    assert wait_plot_points(page, "> 0", name="nas_proxy_trials", timeout_ms=120_000) > 0  # while it runs
    workbench.locator(".widget-html", has_text="Search complete").wait_for(timeout=180_000)
    assert wait_plot_points(page, f"=== {N_TRIALS}", name="nas_proxy_trials") == N_TRIALS
    assert wait_plot_points(page, f"=== {N_TRIALS}", name="nas_proxy_correlations") == N_TRIALS
    assert plot_points(page) == N_TRIALS  # the study's own plots kept every trial beside the new figures
    pool = workbench.locator("p", has_text="Proxy-guided search")  # the pool's paragraph
    assert "a pool of 20 candidates" in pool.inner_text() and "12 trained within budget" in pool.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(3000)  # BokehJS repaints the canvases after the data arrived
    page.screenshot(path=str(ARTIFACTS / "workbench-proxy-guided.png"))
    pool.evaluate("element => element.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(ARTIFACTS / "workbench-proxy-guided-figures.png"))
    (ARTIFACTS / "workbench-proxy-guided-console.txt").write_text("\n".join(console))
    page.close()
