"""The supernet of the cell spaces ("cell", "nb201"): DARTS, a mixed op on every edge of every cell.

Every cell of the skeleton is a `nas_workbench.spaces.blocks.Cell` whose edge ``i → j`` is a `MixedOp` of
all candidate ops (``make_op(name, C, C, 1)`` for each of the space's op names); all cells share one weight
vector per edge, as NAS-Bench-201's architectures repeat one cell. The skeleton (stem, reduction blocks,
head) comes from `CellSpace.build_network`, so it is the standalone network's, module for module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from nas_workbench.spaces import NetworkShape
from nas_workbench.spaces.blocks import Cell
from nas_workbench.spaces.cell import CellSpace
from nas_workbench.spaces.ops import make_op
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.dnas.supernet import CostFunction, Decision, MixedOp, Supernet, Weights

__all__ = ["CellSupernet"]


class CellSupernet(Supernet):
    """Cells of mixed ops in the space's skeleton.

    Args:
        space: A `CellSpace` ("cell" or "nb201").
        input_shape: One input's shape (C, H, W).
        num_classes: Classes of the classifier.
        fixed: Decisions fixed to one op (``{"node1.from0": "nor_conv_3x3"}``).
        width_multiplier: Scales every channel count.
    """

    space: CellSpace

    def relaxed_decisions(self) -> list[Decision]:
        space = self.space
        return [Decision(space.decision_name(i, j), space.op_names) for i, j in space.edges]

    def build_modules(self) -> None:
        space = self.space

        def make_cell(C: int) -> nn.Module:
            edges = {
                (i, j): MixedOp(
                    [make_op(op, C, C, 1) for op in space.op_names], space.decision_name(i, j), self._board
                )
                for i, j in space.edges
            }
            return Cell(space.num_nodes, edges)

        shape = NetworkShape(tuple(self.input_shape), self.num_classes, self.width_multiplier)
        self.net = space.build_network(make_cell, shape)

        probe = [make_op(op, 1, 1, 1) for op in space.op_names]
        self._learnable = {k for k, op in enumerate(probe) if any(True for _ in op.parameters())}

    def _forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        return self.net(x)  # the mixed ops read ``weights`` from the board

    # -- the collapse guard ----------------------------------------------------------------------------
    def learnable(self, name: str) -> set[int]:
        return set(self._learnable)

    def learnable_path(self, spec: ArchSpec) -> bool:
        """Whether the cell links its input to its output through learnable ops alone (a convolution on
        every edge of some path): what DARTS' collapse to skip connections, pooling and "none" loses."""
        ops = self.space.edge_ops(spec)
        reached = {0}
        for i, j in self.space.edges:  # topological: edges into j come after those into i < j
            if i in reached and self.space.op_names.index(ops[i, j]) in self._learnable:
                reached.add(j)
        return self.space.num_nodes - 1 in reached

    def guard(self, spec: ArchSpec, probabilities: Mapping[str, Sequence[float]]) -> ArchSpec:
        """The collapse guard: a cell without a learnable input-to-output path gets one, on the path whose
        best learnable ops are the most likely together (each such edge takes its best learnable op)."""
        if self.learnable_path(spec) or not self._learnable:
            return spec

        def best(i: int, j: int) -> tuple[float, str]:
            p = probabilities[self.space.decision_name(i, j)]
            k = max(self._learnable, key=lambda k: p[k])
            return math.log(max(p[k], 1e-300)), self.space.op_names[k]

        last = self.space.num_nodes - 1
        # the most likely learnable path to every node, by dynamic programming over the DAG
        paths: dict[int, tuple[float, list[tuple[int, int]]]] = {0: (0.0, [])}
        for j in range(1, last + 1):
            paths[j] = max(
                ((paths[i][0] + best(i, j)[0], [*paths[i][1], (i, j)]) for i in range(j)),
                key=lambda item: item[0],
            )
        choices = dict(spec.choices)
        for i, j in paths[last][1]:
            choices[self.space.decision_name(i, j)] = best(i, j)[1]
        return self.space.spec(choices)

    def _mixed_ops(self) -> dict[str, MixedOp]:
        return {name: m for name, m in self.named_modules() if isinstance(m, MixedOp)}

    def module_map(self, spec: ArchSpec) -> dict[str, str]:
        mapping = {"net.": ""}
        for name, mixed in self._mixed_ops().items():
            op = spec.choices[mixed.decision]
            if op != "none":  # the standalone cell leaves "none" edges out
                index = self.decisions[mixed.decision].index(op)
                mapping[f"{name}.candidates.{index}."] = f"{name.removeprefix('net.')}."
        return mapping

    def _edge_candidates(self) -> dict[str, nn.Module]:
        return {
            f"{name}.candidates.{k}": op
            for name, mixed in self._mixed_ops().items()
            for k, op in enumerate(mixed.candidates)
        }

    def candidates(self) -> dict[str, nn.Module]:
        """What each edge's choice costs in the standalone cell: "none" nothing (the cell leaves the edge
        out), any other op itself and the addition that joins its output to its node's sum. Costing the
        supernet's `Zero` instead made "none" dearer than a skip connection, where a cell of "none" edges
        times 14% faster than the same cell with skip connections (nb201, 2 cells per stage, one 1x1
        convolution: 0.488 against 0.566 ms at load 8, 2026-12-04), and the landing could not reach
        the space's cheap end."""
        none = self.space.op_names.index("none") if "none" in self.space.op_names else -1
        return {
            key: nn.Sequential() if key.endswith(f".candidates.{none}") else _Joined(op)
            for key, op in self._edge_candidates().items()
        }

    def candidate_inputs(self, candidates: Mapping[str, nn.Module]) -> dict[str, tuple[int, ...]]:
        shapes = super().candidate_inputs(self._edge_candidates())  # the stand-ins see their ops' inputs
        # A fixed decision's other choices weigh 0 and are skipped (`mix`), so their hooks never fire: every
        # candidate of an edge sees the edge's input, which the choice that ran recorded.
        for name, mixed in self._mixed_ops().items():
            keys = [f"{name}.candidates.{k}" for k in range(len(mixed.candidates))]
            ran = next(shapes[key] for key in keys if key in shapes)
            shapes.update({key: ran for key in keys})
        return shapes

    def cost_function(self, costs: Mapping[str, float]) -> CostFunction:
        # All cells share the edge weights, so the costs of one decision's choices add up across cells.
        per_choice = {name: torch.zeros(len(d.choices)) for name, d in self.decisions.items()}
        for name, mixed in self._mixed_ops().items():
            per_choice[mixed.decision] += torch.tensor(
                [costs[f"{name}.candidates.{k}"] for k in range(len(mixed.candidates))], dtype=torch.float32
            )

        def expected(weights: Weights) -> torch.Tensor:
            return sum(
                ((weights[name] * c.to(weights[name].device)).sum() for name, c in per_choice.items()),
                torch.zeros((), device=self.device),
            )

        return expected


class _Joined(nn.Module):
    """An edge's op followed by the addition that joins it to its node's sum (for the cost model only)."""

    def __init__(self, op: nn.Module) -> None:
        super().__init__()
        self.op = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.op(x)
        return y + y
