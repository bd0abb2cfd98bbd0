"""One block of the chain space's supernet: one module per op at the block's largest widths and kernel, the
other choices cut out of it as masks (FBNetV2's channel masking, Once-for-All's nested kernels); see
`nas_workbench.strategies.dnas.chain`, whose supernet stacks them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

import torch
from torch import nn

from nas_workbench.spaces.chain import has_residual
from nas_workbench.spaces.ops import ConvBN, DepthwiseSeparable
from nas_workbench.strategies.dnas.masks import conv_bn, fit_channels, kernel_mask, width_mask

__all__ = ["SharedBlock"]


class SharedBlock(nn.Module):
    """One block of the chain: one module per op at the largest widths and kernel, choices as masks.

    Args:
        ops: The op names, in the order of the block's op weights.
        in_widths: Input channel choices (scaled), in the order of the input's width weights.
        out_widths: Output channel choices (scaled), in the order of the block's width weights.
        kernels: Kernel choices, in the order of the kernel weights.
        expansions: Expansion choices of "mbconv", in the order of the expansion weights.
        stride: The block's stride.
    """

    def __init__(
        self,
        ops: Sequence[str],
        in_widths: Sequence[int],
        out_widths: Sequence[int],
        kernels: Sequence[int],
        expansions: Sequence[float],
        stride: int,
    ) -> None:
        super().__init__()
        self.op_names, self.kernels = tuple(ops), tuple(kernels)
        self.in_widths, self.out_widths = tuple(in_widths), tuple(out_widths)
        self.c_in, self.c_out, self.kernel = max(in_widths), max(out_widths), max(kernels)
        # "mbconv": the hidden width of each (input width, expansion) pair, row-major, as `MBConv` builds it
        self.hidden_sizes = [max(1, round(c * e)) for c in in_widths for e in expansions]
        self.expanded = [
            h != c for c, h in zip(_repeat(in_widths, len(expansions)), self.hidden_sizes, strict=True)
        ]
        self.hidden = max(self.hidden_sizes)
        self.residual = [
            (i, j)
            for i, c in enumerate(in_widths)
            for j, d in enumerate(out_widths)
            if has_residual(c, d, stride)
        ]
        builders: dict[str, Callable[[], nn.Module]] = {
            "conv": lambda: ConvBN(self.c_in, self.c_out, stride, self.kernel, relu="post"),
            "dwsep": lambda: DepthwiseSeparable(self.c_in, self.c_out, stride, self.kernel, relu="post"),
            "mbconv": lambda: nn.Sequential(  # `MBConv`'s layers, the expansion layer always kept
                ConvBN(self.c_in, self.hidden, 1, 1, relu="post"),
                ConvBN(self.hidden, self.hidden, stride, self.kernel, groups=self.hidden, relu="post"),
                ConvBN(self.hidden, self.c_out, 1, 1, relu="none"),
            ),
        }
        self.ops = nn.ModuleDict({op: builders[op]() for op in ops})

    def forward(
        self, x: torch.Tensor, p_in: torch.Tensor, weights: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        """The block on ``x`` (``c_in`` channels, widths distributed as ``p_in``) under ``weights`` ("op",
        "kernel", "width" and, with "mbconv", "expansion"): ``c_out`` channels, masked to the widths."""
        kernel = kernel_mask(self.kernels, weights["kernel"], self.kernel)
        p_op = weights["op"]
        total: torch.Tensor | None = None
        for k, live in enumerate((p_op != 0).tolist()):
            if not live:  # zero weight: skipped exactly, as `supernet.mix` skips candidates
                continue
            op = self.op_names[k]
            if op == "conv":
                y = conv_bn(self._layers("conv")[0], x, kernel)
            elif op == "dwsep":
                depthwise, pointwise = self._layers("dwsep")
                h = conv_bn(depthwise, x, kernel) * width_mask(self.in_widths, p_in, self.c_in)
                y = conv_bn(pointwise, h)
            else:
                y = self._mbconv(x, p_in, kernel, weights["expansion"])
            total = p_op[k] * y if total is None else total + p_op[k] * y
        assert total is not None  # op weights sum to 1
        out = total * width_mask(self.out_widths, weights["width"], self.c_out)
        if self.residual:  # added when input and output widths match (`has_residual`)
            same = sum(p_in[i] * weights["width"][j] for i, j in self.residual)
            out = out + same * fit_channels(x, self.c_out)
        return out

    def _layers(self, op: str) -> list[nn.Sequential]:
        """The `ConvBN` layers of op ``op``'s shared module, in order."""
        module = cast(nn.Sequential, self.ops[op])
        return [module] if op == "conv" else [cast(nn.Sequential, layer) for layer in module]

    def _mbconv(
        self, x: torch.Tensor, p_in: torch.Tensor, kernel: torch.Tensor, p_expansion: torch.Tensor
    ) -> torch.Tensor:
        expand, depthwise, project = self._layers("mbconv")
        pairs = (p_in[:, None] * p_expansion[None, :]).flatten()  # P(input width, expansion)
        grown = [k for k, expanded in enumerate(self.expanded) if expanded]
        kept = [k for k, expanded in enumerate(self.expanded) if not expanded]
        h: torch.Tensor | None = None
        if grown and bool((pairs[grown] != 0).any()):
            sizes = [self.hidden_sizes[k] for k in grown]
            h = conv_bn(expand, x) * width_mask(sizes, pairs[grown], self.hidden)
        if kept:  # `MBConv` leaves the expansion layer out when it would not widen: the input itself
            identity = pairs[kept].sum() * fit_channels(x, self.hidden)
            h = identity if h is None else h + identity
        assert h is not None
        h = conv_bn(depthwise, h, kernel) * width_mask(self.hidden_sizes, pairs, self.hidden)
        return conv_bn(project, h)


def _repeat(values: Sequence[int], times: int) -> list[int]:
    """Each of ``values`` ``times`` times in a row (the input width of each (width, expansion) pair)."""
    return [v for v in values for _ in range(times)]
