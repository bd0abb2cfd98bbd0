"""The system Chromium for browser tests, launched once per module; a failing test leaves a screenshot of
its page in test-artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nas_workbench.testing.jupyter import CHROMIUM_ARGS, FRONTENDS, chromium_path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

#: Notebook 7 takes the same path as JupyterLab; it runs with the slow checks (`make test-slow`) to keep the
#: default suite inside its 15 minutes.
FRONTEND_PARAMS = [
    pytest.param(name, marks=pytest.mark.slow) if name == "notebook" else name for name in FRONTENDS
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "page" in getattr(item, "fixturenames", ()):
        page = item.funcargs.get("page")  # type: ignore[attr-defined]
        if page is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"{item.name}.png", full_page=True)


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium; without it the test skips, except in CI (``CI=true``), where it fails."""
    path = chromium_path()
    if path is None:
        reason = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: the browser tests must run in CI")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    """Headless Chromium driven by Playwright (never ``playwright install``: the system browser)."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
