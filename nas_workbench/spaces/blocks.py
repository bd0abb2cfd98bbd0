"""Composite blocks that combine ops: residual connections, multi-branch blocks, DAG cells, the head.

They take their ops as modules, so a supernet builds the same blocks around mixed ops: `Cell` accepts any
module per edge, `MultiBranch` any modules as branches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from nas_workbench.spaces.ops import ConvBN

__all__ = ["Cell", "ClassifierHead", "MultiBranch", "ResNetBasicBlock", "Residual", "shortcut"]


class Residual(nn.Module):
    """``body(x) + shortcut(x)``; the shortcut is the identity unless given."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


def shortcut(C_in: int, C_out: int, stride: int = 1) -> nn.Module:
    """NAS-Bench-201's residual shortcut from ``C_in`` channels to ``C_out`` at ``stride``.

    The identity when shapes match; at stride > 1 an average pool then a bias-free 1x1 convolution (no BN);
    at stride 1 with a channel change a 1x1 ReLU-Conv-BN. The pool rounds up (``ceil_mode``) so that odd
    sizes match a padded stride-2 convolution; on even sizes it is NAS-Bench-201's pool exactly.
    """
    if stride == 1 and C_in == C_out:
        return nn.Identity()
    if stride == 1:
        return ConvBN(C_in, C_out, 1, 1, relu="pre")
    return nn.Sequential(nn.AvgPool2d(stride, stride, ceil_mode=True), nn.Conv2d(C_in, C_out, 1, bias=False))


class ResNetBasicBlock(Residual):
    """NAS-Bench-201's reduction block: two 3x3 ReLU-Conv-BN (the first strided) plus a `shortcut`."""

    def __init__(self, C_in: int, C_out: int, stride: int = 2) -> None:
        body = nn.Sequential(ConvBN(C_in, C_out, stride, 3), ConvBN(C_out, C_out, 1, 3))
        super().__init__(body, shortcut(C_in, C_out, stride))


class MultiBranch(nn.Module):
    """Parallel branches on one input, combined by summing or by concatenating then a 1x1 projection.

    Every branch maps the input to ``C_out`` channels at the same resolution. ``"concat"`` (Inception) lets
    the 1x1 ReLU-Conv-BN projection weigh the branches; ``"sum"`` (ResNeXt) adds them, parameter-free.
    """

    def __init__(self, branches: Sequence[nn.Module], C_out: int, combine: str = "sum") -> None:
        super().__init__()
        if not branches or combine not in ("sum", "concat"):
            raise ValueError(
                f"a multi-branch block needs branches and combine 'sum' or 'concat', not {combine!r}"
            )
        self.branches = nn.ModuleList(branches)
        self.combine = combine
        concatenated = combine == "concat" and len(branches) > 1
        self.project = ConvBN(len(branches) * C_out, C_out, 1, 1, relu="pre") if concatenated else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [branch(x) for branch in self.branches]
        if self.project is not None:
            return self.project(torch.cat(outputs, dim=1))
        return sum(outputs[1:], outputs[0])


class Cell(nn.Module):
    """A DAG cell: node 0 is the input, node ``j`` sums its incoming edges' ops, the last node is the output.

    Args:
        num_nodes: Number of nodes, the input included (NAS-Bench-201: 4).
        edges: The op of each edge ``(i, j)``, ``i < j``. A missing edge carries nothing (the "none" op);
            a node with no incoming edge is zero. Ops keep the channel count and resolution.
    """

    def __init__(self, num_nodes: int, edges: Mapping[tuple[int, int], nn.Module]) -> None:
        super().__init__()
        self.num_nodes = num_nodes
        self.edges = nn.ModuleDict({f"node{j}_from{i}": op for (i, j), op in sorted(edges.items())})
        self.incoming = [
            [(i, f"node{j}_from{i}") for i in range(j) if (i, j) in edges] for j in range(num_nodes)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, self.num_nodes):
            terms = [self.edges[key](nodes[i]) for i, key in self.incoming[j]]
            nodes.append(sum(terms[1:], terms[0]) if terms else torch.zeros_like(x))
        return nodes[-1]


class ClassifierHead(nn.Sequential):
    """Global average pooling then a linear classifier, after BN-ReLU for pre-activation networks."""

    def __init__(self, C: int, num_classes: int, preact: bool = True) -> None:
        layers: list[nn.Module] = [nn.BatchNorm2d(C), nn.ReLU()] if preact else []
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(C, num_classes)]
        super().__init__(*layers)
