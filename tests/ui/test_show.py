"""`nw.show` puts a Bokeh figure in a notebook output with the server-side BokehJS loader."""

from __future__ import annotations

import pytest
from bokeh.plotting import figure
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import nas_workbench as nw
from nas_workbench.ui._bokehjs import LOAD_MIME_TYPE


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
