"""`PlotModel`: jupyter_bokeh's ``BokehModel`` for plots whose data only the kernel changes.

jupyter_bokeh 4.1 sends back to the kernel the events that applying the kernel's own patches triggers in
BokehJS, and the kernel applies them again: every row the kernel streams comes back and is appended a
second time, so the kernel's data source (and the plot re-rendered from it, and a saved notebook) holds
each trial twice. Our sources change only in the kernel, so data events from the browser are dropped;
everything else the user does in the browser (selecting points) still reaches the kernel.
"""

from __future__ import annotations

from typing import Any

from jupyter_bokeh import BokehModel

__all__ = ["PlotModel"]

_DATA_EVENTS = frozenset({"ColumnsStreamed", "ColumnsPatched", "ColumnDataChanged"})


class PlotModel(BokehModel):
    """A ``BokehModel`` that ignores data changes coming from the browser (see the module docstring)."""

    def _sync_model(self, model: BokehModel, content: dict[str, Any], buffers: list[Any]) -> None:
        kind = content.get("kind")
        if content.get("event") == "jsevent" and (
            kind in _DATA_EVENTS or (kind == "ModelChanged" and content.get("attr") == "data")
        ):
            return
        super()._sync_model(model, content, buffers)
