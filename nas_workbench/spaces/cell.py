"""Cell spaces: NAS-Bench-201 exactly ("nb201") and its generalisation ("cell").

One cell, a DAG of ``num_nodes`` nodes with an op on every edge ``i → j`` (``i < j``), is repeated through a
fixed ResNet-like skeleton (Dong & Yang, NAS-Bench-201, ICLR 2020)::

    stem: 3x3 conv (C, no bias) + BN
    stage 1: N cells at C        → ResNet basic block (stride 2) →
    stage 2: N cells at 2C       → ResNet basic block (stride 2) →
    stage 3: N cells at 4C       → BN-ReLU, global average pool, linear

With the defaults (C=16, N=5, 4 nodes, ops none / skip_connect / nor_conv_1x1 / nor_conv_3x3 /
avg_pool_3x3) on 3x32x32 inputs and 10 classes, "nb201" has NAS-Bench-201's parameter counts and FLOPs for
every architecture. Edges with the "none" op are left out of the built network: they add zero, so the
function, the parameters and the FLOPs are those of NAS-Bench-201, without the dead multiply.

Architectures read and write NAS-Bench-201's strings, one ``|op~input|`` group per node::

    |nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|

Both spaces are relaxable: a supernet takes `CellSpace.edges` and `CellSpace.op_names`, puts a mixed op of
``make_op(name, C, C, 1)`` for every name on every edge of a `blocks.Cell`, and gets the skeleton from
`CellSpace.build_network`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from nas_workbench._registry import unknown_name_message
from nas_workbench.exceptions import SpaceError
from nas_workbench.spaces._base import Choice, NetworkShape, SearchSpace, Suggester
from nas_workbench.spaces._op_registry import OPS, make_op
from nas_workbench.spaces._options import check_int, check_names
from nas_workbench.spec import ArchSpec

if TYPE_CHECKING:
    from torch import nn

__all__ = ["NB201_OPS", "CellSpace", "NB201Space"]

#: NAS-Bench-201's op set, in its order.
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

_STAGES = 3  # the skeleton: C, 2C, 4C


class CellSpace(SearchSpace):
    """Cells of ``num_nodes`` nodes with any registered ops, in NAS-Bench-201's skeleton.

    Options:
        num_cells: Cells per stage (N).
        stem_channels: Channels of the stem and the first stage (C); the stages have C, 2C, 4C.
        num_nodes: Nodes per cell, the input included (4 gives 6 edges).
        ops: The candidate ops of every edge, names from `nas_workbench.spaces.ops.OPS`.

    Decisions: ``node{j}.from{i}``, the op on the edge from node ``i`` to node ``j``.
    """

    name = "cell"
    relaxable = True
    default_options: ClassVar[Mapping[str, Any]] = {
        "num_cells": 5,
        "stem_channels": 16,
        "num_nodes": 4,
        "ops": NB201_OPS,
    }

    def validate_options(self, options: dict[str, Any]) -> None:
        check_int(options, "num_cells")
        check_int(options, "stem_channels")
        check_int(options, "num_nodes", minimum=2)
        check_names(options, "ops", OPS.names(), "op")

    # -- the structure a supernet needs ----------------------------------------------------------------
    @property
    def op_names(self) -> tuple[str, ...]:
        """The candidate ops of every edge."""
        return tuple(self.options["ops"])

    @property
    def num_nodes(self) -> int:
        """Nodes per cell, the input node 0 included; the last node is the output."""
        return int(self.options["num_nodes"])

    @property
    def edges(self) -> list[tuple[int, int]]:
        """The edges ``(from, to)`` of a cell, in the order of the decisions and of NB201 strings."""
        return [(i, j) for j in range(1, self.num_nodes) for i in range(j)]

    @staticmethod
    def decision_name(i: int, j: int) -> str:
        """The decision that picks the op on edge ``i → j``."""
        return f"node{j}.from{i}"

    def edge_ops(self, spec: ArchSpec) -> dict[tuple[int, int], str]:
        """The op of each edge of ``spec``."""
        return {(i, j): spec.choices[self.decision_name(i, j)] for i, j in self.edges}

    def build_network(self, make_cell: Callable[[int], nn.Module], shape: NetworkShape) -> nn.Sequential:
        """The skeleton around cells from ``make_cell(channels)`` (a supernet passes a cell of mixed ops)."""
        from torch import nn

        from nas_workbench.spaces.blocks import ClassifierHead, ResNetBasicBlock
        from nas_workbench.spaces.ops import ConvBN

        C = max(1, round(self.options["stem_channels"] * shape.width_multiplier))
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            stem=ConvBN(shape.input_shape[0], C, 1, 3, relu="none")
        )
        width = C
        for stage in range(1, _STAGES + 1):
            if stage > 1:
                layers[f"reduce{stage}"] = ResNetBasicBlock(width, 2 * width, stride=2)
                width *= 2
            for index in range(self.options["num_cells"]):
                layers[f"stage{stage}_cell{index}"] = make_cell(width)
        layers["head"] = ClassifierHead(width, shape.num_classes)
        return nn.Sequential(layers)

    # -- SearchSpace -----------------------------------------------------------------------------------
    def define(self, suggester: Suggester) -> dict[str, Choice]:
        choices: dict[str, Choice] = {}
        for i, j in self.edges:
            name = self.decision_name(i, j)
            choices[name] = suggester.suggest_categorical(name, self.op_names)
        return choices

    def size(self) -> int:
        return len(self.op_names) ** len(self.edges)

    def assemble(self, spec: ArchSpec, shape: NetworkShape) -> nn.Module:
        from nas_workbench.spaces.blocks import Cell

        live = {edge: op for edge, op in self.edge_ops(spec).items() if op != "none"}

        def make_cell(C: int) -> nn.Module:
            return Cell(self.num_nodes, {edge: make_op(op, C, C, 1) for edge, op in live.items()})

        return self.build_network(make_cell, shape)

    def live(self, spec: ArchSpec) -> ArchSpec:
        """``spec`` with "none" on every edge that lies on no path from the cell's input to its output.

        Such an op computes something no output depends on (its target feeds nothing that reaches the
        output) or transforms a node that only ever holds zeros (no path from the input reaches it); a
        network counts its FLOPs and parameters all the same. The live cell's counted FLOPs are a
        data-free estimator that, unlike the plain count, gives a dead conv no credit (the engine's
        ``live_flops`` score, `nas_workbench.engine.CandidateScores`).
        """
        ops = self.edge_ops(self.validate(spec))
        used = {edge for edge, op in ops.items() if op != "none"}
        reached = {0}
        for j in range(1, self.num_nodes):  # edges go forward: one pass in node order
            if any((i, j) in used for i in reached):
                reached.add(j)
        reaching = {self.num_nodes - 1}
        for i in reversed(range(self.num_nodes - 1)):
            if any((i, j) in used for j in reaching):
                reaching.add(i)
        dead = [(i, j) for i, j in used if i not in reached or j not in reaching]
        if not dead:
            return spec
        return self.spec({**spec.choices, **{self.decision_name(i, j): "none" for i, j in dead}})

    def signature(self, spec: ArchSpec) -> str:
        """The function the cell computes, as a string two cells share when they compute the same one.

        Each node is the sum of its live edges' terms: a skip passes its source's terms on, "none" and an
        op on a node that holds nothing add none, any other op adds ``op(source)``; the output node's sorted
        terms are the signature. So cells that differ only in dead ops, in the order of a sum or in which
        intermediate node a skip chain runs through (``conv1x1`` on ``0 → 3`` and ``conv1x1`` on ``0 → 1``
        then a skip ``1 → 3``) share it. NAS-Bench-201 trains each such twin separately, so their
        accuracies differ by training noise only; a search learns nothing new from a second one.
        """
        ops = self.edge_ops(self.validate(spec))
        nodes: list[list[str]] = [["x"]]
        for j in range(1, self.num_nodes):
            terms: list[str] = []
            for i in range(j):
                op, source = ops[(i, j)], nodes[i]
                if op == "skip_connect":
                    terms.extend(source)
                elif op != "none" and source:
                    terms.append(f"{op}({'+'.join(source)})")
            nodes.append(sorted(terms))
        return "+".join(nodes[-1])

    def describe(self, spec: ArchSpec) -> list[dict[str, Any]]:
        """The cell's edges, ``{"from", "to", "op", "decision"}``, for drawing the DAG."""
        return [
            {"from": i, "to": j, "op": op, "decision": self.decision_name(i, j)}
            for (i, j), op in self.edge_ops(spec).items()
        ]

    def format(self, spec: ArchSpec) -> str:
        """The NAS-Bench-201 string of ``spec``."""
        ops = self.edge_ops(spec)
        groups = (
            "|" + "|".join(f"{ops[i, j]}~{i}" for i in range(j)) + "|" for j in range(1, self.num_nodes)
        )
        return "+".join(groups)

    def parse(self, text: str) -> ArchSpec:
        """Read a NAS-Bench-201 string (or the JSON `SearchSpace.parse` reads); errors say what is wrong."""
        text = text.strip()
        if text.startswith("{"):
            return super().parse(text)
        return self.spec(self._parse_arch_string(text))

    def _parse_arch_string(self, text: str) -> dict[str, Choice]:
        example = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|"
        if len(text) < 2 or not (text.startswith("|") and text.endswith("|")):
            raise SpaceError(
                f"{text!r} is not a cell string: it must start and end with '|', like {example!r}"
            )
        groups = text.split("+")
        if len(groups) != self.num_nodes - 1:
            raise SpaceError(
                f"{text!r} has {len(groups)} node group(s) separated by '+'; the {self.name!r} space has "
                f"{self.num_nodes - 1} (nodes 1 to {self.num_nodes - 1})"
            )
        choices: dict[str, Choice] = {}
        for j, group in enumerate(groups, start=1):
            if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
                raise SpaceError(f"node {j}: group {group!r} must be '|op~input|...|'")
            tokens = group[1:-1].split("|")
            if len(tokens) != j:
                raise SpaceError(
                    f"node {j}: group {group!r} has {len(tokens)} edge(s); node {j} takes {j}, "
                    f"one from each of nodes 0 to {j - 1}"
                )
            for token in tokens:
                op, tilde, source = token.rpartition("~")
                if not tilde or not op:
                    raise SpaceError(f"node {j}: edge {token!r} must be 'op~input', like 'nor_conv_3x3~0'")
                if not source.isdigit() or int(source) >= j:
                    raise SpaceError(
                        f"node {j}: edge {token!r} has input {source!r}; it must be 0 to {j - 1}"
                    )
                if op not in self.op_names:
                    raise SpaceError(
                        f"node {j}: edge {token!r}: {unknown_name_message('op', op, list(self.op_names))}"
                    )
                name = self.decision_name(int(source), j)
                if name in choices:
                    raise SpaceError(f"node {j}: group {group!r} has two edges from node {source}")
                choices[name] = op
        return choices


class NB201Space(CellSpace):
    """NAS-Bench-201's search space exactly: 4 nodes, its 5 ops, 15,625 architectures.

    Options:
        num_cells: Cells per stage (N, 5 in the benchmark).
        stem_channels: C (16 in the benchmark).
    """

    name = "nb201"
    default_options: ClassVar[Mapping[str, Any]] = {"num_cells": 5, "stem_channels": 16}

    def validate_options(self, options: dict[str, Any]) -> None:
        check_int(options, "num_cells")
        check_int(options, "stem_channels")

    @property
    def op_names(self) -> tuple[str, ...]:
        return NB201_OPS

    @property
    def num_nodes(self) -> int:
        return 4
