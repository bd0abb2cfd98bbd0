"""`PlotModel`: jupyter_bokeh's ``BokehModel`` for plots whose data only the kernel changes.

jupyter_bokeh 4.1 sends back to the kernel the events that applying the kernel's own patches triggers in
BokehJS, and the kernel applies them again: every row the kernel streams comes back and is appended a
second time, so the kernel's data source (and the plot re-rendered from it, and a saved notebook) holds
each trial twice. Our sources change only in the kernel, so data events from the browser are dropped;
everything else the user does in the browser (selecting points) still reaches the kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nas_workbench._compat import bokeh_model_dropping

__all__ = ["PlotModel"]

_DATA_EVENTS = frozenset({"ColumnsStreamed", "ColumnsPatched", "ColumnDataChanged"})


def _is_data_change_from_browser(content: Mapping[str, Any]) -> bool:
    kind = content.get("kind")
    return content.get("event") == "jsevent" and (
        kind in _DATA_EVENTS or (kind == "ModelChanged" and content.get("attr") == "data")
    )


class PlotModel(bokeh_model_dropping(_is_data_change_from_browser)):  # type: ignore[misc]
    """A ``BokehModel`` that ignores data changes coming from the browser (see the module docstring)."""
