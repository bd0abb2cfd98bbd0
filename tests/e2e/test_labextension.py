"""The JupyterLab extension in a real browser: Debian's Chromium, driven by Playwright, against a real
JupyterLab with the built extension and the server extension, after a real (tiny) search.

Needs the extension built (``cd labextension && npm ci && npm run build``) and ``/usr/bin/chromium``
(``apt-get install -y chromium``). Without Chromium the test skips, except in CI (``CI=true``), where it
fails. A failing test leaves a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from optuna.trial import TrialState
from playwright.sync_api import expect

import nas_workbench as nw
from nas_workbench.testing.jupyter import JupyterServer, jupyter_server
from nas_workbench.testing.tinyphone import accuracy, search_on_tinyphone
from nas_workbench.testing.workers import score

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "nas_workbench" / "labextension"
STUDY = "e2e-search"
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def lab(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """JupyterLab with the extension this repository built, ahead of any installed copy."""
    if not (BUILT / "package.json").exists():
        pytest.fail("the JupyterLab extension is not built: cd labextension && npm ci && npm run build")
    home = tmp_path_factory.mktemp("jupyter")
    (home / "data" / "labextensions").mkdir(parents=True)
    (home / "data" / "labextensions" / "nas-workbench").symlink_to(BUILT, target_is_directory=True)
    (home / "root").mkdir()
    with jupyter_server(home / "root", "lab", jupyter_path=home / "data") as server:
        yield server


@pytest.fixture(scope="module")
def page(browser: Any, lab: JupyterServer) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page.goto(f"{lab.url}/lab?token={lab.token}")
    page.wait_for_selector(".jp-LauncherCard")
    yield page
    page.close()


def test_new_nas_search_from_the_launcher_creates_the_template_notebook(page, lab):
    root = lab.root
    page.click('.jp-LauncherCard[data-category="NAS Workbench"]:has-text("New NAS search")')
    page.wait_for_selector('.lm-TabBar-tab.jp-mod-current:has-text("nas_search.ipynb")')
    page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(2).wait_for()
    notebook = nbformat.read(root / "nas_search.ipynb", as_version=4)
    assert [c.source for c in notebook.cells[1:]] == [
        "import nas_workbench as nw\n\n"
        'config = nw.SearchConfig(space="chain", strategy="tpe", objectives=["accuracy", "latency_ms"], '
        'budget={"latency_ms": 1.0}, n_trials=30)',
        "nw.Workbench(config)",
    ]


def test_panel_follows_a_real_search_and_shows_its_details(page, lab):
    root = lab.root
    # a real search in the background: 3 trials of one epoch on a third of digits
    config = nw.SearchConfig(
        space="chain",
        strategy="random",
        n_trials=3,
        budget={"latency_ms": 50.0},
        fidelity=nw.Fidelity(epochs=1, subset=0.3),
        storage=f"sqlite:///{root / 'runs' / 'nas_workbench.db'}",
        study_name=STUDY,
        threads=1,
    )
    run = nw.search(config).start()
    try:
        deadline = time.monotonic() + 30
        while not run.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            assert run.running and time.monotonic() < deadline, f"no trial started: {run.error!r}"
            time.sleep(0.05)
        page.click('.lm-TabBar-tab[data-id="nas-workbench-panel"]')
        status = page.locator(f'.nasw-StudyRow[data-study="{STUDY}"] .nasw-Status')
        expect(status).to_have_text("running")
        # no click: the panel polls while the search runs
        expect(status).to_have_text("finished", timeout=60_000)
    finally:
        run.stop(wait=True)
    assert run.error is None
    row = page.locator(f'.nasw-StudyRow[data-study="{STUDY}"]')
    expect(row).to_contain_text("3/3 trials")

    row.click()
    details = page.locator(".nasw-Details")
    details.locator(".nasw-Pareto").wait_for()
    expect(details.locator(".nasw-DetailsTitle")).to_contain_text(STUDY)
    assert details.locator(".nasw-Diagram .nasw-Block").count() >= 5  # stem, 3+ blocks, head
    expect(details.locator(".nasw-Profile")).to_contain_text("latency_ms")

    details.get_by_role("button", name="Open in notebook").click()
    page.wait_for_selector(f'.lm-TabBar-tab.jp-mod-current:has-text("{STUDY}.ipynb")')
    code = nbformat.read(root / f"{STUDY}.ipynb", as_version=4).cells[-1].source
    assert code == (
        f'import nas_workbench as nw\nwb = nw.Workbench.load("{STUDY}", '
        'storage="sqlite:///runs/nas_workbench.db")\nwb'
    )


def listed_row(page: Any, study: str) -> Any:
    """The panel's row of ``study``, a new study written outside the runs folder: the panel's list shown
    (its tab opened, back from an earlier test's details), refreshed until the server found it."""
    tab = page.locator('.lm-TabBar-tab[data-id="nas-workbench-panel"]')
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    back = page.get_by_role("button", name="← Studies")
    if back.is_visible():  # the panel still shows the details of a study of an earlier test
        back.click()
    row = page.locator(f'.nasw-StudyRow[data-study="{study}"]')
    deadline = time.monotonic() + 30  # the server searches the root again every 10 s at most
    while not row.count():
        assert time.monotonic() < deadline, f"the study {study!r} was not listed"
        page.get_by_title("Refresh the studies").click()
        page.wait_for_timeout(1000)
    return row


def test_panel_lists_a_study_stored_beside_a_notebook(page, lab):
    """``sqlite:///mine.db`` written from a notebook in a sub-folder, outside the runs folder."""
    folder = lab.root / "project"
    folder.mkdir()
    storage = f"sqlite:///{folder / 'mine.db'}"
    config = nw.SearchConfig(
        space="chain",
        strategy="random",
        objectives=["accuracy", "params"],
        profile_metrics=["params"],
        n_trials=2,
        storage=storage,
        study_name="beside",
    )
    nw.search(config, evaluate=score).run()
    row = listed_row(page, "beside")
    expect(row).to_contain_text("2/2 trials")
    row.click()
    expect(page.locator(".nasw-Details")).to_contain_text("project/mine.db")


def test_panel_shows_the_finalists_verified_on_the_device_without_reopening(
    page, lab, tiny_task, monkeypatch, tmp_path
):
    """``run.verify`` in a notebook cell while the panel shows the study: the measured trials, within and
    over the budget, and the Pareto front's latencies labelled measured or predicted, at the next poll."""
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))  # the device profile: this test's
    folder = lab.root / "device"
    folder.mkdir()
    config = search_on_tinyphone(folder, tiny_task)  # device/study.db, study "phone": 6 trials
    row = listed_row(page, "phone")
    row.click()
    details = page.locator(".nasw-Details")
    details.locator(".nasw-Pareto").wait_for()
    assert details.locator(".nasw-Measured").count() == 0

    run = nw.search(config, evaluate=accuracy, data=tiny_task)  # as a notebook cell would
    choice, runner_up = sorted(run.finalists(2), key=lambda f: f.rank)
    run.verify([choice.arch, runner_up.arch], [9.0, 8.0])  # the choice: over the 8.5 ms budget there

    measured = details.locator(".nasw-Measured")  # no click: the panel polls a shown study
    expect(measured).to_be_visible(timeout=15_000)
    expect(details).to_contain_text("Measured on tinyphone (1 within, 1 over 8.5 ms)")
    expect(measured.locator("tr.nasw-mod-over")).to_contain_text(f"{choice.number}9 msOVER")
    expect(measured.locator("tr.nasw-mod-within")).to_contain_text(f"{runner_up.number}8 mswithin")
    pareto = details.locator(".nasw-Pareto")
    expect(pareto).to_contain_text("8 ms, measured on tinyphone")  # one objective: the runner-up alone
    expect(pareto).not_to_contain_text("9 ms, measured")  # measured over: off the front
    others = "The other trials' latency is predicted for tinyphone from 10 measurements."
    expect(details).to_contain_text(others)
    page.get_by_role("button", name="← Studies").click()
    expect(row).to_contain_text("measured on tinyphone: 1 within, 1 over")
