"""The chain space ("chain"): a stem, stages of blocks one after another, a classifier.

Per stage the depth, per block the op, kernel size and width, and, for inverted bottlenecks only, the
expansion: the MnasNet / FBNet family of chain-structured spaces. The first block of a stage carries the
stage's stride; a block whose input and output shapes match adds its input (a residual connection).

The defaults are sized for scikit-learn's 1x8x8 digits and work on 3x32x32 too: 3 stages of 1-3 blocks of
4-8, 8-16 and 16-32 channels at strides 1, 2, 2. From all-first to all-last choices the networks grow from
2k to 65k parameters and their latency by an order of magnitude; a typical one trains 5 epochs on the 1,078
training digits in 1-2 s of one CPU core and reaches 97-99% test accuracy (benchmarks/spaces_digits.py).
``stem_channels=16`` gives NAS-Bench-201's widths 16, 32, 64 for larger images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from nas_workbench.spaces._base import Choice, Suggester
from nas_workbench.spaces._op_registry import op_module
from nas_workbench.spaces._options import check_choices, check_int, check_names, is_int, resolve_per_stage
from nas_workbench.spaces._plan import Block, BlockSite, PlannedSpace, scale
from nas_workbench.spec import ArchSpec

if TYPE_CHECKING:
    from torch import nn

__all__ = ["CHAIN_BLOCKS", "ChainSpace", "has_residual", "make_block"]

#: The chain's block ops: (C_in, C_out, stride, kernel_size, expansion) → module (of `spaces.ops`).
CHAIN_BLOCKS = {
    "conv": lambda C_in, C_out, stride, k, e: op_module("ConvBN", C_in, C_out, stride, k, relu="post"),
    "dwsep": lambda C_in, C_out, stride, k, e: op_module(
        "DepthwiseSeparable", C_in, C_out, stride, k, relu="post"
    ),
    "mbconv": lambda C_in, C_out, stride, k, e: op_module("MBConv", C_in, C_out, stride, k, expansion=e),
}


class ChainSpace(PlannedSpace):
    """Chain-structured networks: stages of blocks, each block's op, kernel, width and expansion searched.

    Options:
        num_stages: Number of stages.
        max_depth: Blocks per stage, 1 to ``max_depth`` (searched).
        stem_channels: Channels of the 3x3 stem.
        widths: Base width of each stage (None: ``stem_channels`` doubling each stage).
        strides: Stride of each stage's first block (None: 1, then 2 for every later stage).
        width_ratios: A block's width choices, as ratios of its stage's base width.
        ops: Block ops, from "conv" (Conv-BN-ReLU), "dwsep" (depthwise-separable), "mbconv" (inverted
            bottleneck).
        kernel_sizes: Kernel size choices (odd).
        expansions: Expansion choices of "mbconv" blocks.

    Decisions: ``stage{s}.depth``, then per block ``stage{s}.block{b}.op``, ``.kernel``, ``.width`` and,
    for "mbconv" blocks, ``.expansion`` (stages count from 1, blocks from 0).
    """

    name = "chain"
    relaxable = True  # per block: op, kernel, width, expansion; per stage: depth (strategies.dnas.chain)
    default_options: ClassVar[Mapping[str, Any]] = {
        "num_stages": 3,
        "max_depth": 3,
        "stem_channels": 8,
        "widths": None,
        "strides": None,
        "width_ratios": (0.5, 1.0),
        "ops": tuple(CHAIN_BLOCKS),
        "kernel_sizes": (3, 5),
        "expansions": (3, 6),
    }

    def validate_options(self, options: dict[str, Any]) -> None:
        for key in ("num_stages", "max_depth", "stem_channels"):
            check_int(options, key)
        resolve_per_stage(
            options, "widths", lambda i: options["stem_channels"] * 2**i, is_int, "integers >= 1"
        )
        resolve_per_stage(options, "strides", lambda i: 1 if i == 0 else 2, is_int, "integers >= 1")
        check_choices(options, "width_ratios", _is_positive, "numbers > 0")
        check_names(options, "ops", tuple(CHAIN_BLOCKS), "block op")
        check_choices(options, "kernel_sizes", lambda k: is_int(k) and k % 2 == 1, "odd integers")
        check_choices(options, "expansions", _is_positive, "numbers > 0")

    def width_choices(self, stage: int) -> tuple[int, ...]:
        """The width choices of blocks in ``stage`` (from 1)."""
        base = self.options["widths"][stage - 1]
        return tuple(sorted({scale(base, ratio) for ratio in self.options["width_ratios"]}))

    # -- SearchSpace -----------------------------------------------------------------------------------
    def define(self, suggester: Suggester) -> dict[str, Choice]:
        choices: dict[str, Choice] = {}

        def ask(name: str, values: Sequence[Choice]) -> Choice:
            choices[name] = suggester.suggest_categorical(name, tuple(values))
            return choices[name]

        for stage in range(1, self.options["num_stages"] + 1):
            depth = ask(f"stage{stage}.depth", range(1, self.options["max_depth"] + 1))
            for block in range(depth):
                prefix = f"stage{stage}.block{block}."
                op = ask(prefix + "op", self.options["ops"])
                ask(prefix + "kernel", self.options["kernel_sizes"])
                ask(prefix + "width", self.width_choices(stage))
                if op == "mbconv":
                    ask(prefix + "expansion", self.options["expansions"])
        return choices

    def size(self) -> int:
        ops = self.options["ops"]
        variants = len(ops) - ("mbconv" in ops) + ("mbconv" in ops) * len(self.options["expansions"])
        total = 1
        for stage in range(1, self.options["num_stages"] + 1):
            per_block = variants * len(self.options["kernel_sizes"]) * len(self.width_choices(stage))
            total *= sum(per_block**depth for depth in range(1, self.options["max_depth"] + 1))
        return total

    # -- PlannedSpace ----------------------------------------------------------------------------------
    def depths(self, choices: Mapping[str, Choice]) -> list[int]:
        return [choices[f"stage{stage}.depth"] for stage in range(1, self.options["num_stages"] + 1)]

    def block(self, choices: Mapping[str, Choice], site: BlockSite) -> Block:
        prefix = site.name + "."
        op, kernel = choices[prefix + "op"], choices[prefix + "kernel"]
        expansion = choices.get(prefix + "expansion")
        C_in, stride = site.channels_in, site.stride
        out = scale(choices[prefix + "width"], site.width_multiplier)
        residual = has_residual(C_in, out, stride)
        make = partial(make_block, op, C_in, out, stride, kernel, expansion)
        return Block(make, out, {"op": op, "kernel": kernel, "expansion": expansion, "residual": residual})

    def summary(self, spec: ArchSpec) -> str:
        """Stages of ``op kernel [e expansion] : width`` blocks: ``conv3:16 mbconv5e6:16 | dwsep3:32``."""
        c = spec.choices
        stages = []
        for stage in range(1, self.options["num_stages"] + 1):
            blocks = []
            for block in range(c[f"stage{stage}.depth"]):
                prefix = f"stage{stage}.block{block}."
                expansion = f"e{c[prefix + 'expansion']:g}" if prefix + "expansion" in c else ""
                blocks.append(f"{c[prefix + 'op']}{c[prefix + 'kernel']}{expansion}:{c[prefix + 'width']}")
            stages.append(" ".join(blocks))
        return " | ".join(stages)


def has_residual(C_in: int, C_out: int, stride: int) -> bool:
    """Whether a block adds its input: when its input and output shapes match."""
    return stride == 1 and C_in == C_out


def make_block(
    op: str, C_in: int, C_out: int, stride: int, kernel: int, expansion: float | None
) -> nn.Module:
    """One block of a chain network (also a candidate of the chain supernet's mixed blocks)."""
    from nas_workbench.spaces.blocks import Residual

    module = CHAIN_BLOCKS[op](C_in, C_out, stride, kernel, expansion)
    return Residual(module) if has_residual(C_in, C_out, stride) else module


def _is_positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
