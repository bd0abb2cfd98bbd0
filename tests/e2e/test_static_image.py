"""A figure's static PNG in JupyterLab 4 and Notebook 7: the live plot shows and the image stays hidden.

`nw.show` puts the PNG in the output that loads BokehJS, for readers of the saved notebook (nbconvert,
GitHub, nbviewer); in the front ends that run that output (jupyter_bokeh's renderer ranks above images)
the reader must see the live plot once, not the plot and a copy of it. Needs Debian's chromium.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import v4

from nas_workbench.testing.jupyter import (
    jupyter_server,
    open_notebook,
    run_all_cells,
    wait_plot_points,
)
from tests.e2e.conftest import FRONTEND_PARAMS

pytestmark = pytest.mark.browser

SOURCE = """\
import os
os.environ["NAS_WORKBENCH_STATIC_IMAGES"] = "1"  # a renderer is required: no image is an error
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
import nas_workbench as nw

fig = figure(width=400, height=250)
fig.scatter("x", "y", source=ColumnDataSource({"x": [1, 2, 3], "y": [3, 1, 2]}, name="nas_trials"))
nw.show(fig)
"""


@pytest.mark.parametrize("frontend", FRONTEND_PARAMS)
def test_the_live_plot_shows_and_its_image_stays_hidden(frontend: str, browser: Any, tmp_path: Path) -> None:
    if frontend == "notebook":
        pytest.importorskip("notebook", reason="Notebook 7 is not installed (pip install notebook)")
    notebook = v4.new_notebook(cells=[v4.new_code_cell(SOURCE)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "static.ipynb"
    nbformat.write(notebook, path)
    with jupyter_server(tmp_path, frontend) as server:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        try:
            open_notebook(page, server, path.name)
            run_all_cells(page)
            assert wait_plot_points(page, "=== 3", timeout_ms=90_000) == 3  # the live plot, drawn by BokehJS
            page.wait_for_timeout(1000)
            assert page.locator(".jp-RenderedImage").count() == 0  # the PNG is not shown beside it
            page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")
            page.wait_for_function(
                "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=15_000
            )
        finally:
            page.close()
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert sum("image/png" in output.get("data", {}) for output in outputs) == 1  # saved for other readers
