"""`show`: put any Bokeh figure or layout in a notebook output, with BokehJS from the Jupyter server.

`bokeh.io.show` needs ``output_notebook()``, which loads BokehJS from a CDN (absent offline and on many
clusters) or inlines 8 MB of it into every saved notebook. `show` instead displays the same loader the
workbench uses (about a kilobyte, see `nas_workbench.ui._bokehjs`) and the figure as a jupyter_bokeh
widget, so tutorials and users' own notebooks plot the way the workbench does.

A reader of the saved notebook who does not run it (nbconvert's HTML, GitHub, nbviewer) cannot draw the
widget, so the loader's output also carries a PNG of the figure (`nas_workbench.viz.static`) when a
renderer is installed. Front ends pick one MIME type per output: JupyterLab and Notebook 7 run the loader
(jupyter_bokeh's renderer ranks above images) and show the live widget below it; the others, which know
neither the loader's type nor the widget's state, show the image.
"""

from __future__ import annotations

import base64
import logging
import os
import uuid
from collections.abc import Sequence
from typing import Any

from bokeh.model import Model

from nas_workbench.ui._bokeh import PlotModel
from nas_workbench.ui._bokehjs import loader_bundle
from nas_workbench.viz import static

__all__ = ["StaticImage", "show"]

logger = logging.getLogger("nas_workbench")


class StaticImage:
    """One output that loads BokehJS for the widgets after it and holds a PNG of their figures.

    Args:
        bundles: The BokehJS bundles the widgets need.
    """

    def __init__(self, bundles: Sequence[str] = ("bokeh", "bokeh-widgets")) -> None:
        self.bundles = tuple(bundles)
        self.display_id = uuid.uuid4().hex
        self._shown = False

    def bundle(self, obj: Model | None) -> dict[str, Any]:
        """The loader bundle, with ``image/png`` of ``obj`` as it is now where a renderer is available (a
        rendering that fails is logged and leaves the image out, unless ``NAS_WORKBENCH_STATIC_IMAGES=1``)."""
        bundle: dict[str, Any] = loader_bundle(self.bundles)
        try:
            image = static.png(obj) if obj is not None else None
        except Exception as error:  # the live plot matters more than its copy, unless the copy is required
            if os.environ.get(static.SETTING) == "1":
                raise
            logger.warning("no static image of the figure (%s: %s)", type(error).__name__, error)
            image = None
        if image is not None:
            bundle["image/png"] = base64.b64encode(image).decode("ascii")
        return bundle

    def show(self, obj: Model | None) -> None:
        """Display the output (with no image when ``obj`` is None: nothing drawn yet)."""
        from IPython.display import display

        display(self.bundle(obj), raw=True, display_id=self.display_id)
        self._shown = True

    def prepare(self) -> None:
        """Start the renderer now, in the background, for an image that a widget's callback will draw
        later (a search's final plots): `nas_workbench.viz.static.warm` says why not from that callback.

        Called when a search starts rather than when the output is shown, so that a workbench displayed
        and never searched with does not start Chromium (about 5 s of CPU).
        """
        if self._shown:
            static.warm()

    def update(self, obj: Model) -> None:
        """Replace the image with one of ``obj`` as it is now (a search's final plots), if shown."""
        if self._shown and static.available():
            from IPython.display import update_display

            update_display(self.bundle(obj), raw=True, display_id=self.display_id)


def show(obj: Model) -> None:
    """Display ``obj`` (a Bokeh figure or layout, e.g. from `nas_workbench.viz`) in the notebook.

    Later changes to the figure's data sources (``source.stream``) from the kernel's thread update the
    plot in place; the static image shows the figure as it was when shown. Returns nothing, so that
    ``nw.show(fig)`` as a cell's last line displays it once.
    """
    if not isinstance(obj, Model):
        raise TypeError(
            f"show() takes a Bokeh figure or layout, not {type(obj).__name__}; build one with "
            "nas_workbench.viz (e.g. nw.viz.tradeoff_figure) or bokeh.plotting.figure"
        )
    from IPython.display import display

    widget = PlotModel(obj)  # first: it gives a figure without a document its own, as rendering needs
    StaticImage().show(obj)
    display(widget)
