"""The band along the bottom of an accuracy plot where trials without a score are drawn.

A trial over budget is not trained and a failed one was never scored: neither has an accuracy, so they
are drawn at their measured cost in a band of the plot's own y range, never at a made-up accuracy, with a
label saying what the band holds, shaded apart from the accuracy axis (`nas_workbench.viz.figures` calls
`add_band` for every accuracy plot).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

from bokeh.models import ColumnDataSource, DataRange1d, Range1d
from bokeh.models.annotations import BoxAnnotation, Label
from bokeh.plotting import figure

from nas_workbench.viz.ranges import span_one_value

__all__ = ["BAND", "BANDED_RANGE_PADDING", "add_band", "show_band_labels"]

#: The extra y range of the band where trials without a score are drawn: 0-20, so that its crosses (at
#: `UNSCORED_AT`, 0.5) sit in the bottom 2.5% of the plot and its label starts at 5% (y = 1). The band is
#: shaded up to 13% (y = 2.6), over the grid: in the workbench's 2x2 grid (JupyterLab in Chromium, 1400 px)
#: a plot's frame is about 195 px high, so the 8pt label runs from 5% to about 11%; unshaded, the band read
#: as part of the accuracy axis (its label beside the tick 0.5, on that grid line).
BAND = "nas_unscored"
_BAND_END = 20.0
_BAND_LABEL_AT = 1.0
_BAND_TOP = 2.6
_BAND_LABEL = "nas_unscored_label"
_BAND_SHADE = "nas_unscored_shade"
_BAND_FILL = "#f0f0f0"

#: The accuracy axis's padding (a fraction of its span, half below the lowest score, half above the
#: highest) where a plot has the band: the lowest trained trial then sits 19% of the height above the
#: bottom, its marker clear of the shaded band. Bokeh's default, 0.1, put it at 4.5%, on the label, where
#: it read as a trial without a score (tutorial 01's rendered workbench); 0.4 (14%) left the marker
#: touching the label in a 195 px frame (a budgeted digits search in the widget, 2026-12-05).
BANDED_RANGE_PADDING = 0.6


def add_band(fig: figure, x: str, y: str, trials: ColumnDataSource) -> list[Any]:
    """Trials without a score (over budget and not trained, or failed first), drawn at their measured
    ``x`` in a band along the bottom of an accuracy plot (a range of its own, so they never stretch or sit
    on the accuracy axis), with a label saying what the band holds; the accuracy axis leaves room for the
    band below its lowest score (`BANDED_RANGE_PADDING`) and keeps a readable span when every score is the
    same (`nas_workbench.viz.ranges.span_one_value`)."""
    if y not in ("accuracy", "test_accuracy"):
        return []
    scores = cast(DataRange1d, fig.y_range)
    scores.renderers = [r for r in fig.renderers if r.y_range_name == "default"]
    scores.range_padding = BANDED_RANGE_PADDING
    span_one_value(scores, y)
    fig.extra_y_ranges = {**fig.extra_y_ranges, BAND: Range1d(start=0, end=_BAND_END)}
    band = fig.scatter(x=x, y="unscored_at", source=trials, color="color", marker="marker", size=8,
                       alpha=0.8, y_range_name=BAND, name="nas_unscored")  # fmt: skip
    shade = BoxAnnotation(bottom=0, top=_BAND_TOP, y_range_name=BAND, level="underlay", name=_BAND_SHADE)
    shade.update(fill_color=_BAND_FILL, fill_alpha=1.0, line_alpha=0)
    fig.add_layout(shade)  # drawn after the grid, at its level: the band's strip hides the grid's lines
    fig.add_layout(
        Label(
            x=4,
            x_units="screen",
            y=_BAND_LABEL_AT,
            y_range_name=BAND,
            text="no accuracy: over budget or failed",  # short: a panel of a 2x2 grid is narrow
            text_color="#555555",
            text_font_size="8pt",
            # over the budget line, which crossed out its words: the text on the band's own colour
            background_fill_color=_BAND_FILL,
            background_fill_alpha=1.0,
            level="overlay",
            name=_BAND_LABEL,
        )
    )
    show_band_labels([fig], trials)
    return [band]


def show_band_labels(figures: Sequence[Any], trials: ColumnDataSource) -> None:
    """Show the band (its label and shade) in ``figures`` only while a trial of ``trials`` sits in it: on
    an empty plot (before the first trial) or where every trial has a score, "no accuracy: over budget or
    failed" read as if something had failed. Call it after the trials change."""
    shown = any(not math.isnan(at) for at in trials.data.get("unscored_at", []))
    for fig in figures:
        for item in getattr(fig, "center", []):
            if item.name in (_BAND_LABEL, _BAND_SHADE) and item.visible != shown:
                item.visible = shown
