"""Primitive ops: small modules that map ``C_in`` channels to ``C_out`` at a ``stride``, and their registry.

Every op class takes ``(C_in, C_out, stride)`` as its first three arguments, so a registered factory can be
the class with its remaining arguments bound (``partial(ConvBN, kernel_size=3)``). The registry `OPS` lives in
`nas_workbench.spaces._op_registry`, which names the built-in ops without importing this module (a space
checks its options against the names before any network is built), and is re-exported here, where a user
registers ops of their own. The cell spaces look ops up by name when they build an edge, and a
differentiable-NAS supernet can build a mixed op on an edge from the same names:
``[make_op(name, C, C, 1) for name in space.op_names]``.

The ``nor_conv``/``sep_conv``/pool ops follow NAS-Bench-201 (pre-activation ReLU-Conv-BN, convolutions
without bias); the ``conv``/``dwsep``/``mbconv`` ops are the post-activation blocks of mobile networks
(MobileNet V1/V2, MnasNet) used by the chain space.

>>> make_op("nor_conv_3x3", 16, 32, stride=2)(torch.zeros(1, 16, 8, 8)).shape
torch.Size([1, 32, 4, 4])
"""

from __future__ import annotations

from typing import Literal, TypedDict, Unpack

import torch
from torch import nn

from nas_workbench.spaces._op_registry import OPS, OpFactory, make_op

__all__ = [
    "OPS",
    "ConvBN",
    "ConvOptions",
    "DepthwiseSeparable",
    "FactorizedReduce",
    "MBConv",
    "OpFactory",
    "Pool",
    "Zero",
    "make_op",
    "skip_connect",
]

Activation = Literal["pre", "post", "none"]


class ConvOptions(TypedDict, total=False):
    """How a convolution op convolves, besides its channels, stride and kernel size.

    Attributes:
        dilation: Widens the kernel (default 1).
        relu: Where the ReLU goes: before the convolution ("pre", the default), after the batch norm
            ("post") or nowhere ("none").
    """

    dilation: int
    relu: Activation


class ConvBN(nn.Sequential):
    """A bias-free convolution and batch norm, with a ReLU before ("pre"), after ("post") or none.

    ``relu="pre"`` is NAS-Bench-201's ReLUConvBN; ``"post"`` the usual Conv-BN-ReLU. Padding keeps the
    spatial size at stride 1 (odd kernels), so the output is ``ceil(H / stride)``.
    """

    def __init__(
        self,
        C_in: int,
        C_out: int,
        stride: int = 1,
        kernel_size: int = 3,
        *,
        groups: int = 1,
        **options: Unpack[ConvOptions],
    ) -> None:
        relu, dilation = options.get("relu", "pre"), options.get("dilation", 1)
        layers: list[nn.Module] = [nn.ReLU()] if relu == "pre" else []
        padding = dilation * (kernel_size - 1) // 2
        layers.append(nn.Conv2d(C_in, C_out, kernel_size, stride, padding, dilation, groups, bias=False))
        layers.append(nn.BatchNorm2d(C_out))
        if relu == "post":
            layers.append(nn.ReLU())
        super().__init__(*layers)


class Zero(nn.Module):
    """The "none" op: zeros of the output's shape (an edge that carries nothing, kept for supernets)."""

    def __init__(self, C_in: int, C_out: int, stride: int = 1) -> None:
        super().__init__()
        self.C_out, self.stride = C_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        strided = x[:, :, :: self.stride, :: self.stride]
        return strided.new_zeros(strided.shape[0], self.C_out, *strided.shape[2:])


class FactorizedReduce(nn.Module):
    """NAS-Bench-201's channel/resolution adapter of ``skip_connect``.

    Stride 1: a 1x1 convolution and BN. Stride 2: ReLU, then two 1x1 stride-2 convolutions, the second on
    the input shifted by one pixel so that together they see every position, concatenated, then BN.
    """

    def __init__(self, C_in: int, C_out: int, stride: int = 1) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"FactorizedReduce supports stride 1 or 2, not {stride}")
        self.stride = stride
        halves = [C_out] if stride == 1 else [C_out // 2, C_out - C_out // 2]
        self.convs = nn.ModuleList(nn.Conv2d(C_in, c, 1, stride, bias=False) for c in halves)
        self.bn = nn.BatchNorm2d(C_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return self.bn(self.convs[0](x))
        x = torch.relu(x)
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](shifted)], dim=1))


def skip_connect(C_in: int, C_out: int, stride: int = 1) -> nn.Module:
    """The identity when shapes allow, else a `FactorizedReduce` (as in NAS-Bench-201)."""
    if stride == 1 and C_in == C_out:
        return nn.Identity()
    return FactorizedReduce(C_in, C_out, stride)


class Pool(nn.Sequential):
    """A 3x3 average or max pool (padding 1), after a 1x1 ReLU-Conv-BN when the channel count changes.

    The average excludes the padding, as in NAS-Bench-201.
    """

    def __init__(self, C_in: int, C_out: int, stride: int = 1, mode: Literal["avg", "max"] = "avg") -> None:
        layers: list[nn.Module] = [] if C_in == C_out else [ConvBN(C_in, C_out, 1, 1, relu="pre")]
        if mode == "avg":
            layers.append(nn.AvgPool2d(3, stride, 1, count_include_pad=False))
        else:
            layers.append(nn.MaxPool2d(3, stride, 1))
        super().__init__(*layers)


class DepthwiseSeparable(nn.Sequential):
    """A depthwise ``kernel_size`` convolution (carrying the stride) then a pointwise 1x1, each with BN.

    ``relu="post"`` is MobileNet V1's block (dw-BN-ReLU-pw-BN-ReLU); ``"pre"`` the pre-activation form
    used next to NAS-Bench-201's ops (ReLU-dw-BN-ReLU-pw-BN). ``dilation`` widens the depthwise kernel.
    """

    def __init__(
        self, C_in: int, C_out: int, stride: int = 1, kernel_size: int = 3, **options: Unpack[ConvOptions]
    ) -> None:
        super().__init__(
            ConvBN(C_in, C_in, stride, kernel_size, groups=C_in, **options),
            ConvBN(C_in, C_out, 1, 1, relu=options.get("relu", "pre")),
        )


class MBConv(nn.Sequential):
    """MobileNet V2's inverted bottleneck: 1x1 expansion, depthwise ``kernel_size``, linear 1x1 projection.

    The expansion layer is omitted when it would not widen (``expansion`` 1). The residual connection is
    not part of the op: the network adds it where shapes allow (`nas_workbench.spaces.blocks.Residual`), so
    that a supernet can mix this op with others on one edge.
    """

    def __init__(
        self, C_in: int, C_out: int, stride: int = 1, kernel_size: int = 3, expansion: float = 6
    ) -> None:
        hidden = max(1, round(C_in * expansion))
        layers: list[nn.Module] = [ConvBN(C_in, hidden, 1, 1, relu="post")] if hidden != C_in else []
        layers.append(ConvBN(hidden, hidden, stride, kernel_size, groups=hidden, relu="post"))
        layers.append(ConvBN(hidden, C_out, 1, 1, relu="none"))
        super().__init__(*layers)
