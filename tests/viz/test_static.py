"""`viz.static.png`: a figure drawn offline by the system Chromium, for readers of a saved notebook."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from bokeh.embed import json_item
from bokeh.plotting import figure
from PIL import Image

from nas_workbench.exceptions import MissingDependencyError
from nas_workbench.viz import static


@pytest.fixture
def renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering on (the suite turns it off elsewhere); skips without Chromium, except in CI."""
    monkeypatch.delenv(static.SETTING, raising=False)
    if not static.available():
        reason = "no renderer: needs Playwright and Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.mark.usefixtures("renderer")
def test_draws_the_figure_at_its_size() -> None:
    plot = figure(width=320, height=240, toolbar_location=None)
    plot.scatter([1, 2, 3], [1, 3, 2], size=30, color="#ff0000")
    image = Image.open(io.BytesIO(static.png(plot) or b"")).convert("RGB")
    assert image.size == (320, 240)
    pixels = np.asarray(image).astype(int)
    red = int(((pixels[..., 0] > 200) & (pixels[..., 1] < 60) & (pixels[..., 2] < 60)).sum())
    assert red > 3 * 400, red  # three discs 30 px across: the data is drawn, not only the axes


@pytest.mark.usefixtures("renderer")
def test_a_stretching_figure_takes_a_notebook_width() -> None:
    plot = figure(height=200, sizing_mode="stretch_width")
    plot.line([1, 2], [1, 2])
    image = Image.open(io.BytesIO(static.png(plot) or b""))
    assert 800 <= image.size[0] <= 1000 and image.size[1] == 200


@pytest.mark.usefixtures("renderer")
def test_a_figure_with_python_callbacks_is_drawn_without_bokehs_standalone_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The workbench's figures have Python callbacks, which an image does not run: Bokeh's warning that they
    cannot work in standalone output was a red block in the notebook. Other standalone output keeps it."""
    plot = figure(width=200, height=150, toolbar_location=None)
    plot.scatter([1, 2], [1, 2]).data_source.selected.on_change("indices", lambda attr, old, new: None)
    with caplog.at_level("WARNING", logger="bokeh"):
        assert static.png(plot)
        assert not [r for r in caplog.records if "real Python" in r.getMessage()]
        json_item(plot)
    assert [r for r in caplog.records if "real Python" in r.getMessage()]


def test_off_when_set_to_0(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(static.SETTING, "0")
    assert not static.available()
    assert static.png(figure()) is None


def test_a_missing_renderer_is_an_error_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(static.SETTING, "1")
    monkeypatch.setenv("PATH", "/nonexistent")  # no chromium on it
    with pytest.raises(MissingDependencyError, match="apt-get install chromium"):
        static.available()


def test_refuses_a_bad_setting_and_what_is_not_bokeh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(static.SETTING, "yes")
    with pytest.raises(ValueError, match="NAS_WORKBENCH_STATIC_IMAGES='yes': use 0"):
        static.available()
    with pytest.raises(TypeError, match="takes a Bokeh figure or layout, not dict"):
        static.png({"x": [1]})  # type: ignore[arg-type]


@pytest.mark.slow  # two Chromium starts: about 14 s
@pytest.mark.usefixtures("renderer")
def test_a_browser_that_failed_is_replaced_by_a_fresh_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A start that fails half-way (Chromium closed its page once in a busy JupyterLab kernel) leaves
    Playwright's loop running in the renderer's thread; the next figure must still be drawn."""
    plot = figure(width=200, height=150, toolbar_location=None)
    plot.line([1, 2], [1, 2])
    item = dict(json_item(plot))
    browser = static._Browser()
    start = static._Browser._start

    def failing(self: static._Browser, timeout: float) -> None:
        start(self, timeout)  # Playwright and Chromium running, then the page is lost mid-call
        page, self._page = self._page, None
        page.context.browser.close()
        page.set_content("<p>gone</p>")  # raises TargetClosedError, as it did in the kernel

    monkeypatch.setattr(static._Browser, "_start", failing)
    with pytest.raises(Exception, match="closed"):
        browser.render(item, 30.0)
    monkeypatch.setattr(static._Browser, "_start", start)
    try:
        assert browser.render(item, 30.0).startswith(b"\x89PNG")
    finally:
        browser.close()
