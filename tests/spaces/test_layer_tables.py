"""The layer tables of the chain and multi-branch spaces describe the networks they build."""

from __future__ import annotations

import pytest
import torch

import nas_workbench as nw


@pytest.mark.parametrize("name", ["chain", "multi_branch"])
@pytest.mark.parametrize("input_shape", [(1, 8, 8), (3, 32, 32), (3, 15, 15)])
def test_output_shapes_in_the_table_are_those_of_the_network(name: str, input_shape: tuple) -> None:
    space = nw.spaces.get(name)
    for seed in range(3):
        spec = space.random(seed)
        model = space.build(spec, input_shape, 10)
        rows = space.describe(spec, input_shape=input_shape, num_classes=10)
        assert [row["block"].replace(".", "_") for row in rows] == [n for n, _ in model.named_children()]
        x, shapes = torch.randn(2, *input_shape), []
        for module in model.children():
            x = module(x)
            shapes.append(list(x.shape[1:]))
        assert [row["output_shape"] for row in rows] == shapes
        assert all(row.keys() == rows[0].keys() for row in rows)


@pytest.mark.parametrize("name", ["chain", "multi_branch"])
def test_table_without_input_shape(name: str) -> None:
    space = nw.spaces.get(name)
    rows = space.describe(space.random(0))
    assert rows[0]["block"] == "stem" and rows[0]["channels_in"] is None and "output_shape" not in rows[0]
    assert rows[-1]["block"] == "head"
    assert [r["channels_out"] for r in rows[:-1]] == [r["channels_in"] for r in rows[1:]]


@pytest.mark.parametrize("name", ["chain", "multi_branch"])
def test_width_multiplier_scales_every_layer(name: str) -> None:
    space = nw.spaces.get(name)
    spec = space.random(0)
    full = space.plan(spec, 1, 10)
    half = space.plan(spec, 1, 10, width_multiplier=0.5)
    assert [round(a.channels_out / 2) for a in full[:-1]] == [b.channels_out for b in half[:-1]]
