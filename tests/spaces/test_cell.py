"""The cell spaces: NAS-Bench-201's exact networks, its strings, and the general "cell" space."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import nas_workbench as nw
from nas_workbench.exceptions import ConfigError, SpaceError
from nas_workbench.spaces import enumerate_specs
from nas_workbench.spaces.blocks import Cell
from nas_workbench.spaces.cell import NB201_OPS
from nas_workbench.testing.nb201 import nb201_cost

# Published NAS-Bench-201 costs (index, architecture, params in M, FLOPs in M) for CIFAR-10 (3x32x32, 10
# classes), copied from the benchmark's tables; every one is also checked by benchmarks/nb201_exactness.py.
NB201_CIFAR10 = [
    (1651, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 0.073306, 7.783050),
    (
        1835,
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
        0.073306,
        7.783050,
    ),
    (
        4317,
        "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
        0.241306,
        31.376010,
    ),
    (
        1462,
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        1.531546,
        220.119690,
    ),
    (
        11686,
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|",
        0.344346,
        47.104650,
    ),
    (
        9930,
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        1.288506,
        184.730250,
    ),
    (
        0,
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
        0.129306,
        15.647370,
    ),
]
# The same table for CIFAR-100 (100 classes) and ImageNet16-120 (3x16x16, 120 classes).
NB201_OTHER = [
    (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        (3, 32, 32),
        100,
        1.537396,
        220.125540,
    ),
    (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        (3, 16, 16),
        120,
        1.538696,
        55.037560,
    ),
    (
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
        (3, 16, 16),
        120,
        0.136456,
        3.919480,
    ),
]


@pytest.fixture(scope="module")
def nb201() -> nw.spaces.SearchSpace:
    return nw.spaces.get("nb201")


@pytest.mark.parametrize(
    ("index", "arch", "params_m", "flops_m"), NB201_CIFAR10, ids=[r[0] for r in NB201_CIFAR10]
)
def test_nb201_params_and_flops_equal_the_benchmark(
    nb201, index: int, arch: str, params_m: float, flops_m: float
):
    params, flops = nb201_cost(nb201.build(nb201.parse(arch), (3, 32, 32), 10), (3, 32, 32))
    assert (params, flops) == (round(params_m * 1e6), round(flops_m * 1e6))


@pytest.mark.parametrize(
    ("arch", "shape", "classes", "params_m", "flops_m"), NB201_OTHER, ids=["c100", "in16", "in16-mixed"]
)
def test_nb201_costs_on_cifar100_and_imagenet16(nb201, arch, shape, classes, params_m, flops_m) -> None:
    params, flops = nb201_cost(nb201.build(nb201.parse(arch), shape, classes), shape)
    assert (params, flops) == (round(params_m * 1e6), round(flops_m * 1e6))


def test_nb201_skeleton(nb201) -> None:
    model = nb201.build(nb201.parse(NB201_CIFAR10[3][1]), (3, 32, 32), 10)
    stem_conv = model.stem[0]
    assert (stem_conv.in_channels, stem_conv.out_channels, stem_conv.bias) == (3, 16, None)
    cells = [name for name, _ in model.named_children() if "_cell" in name]
    assert len(cells) == 15 and isinstance(model.stage3_cell4, Cell)
    assert [model.reduce2.shortcut[1].out_channels, model.reduce3.shortcut[1].out_channels] == [32, 64]
    assert model.head[-1].in_features == 64


def test_all_none_network_ignores_its_input(nb201) -> None:
    """No path from the cell input to its output: NB201's 341 unreachable cells sit at chance level."""
    model = nb201.build(nb201.parse(NB201_CIFAR10[0][1]), (3, 32, 32), 10).eval()
    with torch.no_grad():
        out = model(torch.randn(4, 3, 32, 32))
    assert torch.allclose(out, out[:1].expand_as(out))


def test_every_nb201_string_round_trips(nb201) -> None:
    assert nb201.size() == 15_625
    strings = {nb201.format(spec) for spec in enumerate_specs(nb201)}
    assert len(strings) == 15_625
    for text in itertools.islice(sorted(strings), 0, None, 7):
        assert nb201.format(nb201.parse(text)) == text


