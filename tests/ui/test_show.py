"""`nw.show` puts a Bokeh figure in a notebook output with the server-side BokehJS loader."""

from __future__ import annotations

import base64
import io

import pytest
from bokeh.plotting import figure
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

import nas_workbench as nw
from nas_workbench.ui._bokehjs import LOAD_MIME_TYPE
from nas_workbench.ui._show import StaticImage
from nas_workbench.viz import static


def test_shows_the_loader_then_the_figure_as_a_widget() -> None:
    InteractiveShell.instance()
    plot = figure()
    source = plot.scatter([1, 2], [3, 4]).data_source
    with capture_output() as captured:
        returned = nw.show(plot)
    assert returned is None  # as a cell's last line, nothing is displayed a second time
    loader, shown = captured.outputs
    assert LOAD_MIME_TYPE in loader.data and "nas-workbench/bokehjs" in loader.data[LOAD_MIME_TYPE]
    assert "application/vnd.jupyter.widget-view+json" in shown.data
    assert shown.data["text/plain"].startswith("PlotModel(render_bundle=")
    assert source.data["x"] == [1, 2]


def test_refuses_what_is_not_bokeh() -> None:
    with pytest.raises(TypeError, match="takes a Bokeh figure or layout, not dict"):
        nw.show({"x": [1]})


def test_the_loader_carries_a_static_image_for_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    """nbconvert, GitHub and nbviewer show the loader output's PNG; JupyterLab runs the loader instead."""
    monkeypatch.delenv(static.SETTING, raising=False)
    if not static.available():
        pytest.skip("no renderer: needs Playwright and Debian's chromium")
    InteractiveShell.instance()
    plot = figure(width=300, height=200)
    plot.scatter([1, 2], [3, 4])
    with capture_output() as captured:
        nw.show(plot)
    loader, shown = captured.outputs
    image = Image.open(io.BytesIO(base64.b64decode(loader.data["image/png"])))
    assert image.size == (300, 200) and "image/png" not in shown.data


def test_no_image_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(static.SETTING, "0")
    InteractiveShell.instance()
    with capture_output() as captured:
        nw.show(figure())
    assert all("image/png" not in output.data for output in captured.outputs)


def test_a_failed_rendering_leaves_the_live_plot(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A browser that crashes or times out costs the image, not the plot, unless the image is required."""

    def crash(obj: object, timeout: float = 60.0) -> bytes:
        raise RuntimeError("browser closed")

    monkeypatch.setattr(static, "png", crash)
    monkeypatch.delenv(static.SETTING, raising=False)
    InteractiveShell.instance()
    with capture_output() as captured:
        nw.show(figure())
    loader, shown = captured.outputs
    assert "image/png" not in loader.data and "application/vnd.jupyter.widget-view+json" in shown.data
    assert "no static image of the figure (RuntimeError: browser closed)" in caplog.text
    monkeypatch.setenv(static.SETTING, "1")
    with pytest.raises(RuntimeError, match="browser closed"), capture_output():
        nw.show(figure())


def test_a_workbench_shown_starts_no_browser_until_a_search_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The renderer's Chromium (about 5 s of CPU) starts when a search does (`StaticImage.prepare`, from
    `Workbench._launch`), not for every workbench displayed."""
    warmed: list[float] = []
    monkeypatch.setattr(static, "warm", lambda timeout=60.0: warmed.append(timeout))
    InteractiveShell.instance()
    with capture_output() as captured:
        nw.Workbench()._ipython_display_()
    assert any(LOAD_MIME_TYPE in output.data for output in captured.outputs) and warmed == []
    image = StaticImage()
    image.prepare()  # not shown: no image will be drawn
    assert warmed == []
    with capture_output():
        image.show(None)
    image.prepare()
    assert len(warmed) == 1
