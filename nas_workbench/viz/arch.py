"""One architecture and its profile, drawn: a layer table, a cell's graph, a table of metrics.

Input is what a space's ``describe(spec)`` returns: rows of a layer table (chain and multi-branch
spaces), or a cell's edges ``{"from", "to", "op"}`` (cell-based spaces), which `is_cell_graph` tells
apart. Like the other builders these are pure: data in, HTML or a Bokeh figure out.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from bokeh.models import ColumnDataSource, DataRange1d, HoverTool
from bokeh.models.annotations import LabelSet
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from nas_workbench.viz._state import METRIC_COLUMNS, metric_label
from nas_workbench.viz.figures import metric_axis_label

__all__ = [
    "cell_graph_data",
    "cell_graph_figure",
    "is_cell_graph",
    "layer_table_html",
    "profile_table_html",
]

#: Ops that carry nothing: drawn faint and dashed, so the edges that compute stand out.
_EMPTY_OPS = ("none", "zero")

#: The columns of a cell's edges (`cell_graph_data`): the curve's ends and control point, its middle, its op
#: and how it is drawn.
_EDGE_COLUMNS = ("x0", "y0", "x1", "y1", "cx", "cy", "mx", "my", "op", "color", "dash", "alpha")

_TABLE_STYLE = 'border="1" style="border-collapse:collapse;font-size:12px"'


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return html.escape(str(value))


def is_cell_graph(rows: Sequence[Mapping[str, Any]]) -> bool:
    """Whether ``rows`` are a cell's edges (``from``, ``to``, ``op``) rather than a layer table."""
    return bool(rows) and all({"from", "to", "op"} <= set(row) for row in rows)


def layer_table_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """A space's layer table as HTML: one row per layer, the columns of all rows in order."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f'<table class="nas-layers" {_TABLE_STYLE}><tr>{head}</tr>{body}</table>'


def profile_table_html(metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """A trial's figures as HTML: metric, value with unit, and how it was obtained (method, source)."""
    rows = []
    for name, entry in metrics.items():
        label = metric_axis_label(name) if name in METRIC_COLUMNS else name
        rows.append(
            f"<tr><td>{html.escape(label)}</td><td>{html.escape(metric_label(dict(entry)))}</td></tr>"
        )
    return (
        f'<table class="nas-profile" {_TABLE_STYLE}><tr><th>Metric</th><th>Value (method, source)</th></tr>'
        f"{''.join(rows)}</table>"
    )


def cell_graph_data(edges: Sequence[Mapping[str, Any]]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Columns of a cell's nodes and edges, laid out left to right by node index.

    Each edge is a quadratic curve bowing up or down (alternately, further for longer edges) so parallel
    edges do not overlap; its op is written at the curve's middle.

    Returns:
        ``(nodes, edges)``: nodes have ``x, y, label``; edges ``x0, y0, x1, y1, cx, cy, mx, my, op,
        color, dash, alpha`` (``m`` is the point half-way along the curve).
    """
    indices = sorted({int(e["from"]) for e in edges} | {int(e["to"]) for e in edges})
    nodes: dict[str, list[Any]] = {
        "x": indices,
        "y": [0.0] * len(indices),
        "label": [str(i) for i in indices],
    }
    ops = sorted({str(e["op"]) for e in edges if e["op"] not in _EMPTY_OPS})
    colors = {op: Category10_10[i % len(Category10_10)] for i, op in enumerate(ops)}
    columns: dict[str, list[Any]] = {key: [] for key in _EDGE_COLUMNS}
    for k, edge in enumerate(sorted(edges, key=lambda e: (int(e["to"]), int(e["from"])))):
        x0, x1, op = int(edge["from"]), int(edge["to"]), str(edge["op"])
        bow = (0.25 + 0.3 * (abs(x1 - x0) - 1)) * (1 if k % 2 == 0 else -1)
        cx, cy = (x0 + x1) / 2, 2 * bow  # the curve's middle lies half-way to its control point
        empty = op in _EMPTY_OPS
        values = {
            "x0": x0,
            "y0": 0.0,
            "x1": x1,
            "y1": 0.0,
            "cx": cx,
            "cy": cy,
            "mx": cx,
            "my": bow,
            "op": op,
            "color": "#bbbbbb" if empty else colors[op],
            "dash": "dashed" if empty else "solid",
            "alpha": 0.6 if empty else 1.0,
        }
        for key, value in values.items():
            columns[key].append(value)
    return nodes, columns


def cell_graph_figure(
    nodes: ColumnDataSource | None = None, edges: ColumnDataSource | None = None, title: str = "Cell"
) -> figure:
    """A cell's DAG from the sources of `cell_graph_data` (replace their ``data`` to show another cell).

    Args:
        nodes: Node source (``x, y, label``); an empty one when None.
        edges: Edge source (see `cell_graph_data`); an empty one when None.
        title: Figure title.
    """
    nodes = nodes if nodes is not None else ColumnDataSource(data={"x": [], "y": [], "label": []})
    if edges is None:
        edges = ColumnDataSource(data={key: [] for key in _EDGE_COLUMNS})
    nodes.name, edges.name = "nas_cell_nodes", "nas_cell_edges"
    fig = figure(
        title=title,
        height=260,
        width=520,
        tools="pan,wheel_zoom,reset,save",
        toolbar_location=None,  # the workbench shows one toolbar, its plots'
        x_axis_type=None,
        y_axis_type=None,
        match_aspect=True,
        y_range=DataRange1d(range_padding=0.3),
        name="nas_cell_graph",
    )
    fig.grid.visible = False
    curves = fig.quadratic(
        x0="x0",
        y0="y0",
        x1="x1",
        y1="y1",
        cx="cx",
        cy="cy",
        source=edges,
        line_color="color",
        line_dash="dash",
        line_alpha="alpha",
        line_width=2.5,
    )
    fig.add_tools(HoverTool(renderers=[curves], tooltips=[("op", "@op"), ("edge", "@x0 → @x1")]))
    fig.add_layout(
        _labels(
            edges,
            "mx",
            "my",
            "op",
            text_font_size="8pt",
            text_color="color",
            background_fill_color="white",
            background_fill_alpha=0.8,
        )
    )
    fig.scatter(
        x="x", y="y", source=nodes, size=26, fill_color="#f7f7f7", line_color="#333333", line_width=1.5
    )
    fig.add_layout(_labels(nodes, "x", "y", "label", text_baseline="middle", text_font_size="10pt"))
    return fig


def _labels(source: ColumnDataSource, x: str, y: str, text: str, **style: Any) -> LabelSet:
    """Text from ``source``'s column ``text``, centred on its points (``x``, ``y``), drawn in ``style``."""
    return LabelSet(x=x, y=y, text=text, source=source, text_align="center", **style)
