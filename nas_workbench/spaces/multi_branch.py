"""The multi-branch space ("multi_branch"): blocks of parallel branches, Inception- and ResNeXt-like.

A stem, then stages of a fixed number of blocks; per block the number of branches, each branch's op (any
registered op, `nas_workbench.spaces.ops.OPS`), how the branches combine (summed, as in ResNeXt, or
concatenated and projected by a 1x1 convolution, as in Inception; asked only for two branches or more) and
whether the block adds a residual skip (a projection shortcut where the shape changes). The first block of a
stage carries the stage's stride. The network is pre-activation (ops are ReLU-Conv-BN) and ends in
BN-ReLU, global average pooling and a linear classifier.

The defaults suit scikit-learn's 1x8x8 digits and work on 3x32x32: 3 stages of one block at 8, 16 and 32
channels, each of 1-3 branches of 6 ops; a typical network trains 5 epochs on the 1,078 training digits in
1-2 s of one CPU core and reaches 97-99% test accuracy (benchmarks/spaces_digits.py).

Branch order is part of the architecture: two blocks whose branches are permutations of each other are
distinct architectures here (their parameters are laid out differently), and `size` counts them apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from nas_workbench.spaces._base import Choice, Suggester
from nas_workbench.spaces._op_registry import OPS, make_op
from nas_workbench.spaces._options import check_int, check_names, is_int, resolve_per_stage
from nas_workbench.spaces._plan import Block, BlockSite, PlannedSpace, scale
from nas_workbench.spec import ArchSpec

if TYPE_CHECKING:
    from torch import nn

__all__ = ["COMBINES", "MultiBranchSpace"]

#: How a block's branches combine.
COMBINES = ("sum", "concat")


class MultiBranchSpace(PlannedSpace):
    """Networks of multi-branch blocks with optional residual skips.

    Options:
        num_stages: Number of stages.
        blocks_per_stage: Blocks in every stage.
        stem_channels: Channels of the 3x3 stem.
        widths: Channels of each stage (None: ``stem_channels`` doubling each stage).
        strides: Stride of each stage's first block (None: 1, then 2 for every later stage).
        max_branches: A block has 1 to ``max_branches`` branches (searched).
        ops: Branch ops, names from `nas_workbench.spaces.ops.OPS`.
        combines: Ways to combine two branches or more, from "sum" and "concat".

    Decisions, per block ``stage{s}.block{b}`` (stages count from 1, blocks and branches from 0):
    ``.branches``, ``.branch{k}.op`` for each branch, ``.combine`` (two branches or more), ``.skip``.
    """

    name = "multi_branch"
    default_options: ClassVar[Mapping[str, Any]] = {
        "num_stages": 3,
        "blocks_per_stage": 1,
        "stem_channels": 8,
        "widths": None,
        "strides": None,
        "max_branches": 3,
        "ops": (
            "nor_conv_1x1",
            "nor_conv_3x3",
            "nor_conv_5x5",
            "sep_conv_3x3",
            "dil_conv_3x3",
            "max_pool_3x3",
        ),
        "combines": COMBINES,
    }

    def validate_options(self, options: dict[str, Any]) -> None:
        for key in ("num_stages", "blocks_per_stage", "stem_channels", "max_branches"):
            check_int(options, key)
        resolve_per_stage(
            options, "widths", lambda i: options["stem_channels"] * 2**i, is_int, "integers >= 1"
        )
        resolve_per_stage(options, "strides", lambda i: 1 if i == 0 else 2, is_int, "integers >= 1")
        check_names(options, "ops", OPS.names(), "op")
        check_names(options, "combines", COMBINES, "combine")

    def blocks(self) -> list[tuple[int, int, str]]:
        """Each block's stage (from 1), index in its stage and name ("stage1.block0"), in network order."""
        return [
            (stage, block, f"stage{stage}.block{block}")
            for stage in range(1, self.options["num_stages"] + 1)
            for block in range(self.options["blocks_per_stage"])
        ]

    # -- SearchSpace -----------------------------------------------------------------------------------
    def define(self, suggester: Suggester) -> dict[str, Choice]:
        choices: dict[str, Choice] = {}

        def ask(name: str, values: Sequence[Choice]) -> Choice:
            choices[name] = suggester.suggest_categorical(name, tuple(values))
            return choices[name]

        for _, _, block in self.blocks():
            branches = ask(f"{block}.branches", range(1, self.options["max_branches"] + 1))
            for branch in range(branches):
                ask(f"{block}.branch{branch}.op", self.options["ops"])
            if branches > 1:
                ask(f"{block}.combine", self.options["combines"])
            ask(f"{block}.skip", (True, False))
        return choices

    def size(self) -> int:
        ops, combines = len(self.options["ops"]), len(self.options["combines"])
        branchings = ops + combines * sum(ops**n for n in range(2, self.options["max_branches"] + 1))
        return (2 * branchings) ** len(self.blocks())

    # -- PlannedSpace ----------------------------------------------------------------------------------
    preactivation = True  # its ops are ReLU-Conv-BN

    def depths(self, choices: Mapping[str, Choice]) -> list[int]:
        return [self.options["blocks_per_stage"]] * self.options["num_stages"]

    def block(self, choices: Mapping[str, Choice], site: BlockSite) -> Block:
        name = site.name
        out = scale(self.options["widths"][site.stage - 1], site.width_multiplier)
        ops = tuple(choices[f"{name}.branch{k}.op"] for k in range(choices[f"{name}.branches"]))
        combine, skip = choices.get(f"{name}.combine"), choices[f"{name}.skip"]
        make = partial(_block, ops, combine or "sum", skip, site.channels_in, out, site.stride)
        return Block(
            make, out, {"op": " + ".join(ops), "branches": len(ops), "combine": combine, "skip": skip}
        )

    def summary(self, spec: ArchSpec) -> str:
        """Blocks as ``op+op/combine`` and ``+skip``: ``nor_conv_3x3+max_pool_3x3/concat+skip | ...``."""
        parts = []
        for row in self.plan(spec, None)[1:-1]:
            combine = f"/{row.details['combine']}" if row.details["combine"] else ""
            parts.append(
                f"{row.details['op'].replace(' ', '')}{combine}{'+skip' if row.details['skip'] else ''}"
            )
        return " | ".join(parts)


def _block(ops: Sequence[str], combine: str, skip: bool, C_in: int, C_out: int, stride: int) -> nn.Module:
    from nas_workbench.spaces.blocks import MultiBranch, Residual, shortcut

    branches = MultiBranch([make_op(op, C_in, C_out, stride) for op in ops], C_out, combine)
    return Residual(branches, shortcut(C_in, C_out, stride)) if skip else branches
