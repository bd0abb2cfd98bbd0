"""The budget line of a trade-off plot: the search's limit as a dashed red line named in the legend
("budget 1,200 parameters"), and a limit edited in the workbench's form since that search as a dotted line
of its own ("next Start: 2,000 parameters").

Why two lines, not one that moves: a search's trials were marked over budget (red crosses, not trained)
against its own limit. Moving that line to an edited value would leave crosses on the wrong side of it,
as if the marks were wrong, while the edit has judged nothing yet. Before a search has a trial there is
nothing to contradict, so the workbench's plots then follow the edit itself (`nas_workbench.ui.plots`).
"""

from __future__ import annotations

import math
from typing import Any, cast

from bokeh.models import DataRange1d
from bokeh.models.annotations import Span

from nas_workbench.metrics import limit_text

__all__ = ["EDITED_COLOR", "add_budget_lines", "budget_label", "edited_label"]

#: The colour of the search's budget line, and of an edited limit's (purple: apart from every status).
BUDGET_COLOR = "#d62728"
EDITED_COLOR = "#7b3294"


def budget_label(metric: str, limit: float, note: str | None = None) -> str:
    """``"budget 0.42 ms (p30 on this CPU)"``: the text on a budget line (`limit_text`)."""
    return f"budget {limit_text(metric, limit, note)}"


def edited_label(metric: str, limit: float) -> str:
    """``"next Start: 2,000 parameters"``: the text on an edited limit's line (short: a panel of the 2x2
    grid is narrow, and a longer one was cut off at its edge in JupyterLab)."""
    return f"next Start: {limit_text(metric, limit)}"


def add_budget_lines(
    fig: Any, metric: str, limit: float | None, note: str | None = None, edited: float | None = None
) -> None:
    """Draw ``limit`` of ``metric`` on ``fig`` (``note``: how a relative limit was given), and a limit
    ``edited`` in the form since, each named in the legend; an invisible point at each keeps the lines in
    view when every trial is far from them."""
    lines = [(limit, BUDGET_COLOR, "dashed", "nas_budget"), (edited, EDITED_COLOR, "dotted", "nas_edited")]
    drawn = [(value, color, dash, name) for value, color, dash, name in lines if value is not None]
    if not drawn:
        return
    # the y range follows the renderers drawn so far only (glyphs added later do not move it)
    cast(DataRange1d, fig.y_range).renderers = [r for r in fig.renderers if r.y_range_name == "default"]
    for value, color, dash, name in drawn:
        label = budget_label(metric, value, note) if name == "nas_budget" else edited_label(metric, value)
        fig.scatter(x=[value], y=[0], alpha=0, name=f"{name}_anchor")
        fig.add_layout(Span(location=value, dimension="height", line_dash=dash, line_color=color,
                            line_width=2 if name == "nas_edited" else 1, name=name))  # fmt: skip
        # named in the legend, under the plot: a label at the line was clipped at the plot's left edge
        # when the line was near it (tutorial 01's rendered workbench read "1 ms" for "budget 0.71 ms");
        # one point with no height: BokehJS draws no legend swatch for a renderer without data
        fig.line(x=[value], y=[math.nan], line_dash=dash, line_color=color, name=f"{name}_legend",
                 legend_label=label)  # fmt: skip
