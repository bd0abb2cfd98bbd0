"""The supernet of the chain space ("chain"): FBNet-style choices per block, plus depth and width.

Per block, every variant (op, kernel and, for inverted bottlenecks, expansion) is built and mixed with the
product of the weights of those three decisions. Width and depth change shapes, so they are relaxed by
keeping a feature map per candidate width:

- a block is built once per (input width, output width) pair; its output at width ``w`` sums, over input
  widths, the input width's weight times the mixed block applied to the feature map of that width;
- a stage's output is, per width, the depth-weighted average of what its blocks produced at that width
  (a network of depth ``d`` stops after block ``d - 1``), so ``stage{s}.depth`` is relaxed too;
- the head is built per width of the last stage and mixed like a block.

With one-hot weights every sum keeps exactly one term, so the supernet computes the standalone network of
that architecture, whose blocks are `nas_workbench.spaces.chain.make_block` modules like the candidates.
The price of exact widths is compute: a block runs (input widths x output widths x variants) candidates.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from nas_workbench.spaces._plan import scale
from nas_workbench.spaces.blocks import ClassifierHead
from nas_workbench.spaces.chain import ChainSpace, make_block
from nas_workbench.spaces.ops import ConvBN
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.dnas.supernet import CostFunction, Decision, Supernet, Weights, mix

__all__ = ["ChainSupernet"]

#: Below this total weight a width is unused: its (all-zero) feature map is not rescaled.
_TINY = 1e-12

Variant = tuple[str, int, Any]  # (op, kernel, expansion or None)


class _MixedBlock(nn.Module):
    """Every variant of one block for one (input width, output width) pair, mixed by the given weights."""

    def __init__(self, candidates: Sequence[nn.Module]) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(candidates)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return mix(self.candidates, weights, x)


class ChainSupernet(Supernet):
    """All chain networks of a `ChainSpace` in one module.

    Args:
        space: The chain space.
        input_shape: One input's shape (C, H, W).
        num_classes: Classes of the classifier.
        fixed: Decisions fixed to one choice (``{"stage1.depth": 2}``).
        width_multiplier: Scales every channel count.
    """

    space: ChainSpace

    @property
    def num_stages(self) -> int:
        return int(self.space.options["num_stages"])

    @property
    def max_depth(self) -> int:
        return int(self.space.options["max_depth"])

    @property
    def stem_width(self) -> int:
        return int(self.space.options["stem_channels"])

    @functools.cached_property
    def variants(self) -> list[Variant]:
        """Every (op, kernel, expansion) a block may be."""
        options = self.space.options
        return [
            (op, kernel, expansion)
            for op in options["ops"]
            for kernel in options["kernel_sizes"]
            for expansion in (options["expansions"] if op == "mbconv" else (None,))
        ]

    @functools.cached_property
    def widths(self) -> dict[int, tuple[int, ...]]:
        """Each stage's width choices."""
        return {stage: self.space.width_choices(stage) for stage in self.stages}

    def build_modules(self) -> None:
        options, width_multiplier = self.space.options, self.width_multiplier

        def channels(width: int) -> int:
            return scale(width, width_multiplier)

        self.stem = ConvBN(self.input_shape[0], channels(self.stem_width), 1, 3, relu="post")
        self.blocks = nn.ModuleDict()
        in_widths: tuple[int, ...] = (self.stem_width,)
        for stage in self.stages:
            for block in range(self.max_depth):
                stride = options["strides"][stage - 1] if block == 0 else 1
                self.blocks[self._block_key(stage, block)] = nn.ModuleDict(
                    {
                        _pair(w_in, w_out): _MixedBlock(
                            [
                                make_block(op, channels(w_in), channels(w_out), stride, kernel, expansion)
                                for op, kernel, expansion in self.variants
                            ]
                        )
                        for w_in in in_widths
                        for w_out in self.widths[stage]
                    }
                )
                in_widths = self.widths[stage]
        self.heads = nn.ModuleDict(
            {str(w): ClassifierHead(channels(w), self.num_classes, preact=False) for w in in_widths}
        )

    @property
    def stages(self) -> range:
        return range(1, self.num_stages + 1)

    def relaxed_decisions(self) -> list[Decision]:
        options = self.space.options
        decisions = []
        for stage in self.stages:
            decisions.append(Decision(f"stage{stage}.depth", tuple(range(1, self.max_depth + 1))))
            for block in range(self.max_depth):
                prefix = f"stage{stage}.block{block}."
                decisions += [
                    Decision(prefix + "op", tuple(options["ops"])),
                    Decision(prefix + "kernel", tuple(options["kernel_sizes"])),
                    Decision(prefix + "width", self.widths[stage]),
                ]
                if "mbconv" in options["ops"]:
                    decisions.append(Decision(prefix + "expansion", tuple(options["expansions"])))
        return decisions

    @staticmethod
    def _block_key(stage: int, block: int) -> str:
        return f"stage{stage}_block{block}"  # the standalone network's layer name

    def _variant_weights(self, weights: Weights, prefix: str) -> torch.Tensor:
        """Weight of each variant: P(op) · P(kernel) · P(expansion | op is "mbconv")."""
        ops, kernels = self.decisions[prefix + "op"], self.decisions[prefix + "kernel"]
        terms = []
        for op, kernel, expansion in self.variants:
            p = weights[prefix + "op"][ops.index(op)] * weights[prefix + "kernel"][kernels.index(kernel)]
            if expansion is not None:
                p = p * weights[prefix + "expansion"][self.decisions[prefix + "expansion"].index(expansion)]
            terms.append(p)
        return torch.stack(terms)

    # -- Supernet --------------------------------------------------------------------------------------
    def _forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        one = torch.ones((), device=x.device)
        # Per candidate width: the feature map given that width, and the probability of that width.
        # Widths and blocks of probability 0 (shrunk away, or not on a one-hot path) are not computed.
        features, dist = {self.stem_width: self.stem(x)}, {self.stem_width: one}
        for stage in self.stages:
            depth = weights[f"stage{stage}.depth"]
            reach = depth.flip(0).cumsum(0).flip(0).tolist()  # P(depth > block)
            total: dict[int, Any] = dict.fromkeys(self.widths[stage], 0.0)
            norm: dict[int, Any] = dict.fromkeys(self.widths[stage], 0.0)
            for block in range(self.max_depth):
                if reach[block] == 0:
                    break
                prefix = f"stage{stage}.block{block}."
                variants = self._variant_weights(weights, prefix)
                pairs = self._pairs(self._block_key(stage, block))
                out = dict(zip(self.widths[stage], weights[prefix + "width"], strict=True))
                live = dict(zip(self.widths[stage], (weights[prefix + "width"] != 0).tolist(), strict=True))
                features = {
                    w_out: _weighted_sum(
                        [(dist[w_in], pairs[_pair(w_in, w_out)](f, variants)) for w_in, f in features.items()]
                    )
                    for w_out in self.widths[stage]
                    if live[w_out]
                }
                dist = {w: out[w] for w in features}
                for w in features:  # a network of depth block + 1 ends here
                    total[w] = total[w] + depth[block] * dist[w] * features[w]
                    norm[w] = norm[w] + depth[block] * dist[w]
            features = {w: total[w] / norm[w].clamp_min(_TINY) for w in total if _live(norm[w])}
            dist = {w: norm[w] for w in features}
        return _weighted_sum([(dist[w], self.heads[str(w)](f)) for w, f in features.items()])

    def module_map(self, spec: ArchSpec) -> dict[str, str]:
        choices = spec.choices
        mapping = {"stem.": "stem."}
        width = self.stem_width
        for stage in self.stages:
            for block in range(choices[f"stage{stage}.depth"]):
                prefix = f"stage{stage}.block{block}."
                op, out = choices[prefix + "op"], choices[prefix + "width"]
                variant = self.variants.index(
                    (op, choices[prefix + "kernel"], choices.get(prefix + "expansion"))
                )
                key = self._block_key(stage, block)
                mapping[f"blocks.{key}.{_pair(width, out)}.candidates.{variant}."] = f"{key}."
                width = out
        mapping[f"heads.{width}."] = "head."
        return mapping

    def _pairs(self, key: str) -> dict[str, _MixedBlock]:
        """The mixed blocks of block ``key``, by (input width, output width) pair."""
        return cast("dict[str, _MixedBlock]", dict(cast(nn.ModuleDict, self.blocks[key]).items()))

    def candidates(self) -> dict[str, nn.Module]:
        found: dict[str, nn.Module] = {}
        for key in self.blocks:
            for pair, mixed in self._pairs(key).items():
                for index, module in enumerate(mixed.candidates):
                    found[f"blocks.{key}.{pair}.candidates.{index}"] = module
        found.update({f"heads.{w}": head for w, head in self.heads.items()})
        return found

    def cost_function(self, costs: Mapping[str, float]) -> CostFunction:
        def vector(key: str, pair: str) -> torch.Tensor:
            return torch.tensor(
                [costs[f"blocks.{key}.{pair}.candidates.{v}"] for v in range(len(self.variants))],
                device=self.device,
            )

        table = {key: {pair: vector(key, pair) for pair in self._pairs(key)} for key in self.blocks}
        heads = {int(w): costs[f"heads.{w}"] for w in self.heads}

        def expected(weights: Weights) -> torch.Tensor:
            # The same recursion as the forward pass, on probabilities: a block costs only if it runs
            # (depth > block), at the widths its input and output have.
            total = torch.zeros((), device=self.device)
            dist: dict[int, Any] = {self.stem_width: 1.0}
            for stage in self.stages:
                depth = weights[f"stage{stage}.depth"]
                reached = dict.fromkeys(self.widths[stage], 0.0)
                for block in range(self.max_depth):
                    prefix = f"stage{stage}.block{block}."
                    variants = self._variant_weights(weights, prefix)
                    out = dict(zip(self.widths[stage], weights[prefix + "width"], strict=True))
                    costs_here = table[self._block_key(stage, block)]
                    block_cost = sum(
                        dist[w_in] * out[w_out] * (variants * costs_here[_pair(w_in, w_out)]).sum()
                        for w_in in dist
                        for w_out in out
                    )
                    total = total + depth[block:].sum() * block_cost
                    dist = out
                    for w in reached:
                        reached[w] = reached[w] + depth[block] * out[w]
                dist = reached
            return total + sum(dist[w] * heads[w] for w in dist)

        return expected


def _pair(w_in: int, w_out: int) -> str:
    return f"{w_in}to{w_out}"


def _live(weight: Any) -> bool:
    """Whether a width's weight is not exactly 0 (a float 0.0 stands for "never reached")."""
    return bool(weight != 0)


def _weighted_sum(terms: Sequence[tuple[Any, torch.Tensor]]) -> torch.Tensor:
    """``Σ weight · tensor`` over ``terms`` (weights are scalars or 0-d tensors)."""
    total = terms[0][0] * terms[0][1]
    for weight, tensor in terms[1:]:
        total = total + weight * tensor
    return total
