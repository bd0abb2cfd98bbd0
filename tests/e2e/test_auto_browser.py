"""The default strategy, ``"auto"``, in a real JupyterLab in Debian's Chromium: the form offers it and says
what it would run; Start resolves it and says to what, while the search runs and when it ends; the study
stores the setting as given and the strategy it ran. The screenshot goes to
``test-artifacts/workbench-auto.png``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest

from nas_workbench.engine.study_record import read_record
from nas_workbench.testing.jupyter import JupyterServer, open_notebook, run_all_cells, serve_notebook
from tests.e2e.test_workbench_browser import NOTEBOOK_SOURCE

#: 17 s in JupyterLab; tests/ui/test_workbench.py and test_form.py cover the same path without a browser.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
N_TRIALS = 6

SOURCE = (  # the config names no strategy: "auto", the default
    NOTEBOOK_SOURCE.replace('strategy="random", objectives=["accuracy", "params"], n_trials=60',
                            f'objectives=["accuracy"], n_trials={N_TRIALS}')
    .replace('storage="sqlite:///e2e.db", study_name="e2e"', 'storage="sqlite:///auto.db", study_name="auto"')
    .replace("time.sleep(0.15)", "time.sleep(0.05)")
)  # fmt: skip


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A browser tab (conftest.py screenshots it on failure)."""
    tab = browser.new_page(viewport={"width": 1400, "height": 1600})
    yield tab
    tab.close()


def test_auto_is_offered_resolved_on_start_shown_and_stored(chromium: str, tmp_path: Path, page: Any) -> None:
    assert "strategy=" not in SOURCE and 'study_name="auto"' in SOURCE
    with serve_notebook(tmp_path, "auto.ipynb", SOURCE) as server:
        _check_auto(server, page)


def _check_auto(server: JupyterServer, page: Any) -> None:
    open_notebook(page, server, "auto.ipynb")
    run_all_cells(page)
    workbench = page.locator(".nas-workbench")
    workbench.wait_for(timeout=45_000)
    workbench.locator(".lm-TabBar-tab", has_text="Strategy").click()
    strategy = workbench.locator(".widget-dropdown", has_text="Strategy").locator("select")
    assert strategy.input_value() == "auto"  # the form offers it, selected by default
    assert "auto" in strategy.locator("option").all_inner_texts()
    advice = workbench.locator(".widget-html", has_text="auto runs")
    advised = re.search(r"auto runs (\w+)", advice.inner_text())
    assert advised, advice.inner_text()

    workbench.locator("button.widget-button", has_text="Start").click()
    running = workbench.locator(".widget-html", has_text="Strategy auto runs")
    running.wait_for(timeout=60_000)
    resolved = re.search(r"Strategy auto runs (\w+) because ", running.inner_text())
    assert resolved and resolved.group(1) == advised.group(1), running.inner_text()  # as the form said
    done = workbench.locator(".widget-html", has_text="Search complete")
    done.wait_for(timeout=120_000)
    assert f"Strategy auto ran {resolved.group(1)}." in done.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "workbench-auto.png"))

    study = optuna.load_study(study_name="auto", storage=f"sqlite:///{server.root / 'auto.db'}")
    record = read_record(study)
    assert record is not None and record.config["strategy"] == "auto"  # the setting, as given
    assert record.strategy == resolved.group(1)  # and what it ran
    assert len(study.trials) == N_TRIALS
