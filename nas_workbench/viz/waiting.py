"""What a study's figures show before their first trial, and as trials arrive: a note saying they wait for
the first trial, and legend entries only for what is drawn.

Before Start, the workbench's plots were four empty frames with legends of nothing: a "Pareto front" entry
with no front, "best so far" with no curve, and an empty box where the trials' statuses go (JupyterLab in
Chromium). A first-time user could not tell an empty study from a broken plot. Now each figure says
"waiting for the first trial" until a trial is drawn, and a legend entry shows only while its renderer has
data (the budget line's entry shows from the start: the limit is known before any trial).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bokeh.models import ColumnDataSource, Node
from bokeh.models.annotations import Label, Legend, LegendItem

__all__ = ["WAITING_NOTE", "add_waiting_notes", "show_drawn"]

#: The name of each figure's note (tests and the browser find it by name).
WAITING_NOTE = "nas_waiting"


def add_waiting_notes(figures: Sequence[Any]) -> None:
    """Add to each figure, at the centre of its frame, the note shown while no trial is drawn (hidden
    until `show_drawn` says so)."""
    for fig in figures:
        centre = Node(target="frame", symbol="center")
        fig.add_layout(
            Label(
                x=centre,
                y=centre,
                x_units="canvas",
                y_units="canvas",
                text="waiting for the first trial",
                text_align="center",
                text_baseline="middle",
                text_color="#777777",
                text_font_size="11pt",
                name=WAITING_NOTE,
                visible=False,
            )
        )


def _rows(entry: LegendItem) -> bool:
    """Whether a renderer of legend ``entry`` has data to draw."""
    for renderer in entry.renderers:
        data = getattr(renderer.data_source, "data", {})
        if len(next(iter(data.values()), [])):
            return True
    return False


def show_drawn(figures: Sequence[Any], trials: ColumnDataSource) -> None:
    """Show each figure's waiting note while ``trials`` is empty, and each legend entry (each legend) only
    while something of it is drawn. Call it after the trials or the front change; it changes a property
    only when its value changes (each change is a message to the browser)."""
    waiting = not len(trials.data.get("number", []))
    for fig in figures:
        for item in [*getattr(fig, "center", []), *getattr(fig, "below", [])]:
            if isinstance(item, Label) and item.name == WAITING_NOTE and item.visible != waiting:
                item.visible = waiting
            if isinstance(item, Legend):
                entries = [entry for entry in item.items if isinstance(entry, LegendItem)]
                for entry in entries:
                    drawn = _rows(entry)
                    if entry.visible != drawn:
                        entry.visible = drawn
                shown = any(entry.visible for entry in entries)
                if item.visible != shown:
                    item.visible = shown
