"""The notebook UI: `Workbench`, an ipywidgets form with live Bokeh plots (the ``notebook`` extra).

>>> import nas_workbench as nw
>>> nw.Workbench()                                    # configure and start a search
>>> nw.Workbench.load("chain-tpe-seed0")              # open a stored study, running or finished
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

from nas_workbench.ui.workbench import Workbench

__all__ = ["Workbench"]
