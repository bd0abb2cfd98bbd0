"""`show`: put any Bokeh figure or layout in a notebook output, with BokehJS from the Jupyter server.

`bokeh.io.show` needs ``output_notebook()``, which loads BokehJS from a CDN (absent offline and on many
clusters) or inlines 8 MB of it into every saved notebook. `show` instead displays the same loader the
workbench uses (about a kilobyte, see `nas_workbench.ui._bokehjs`) and the figure as a jupyter_bokeh
widget, so tutorials and users' own notebooks plot the way the workbench does.
"""

from __future__ import annotations

from bokeh.model import Model

from nas_workbench.ui._bokeh import PlotModel
from nas_workbench.ui._bokehjs import loader_bundle

__all__ = ["show"]


def show(obj: Model) -> None:
    """Display ``obj`` (a Bokeh figure or layout, e.g. from `nas_workbench.viz`) in the notebook.

    Later changes to the figure's data sources (``source.stream``) from the kernel's thread update the
    plot in place. Returns nothing, so that ``nw.show(fig)`` as a cell's last line displays it once.
    """
    if not isinstance(obj, Model):
        raise TypeError(
            f"show() takes a Bokeh figure or layout, not {type(obj).__name__}; build one with "
            "nas_workbench.viz (e.g. nw.viz.tradeoff_figure) or bokeh.plotting.figure"
        )
    from IPython.display import display

    display(loader_bundle(("bokeh", "bokeh-widgets")), raw=True)
    display(PlotModel(obj))