def test_decisions_follow_the_string_order(nb201) -> None:
    spec = nb201.parse(NB201_CIFAR10[4][1])
    assert list(spec.choices) == sorted(
        ["node1.from0", "node2.from0", "node2.from1", "node3.from0", "node3.from1", "node3.from2"]
    )
    assert spec.choices["node2.from0"] == "none" and spec.choices["node3.from2"] == "nor_conv_1x1"
    assert nb201.parse(" " + NB201_CIFAR10[4][1] + "\n") == spec


def test_edges_in_any_order_within_a_node(nb201) -> None:
    a = nb201.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|")
    b = nb201.parse("|nor_conv_3x3~0|+|skip_connect~1|none~0|+|nor_conv_1x1~2|skip_connect~0|skip_connect~1|")
    assert a == b


def test_parse_reads_json_too(nb201) -> None:
    spec = nb201.random(0)
    assert nb201.parse(spec.to_json()) == spec
    assert nb201.parse(nb201.format(spec)) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must start and end with '|'"),
        ("nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end with '|'"),
        ("|nor_conv_3x3~0|+|none~0|none~1|", "has 2 node group"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|", "has 4 node group"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2: group '|none~0|' has 1 edge"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|none~3|", "node 3: group .* has 4 edge"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1: edge 'none0' must be 'op~input'"),
        ("|~0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1: edge '~0' must be 'op~input'"),
        (
            "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
            "node 1: edge 'none~1' has input '1'; it must be 0 to 0",
        ),
        ("|none~x|+|none~0|none~1|+|none~0|none~1|none~2|", "has input 'x'"),
        ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "node 2: group .* has two edges from node 0"),
        (
            "|none~0|+|none~0|none~1|+|none~0|nor_conv3x3~1|none~2|",
            "node 3: edge 'nor_conv3x3~1': Unknown op 'nor_conv3x3'.*Did you mean 'nor_conv_3x3'",
        ),
        ("|none~0|+|none~0|none~1|+||none~0|none~1|none~2|", "node 3: group"),
        ('{"node1.from0": "none"}', "no choice for 'node2.from0'"),
    ],
)
def test_malformed_strings_say_what_is_wrong(nb201, text: str, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        nb201.parse(text)


def test_nb201_ops_are_fixed() -> None:
    space = nw.spaces.get("nb201", num_cells=2, stem_channels=8)
    assert space.op_names == NB201_OPS and space.edges == [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    with pytest.raises(ConfigError, match=r"space_options\.ops.*has options"):
        nw.spaces.get("nb201", ops=("none",))
    model = space.build(space.random(0), (3, 32, 32), 10)
    assert (
        model.stem[0].out_channels == 8 and len([n for n, _ in model.named_children() if "_cell" in n]) == 6
    )


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"num_cells": 0}, "num_cells", "an integer >= 1"),
        ({"stem_channels": 2.5}, "stem_channels", "an integer >= 1"),
        ({"num_nodes": 1}, "num_nodes", "an integer >= 2"),
        ({"ops": ("none", "nor_conv_3x3", "none")}, "ops", "distinct op names from"),
        ({"ops": ()}, "ops", "non-empty"),
        ({"ops": ("nor_conv_3x3", "sep_conv3x3")}, "ops", "Did you mean 'sep_conv_3x3'"),
    ],
)
def test_cell_options_are_validated(options: dict, field: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        nw.spaces.get("cell", **options)
    assert error.value.field == f"space_options.{field}"


def test_general_cell_space_with_its_own_ops_and_nodes() -> None:
    space = nw.spaces.get(
        "cell", num_nodes=3, num_cells=1, ops=["nor_conv_3x3", "sep_conv_5x5", "max_pool_3x3"]
    )
    assert space.options["ops"] == ("nor_conv_3x3", "sep_conv_5x5", "max_pool_3x3")
    assert space.size() == 27 == len(list(enumerate_specs(space)))
    spec = space.parse("|sep_conv_5x5~0|+|max_pool_3x3~0|nor_conv_3x3~1|")
    assert space.format(spec) == "|sep_conv_5x5~0|+|max_pool_3x3~0|nor_conv_3x3~1|"
    assert space.build(spec, (1, 8, 8), 10)(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(SpaceError, match="Unknown op 'none'"):
        space.parse("|none~0|+|max_pool_3x3~0|nor_conv_3x3~1|")


def test_a_cell_spec_belongs_to_its_space() -> None:
    spec = nw.spaces.get("nb201").random(0)
    with pytest.raises(SpaceError, match="belongs to space 'nb201', not 'cell'"):
        nw.spaces.get("cell").build(spec, (3, 32, 32), 10)


def test_describe_gives_the_dag(nb201) -> None:
    rows = nb201.describe(nb201.parse(NB201_CIFAR10[4][1]))
    assert rows[0] == {"from": 0, "to": 1, "op": "nor_conv_3x3", "decision": "node1.from0"}
    assert [(r["from"], r["to"]) for r in rows] == nb201.edges


def test_supernet_hooks_build_the_same_skeleton_around_any_cell(nb201) -> None:
    """A supernet passes its own cell (here, every op on every edge, summed) to `build_network`."""

    class SumOfOps(nn.Module):
        def __init__(self, C: int) -> None:
            super().__init__()
            self.ops = nn.ModuleList(nw.spaces.ops.make_op(name, C, C, 1) for name in nb201.op_names)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return sum(op(x) for op in self.ops)

    assert nb201.relaxable

    def make_cell(C: int) -> nn.Module:
        return Cell(4, {e: SumOfOps(C) for e in nb201.edges})

    supernet = nb201.build_network(make_cell, nw.spaces.NetworkShape((3, 32, 32), 10))
    discrete = nb201.build(nb201.random(0), (3, 32, 32), 10)
    assert supernet(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert [n for n, _ in supernet.named_children()] == [n for n, _ in discrete.named_children()]


@pytest.mark.parametrize(
    ("arch", "live"),
    [
        (  # node 1 feeds nothing that reaches the output: its conv is dead
            "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
            "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
        ),
        (  # node 1 holds zeros (nothing reaches it): its outgoing ops are dead
            "|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
            "|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
        ),
        (  # nothing reaches the output: every op is dead
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|",
            "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        ),
    ],
)
def test_live_drops_the_ops_on_no_input_output_path(nb201, arch: str, live: str) -> None:
    assert nb201.format(nb201.live(nb201.parse(arch))) == live
    assert nb201.live(nb201.parse(live)) == nb201.parse(live)
    every_op_used = nb201.parse(NB201_CIFAR10[2][1])
    assert nb201.live(every_op_used) is every_op_used


def test_signature_is_shared_by_cells_that_compute_the_same_function(nb201) -> None:
    """Dead ops, a skip chain through another node, and the order of a sum do not change the function."""
    residual = [
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|none~2|",
        "|none~0|+|skip_connect~0|none~1|+|nor_conv_3x3~0|none~1|skip_connect~2|",  # x -> 2 -> 3 skips
        "|skip_connect~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|",
    ]
    others = [
        "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|",  # no skip: conv(x) alone
        "|skip_connect~0|+|none~0|none~1|+|nor_conv_1x1~0|skip_connect~1|none~2|",  # a 1x1 conv
        "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",  # conv(conv(x)) + x
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|",  # conv(x + x)
    ]
    signatures = [nb201.signature(nb201.parse(arch)) for arch in residual + others]
    assert signatures[:3] == ["nor_conv_3x3(x)+x"] * 3
    assert len(set(signatures[2:])) == len(others) + 1
    assert signatures[-1] == "nor_conv_3x3(x+x)"
    for arch in residual + others:  # the live cell computes the same function
        assert nb201.signature(nb201.live(nb201.parse(arch))) == nb201.signature(nb201.parse(arch))


@pytest.mark.slow  # 15,625 cells: about 25 s on the loaded 2-core machine
def test_live_over_the_whole_nb201_space(nb201) -> None:
    """Idempotent, and all "none" for exactly NAS-Bench-201's 341 cells with no path from input to
    output."""
    specs = list(enumerate_specs(nb201))
    live = [nb201.live(spec) for spec in specs]
    assert all(nb201.live(cell) == cell for cell in live)
    empty = {name: "none" for name in specs[0].choices}
    assert sum(cell.choices == empty for cell in live) == 341
