"""`PlotModel`: jupyter_bokeh's ``BokehModel`` for plots whose data only the kernel changes.

jupyter_bokeh 4.1 sends back to the kernel the events that applying the kernel's own patches triggers in
BokehJS, and the kernel applies them again: every row the kernel streams comes back and is appended a
second time, so the kernel's data source (and the plot re-rendered from it, and a saved notebook) holds
each trial twice. Our sources change only in the kernel, so data events from the browser are dropped.

BokehJS also sends back the bounds it computes for an automatic range (``DataRange1d``: start and end
NaN in the kernel) each time it fits the range to the data; kept, they made the range fixed at the
next render of the whole document (BokehJS takes a start or end given at render as the user's), so after
a search's final re-render (`PlotPanel.refresh`) the plots stayed at the bounds of the first trials and
the best, retrained "dnas" trial lay outside them. The kernel alone sets ranges, so those are dropped too;
everything else the user does in the browser (selecting points) still reaches the kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nas_workbench._compat import bokeh_model_dropping

__all__ = ["PlotModel"]

_DATA_EVENTS = frozenset({"ColumnsStreamed", "ColumnsPatched", "ColumnDataChanged"})

#: Properties only the kernel sets: a source's data, a range's bounds.
_KERNEL_OWNED = frozenset({"data", "start", "end"})


def _is_kernel_owned_change_from_browser(content: Mapping[str, Any]) -> bool:
    kind = content.get("kind")
    return content.get("event") == "jsevent" and (
        kind in _DATA_EVENTS or (kind == "ModelChanged" and content.get("attr") in _KERNEL_OWNED)
    )


class PlotModel(bokeh_model_dropping(_is_kernel_owned_change_from_browser)):  # type: ignore[misc]
    """A ``BokehModel`` that ignores the browser's changes to data and ranges (see the module docstring)."""
