"""Browser tests leave a screenshot of the page in test-artifacts/ when they fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "page" in getattr(item, "fixturenames", ()):
        page = item.funcargs.get("page")  # type: ignore[attr-defined]
        if page is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"{item.name}.png", full_page=True)
