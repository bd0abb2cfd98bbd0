"""One architecture drawn: layer tables, a cell's graph, and a profile with units and methods."""

from __future__ import annotations

import nas_workbench as nw
from nas_workbench.viz import (
    cell_graph_data,
    cell_graph_figure,
    is_cell_graph,
    layer_table_html,
    profile_table_html,
)


def test_a_chain_architecture_is_a_layer_table():
    space = nw.spaces.get("chain")
    rows = space.describe(space.random(0))
    assert not is_cell_graph(rows)
    table = layer_table_html(rows)
    assert table.count("<tr>") == len(rows) + 1 and "<th>block</th>" in table and "stem" in table


def test_a_cell_is_a_graph_with_its_ops_on_the_edges():
    space = nw.spaces.get("nb201")
    spec = space.parse(
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|"
    )
    rows = space.describe(spec)
    assert is_cell_graph(rows)
    nodes, edges = cell_graph_data(rows)
    assert nodes["label"] == ["0", "1", "2", "3"]
    assert sorted(zip(edges["x0"], edges["x1"], edges["op"], strict=True)) == sorted(
        (r["from"], r["to"], r["op"]) for r in rows
    )
    none = edges["op"].index("none")
    assert edges["dash"][none] == "dashed" and edges["dash"][edges["op"].index("nor_conv_3x3")] == "solid"
    # parallel edges bow apart, and each label sits on its curve's middle
    assert len({(x0, x1, my) for x0, x1, my in zip(edges["x0"], edges["x1"], edges["my"], strict=True)}) == 6
    assert all(my * 2 == cy for my, cy in zip(edges["my"], edges["cy"], strict=True))


def test_the_cell_figure_draws_its_sources():
    from bokeh.models import ColumnDataSource

    nodes, edges = cell_graph_data([{"from": 0, "to": 1, "op": "conv"}])
    fig = cell_graph_figure(ColumnDataSource(nodes), ColumnDataSource(edges))
    sources = {r.data_source.name for r in fig.renderers}
    assert sources == {"nas_cell_nodes", "nas_cell_edges"}


def test_the_profile_names_unit_and_method():
    metrics = {
        "latency_ms": {"value": 0.42, "unit": "ms", "method": "measured", "source": "cpu timer"},
        "params": {"value": 1234, "unit": "count", "method": "counted", "source": "torch"},
        "my_score": {"value": 3.0, "unit": "", "method": "measured", "source": "user evaluate()"},
    }
    table = profile_table_html(metrics)
    assert "Latency (ms)" in table and "0.42 ms (measured, cpu timer)" in table
    assert "1,234 parameters (counted, torch)" in table and "my_score" in table
