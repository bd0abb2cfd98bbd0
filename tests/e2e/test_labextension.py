"""The JupyterLab extension in a real browser: Debian's Chromium, driven by Playwright, against a real
JupyterLab with the built extension and the server extension, after a real (tiny) search.

Needs the extension built (``cd labextension && npm ci && npm run build``) and ``/usr/bin/chromium``
(``apt-get install -y chromium``). Without Chromium the test skips, except in CI (``CI=true``), where it
fails. A failing test leaves a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from optuna.trial import TrialState
from playwright.sync_api import expect, sync_playwright

import nas_workbench as nw

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "nas_workbench" / "labextension"
STUDY = "e2e-search"
TIMEOUT_MS = 20_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = (
            "Chromium is missing: apt-get install -y chromium (the browser test drives /usr/bin/chromium)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _jupyter_path(home: Path) -> Path:
    """A Jupyter data folder holding the extension the repository built (ahead of an installed copy)."""
    if not (BUILT / "package.json").exists():
        pytest.fail("the JupyterLab extension is not built: cd labextension && npm ci && npm run build")
    data = home / "data"
    (data / "labextensions").mkdir(parents=True)
    (data / "labextensions" / "nas-workbench").symlink_to(BUILT, target_is_directory=True)
    return data


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on a free port with the built extension; yields its URL (with token) and root."""
    home = tmp_path_factory.mktemp("jupyter")
    root = home / "root"
    root.mkdir()
    config = home / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"nas_workbench.server": True}}})
    )
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_PATH": str(_jupyter_path(home)),
        "JUPYTER_DATA_DIR": str(home / "user-data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--allow-root",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ]
    log = (home / "server.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{(home / 'server.log').read_text()[-3000:]}")
                time.sleep(0.25)
        yield f"{base}/lab?token={token}", root
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def page(chromium: str, lab: tuple[str, Path]) -> Iterator[object]:
    url, _ = lab
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        page.goto(url)
        page.wait_for_selector(".jp-LauncherCard")
        yield page
        browser.close()


def test_new_nas_search_from_the_launcher_creates_the_template_notebook(page, lab):
    _, root = lab
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
    _, root = lab
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
