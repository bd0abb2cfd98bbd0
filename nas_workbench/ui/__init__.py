"""The notebook UI: `Workbench`, an ipywidgets form with live Bokeh plots (the ``notebook`` extra).

>>> import nas_workbench as nw
>>> nw.Workbench()                                    # configure and start a search
>>> nw.Workbench.load("chain-tpe-seed0")              # open a stored study, running or finished
>>> nw.show(nw.viz.tradeoff_figure(...))              # any Bokeh figure, BokehJS from the server
"""

from __future__ import annotations

from nas_workbench.exceptions import MissingDependencyError

try:
    import ipywidgets  # noqa: F401
    import jupyter_bokeh  # noqa: F401
except ImportError as error:
    raise MissingDependencyError(
        f"The notebook workbench needs {error.name}: pip install 'nas-workbench[notebook]'"
    ) from None

from nas_workbench.ui._options import WorkbenchOptions
from nas_workbench.ui._show import show
from nas_workbench.ui.workbench import Workbench

__all__ = ["Workbench", "WorkbenchOptions", "show"]
