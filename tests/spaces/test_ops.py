"""The op registry: every op maps (C_in, C_out, stride) as promised, and bad names get suggestions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nas_workbench.exceptions import UnknownNameError
from nas_workbench.spaces.blocks import Cell, MultiBranch, ResNetBasicBlock, shortcut
from nas_workbench.spaces.ops import OPS, FactorizedReduce, make_op


@pytest.mark.parametrize("name", OPS.names())
@pytest.mark.parametrize(("C_in", "C_out", "stride"), [(8, 8, 1), (8, 12, 1), (8, 16, 2)])
def test_every_op_maps_channels_and_resolution(name: str, C_in: int, C_out: int, stride: int) -> None:
    op = make_op(name, C_in, C_out, stride)
    out = op(torch.randn(2, C_in, 7, 7))
    assert out.shape == (2, C_out, 4 if stride == 2 else 7, 4 if stride == 2 else 7)


def test_none_is_zero_and_skip_is_identity_when_shapes_match() -> None:
    x = torch.randn(2, 4, 6, 6)
    assert torch.equal(make_op("none", 4, 4, 1)(x), torch.zeros_like(x))
    assert isinstance(make_op("skip_connect", 4, 4, 1), nn.Identity)
    assert isinstance(make_op("skip_connect", 4, 8, 2), FactorizedReduce)


def test_nb201_conv_is_relu_conv_bn_without_bias() -> None:
    op = make_op("nor_conv_3x3", 4, 8, 1)
    assert [type(m) for m in op] == [nn.ReLU, nn.Conv2d, nn.BatchNorm2d]
    assert op[1].bias is None and op[1].kernel_size == (3, 3)


def test_unknown_op_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown op 'nor_conv3x3'.*Did you mean 'nor_conv_3x3'"):
        make_op("nor_conv3x3", 4, 4)


def test_shortcut_matches_a_strided_conv_on_odd_sizes() -> None:
    block = ResNetBasicBlock(4, 8, stride=2)
    assert block(torch.randn(1, 4, 7, 7)).shape == (1, 8, 4, 4)
    assert isinstance(shortcut(4, 4, 1), nn.Identity)


def test_cell_sums_incoming_edges_and_zeroes_nodes_without_any() -> None:
    x = torch.randn(1, 3, 5, 5)
    # node 1 has no input (zero), so node 2 = x + 0 and node 3 = node 2 + node 1 = x; `double` gives 2x
    cell = Cell(
        4, {(0, 2): nn.Identity(), (1, 2): nn.Identity(), (2, 3): nn.Identity(), (1, 3): nn.Identity()}
    )
    double = Cell(4, {(0, 2): nn.Identity(), (2, 3): nn.Identity(), (0, 3): nn.Identity()})
    assert torch.equal(cell(x), x)
    assert torch.equal(double(x), 2 * x)
    assert torch.equal(Cell(3, {}).eval()(x), torch.zeros_like(x))


def test_multi_branch_sums_or_projects_a_concatenation() -> None:
    x = torch.randn(1, 3, 5, 5)
    summed = MultiBranch([nn.Identity(), nn.Identity()], 3, "sum")
    assert torch.equal(summed(x), 2 * x)
    assert MultiBranch([nn.Identity(), nn.Identity()], 3, "concat")(x).shape == x.shape
