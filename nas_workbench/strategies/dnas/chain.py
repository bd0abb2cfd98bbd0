"""The supernet of the chain space ("chain"): FBNetV2-style shared weights per block, plus depth.

Per block there is one module per op ("conv", "dwsep", "mbconv"), built once at the block's largest input
width, output width, kernel and expansion; the other choices are slices of it (`masks`): a narrower block
is its first channels (FBNetV2's channel masking), a smaller kernel the centre of the largest (Once-for-All,
Single-Path NAS), a smaller expansion the first hidden channels. So every choice of a block trains the same
weight tensors, and the relaxation mixes masks, not modules:

- the ops of a block are mixed by the op weights (``Σ_op p_op · op(x)``); the kernel weights mix the kernel
  (``W · Σ_k p_k · centre_k``), the width weights the output channels (``y · Σ_w p_w · [c < w]``), and for
  "mbconv" the expansion and input width weights the hidden channels;
- one feature map per block at its largest width carries every width (the channels past the chosen width
  are masked to zero), and a residual is added with the probability that input and output widths match;
- a stage's output is the depth-weighted sum of what its blocks produced (depth ``d`` stops after block
  ``d - 1``), so ``stage{s}.depth`` is relaxed too.

With one-hot weights the masks keep exactly the chosen slice, so the supernet computes the standalone
network of that architecture (`nas_workbench.spaces.chain`), whose weights `export_state` cuts out.
Before (one module per input width, output width and variant: 272 modules in the default space), the
supernet trained each candidate a handful of times and never learnt (benchmarks/dnas/README.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from nas_workbench.spaces._plan import scale
from nas_workbench.spaces.blocks import ClassifierHead
from nas_workbench.spaces.chain import ChainSpace, has_residual, make_block
from nas_workbench.spaces.ops import ConvBN, DepthwiseSeparable
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.dnas.masks import conv_bn, fit_channels, kernel_mask, slice_like, width_mask
from nas_workbench.strategies.dnas.supernet import CostFunction, Decision, Supernet, Weights

__all__ = ["ChainSupernet", "SharedBlock"]

Variant = tuple[str, int, Any]  # (op, kernel, expansion or None)


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


class ChainSupernet(Supernet):
    """All chain networks of a `ChainSpace` in one module, weights shared across each block's choices.

    Args:
        space: The chain space.
        input_shape: One input's shape (C, H, W).
        num_classes: Classes of the classifier.
        fixed: Decisions fixed to one choice (``{"stage1.depth": 2}``).
        width_multiplier: Scales every channel count.
    """

    space: ChainSpace
    sequential = True

    @property
    def stages(self) -> range:
        return range(1, int(self.space.options["num_stages"]) + 1)

    @property
    def max_depth(self) -> int:
        return int(self.space.options["max_depth"])

    @property
    def stem_width(self) -> int:
        return int(self.space.options["stem_channels"])

    def channels(self, width: int) -> int:
        """The channel count of a width choice, scaled by the width multiplier."""
        return scale(width, self.width_multiplier)

    @functools.cached_property
    def variants(self) -> list[Variant]:
        """Every (op, kernel, expansion) a block may be (the units of the cost model)."""
        options = self.space.options
        return [
            (op, kernel, expansion)
            for op in options["ops"]
            for kernel in options["kernel_sizes"]
            for expansion in (options["expansions"] if op == "mbconv" else (None,))
        ]

    @functools.cached_property
    def sites(self) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], int]]:
        """Each block's input width choices, output width choices (unscaled) and stride, by block key."""
        sites = {}
        in_widths: tuple[int, ...] = (self.stem_width,)
        for stage in self.stages:
            widths = self.space.width_choices(stage)
            for block in range(self.max_depth):
                stride = self.space.options["strides"][stage - 1] if block == 0 else 1
                sites[_block_key(stage, block)] = (in_widths, widths, stride)
                in_widths = widths
        return sites

    def build_modules(self) -> None:
        options = self.space.options
        self.stem = self._stem()
        self.blocks = nn.ModuleDict(
            {
                key: SharedBlock(
                    options["ops"],
                    [self.channels(w) for w in in_widths],
                    [self.channels(w) for w in out_widths],
                    options["kernel_sizes"],
                    options["expansions"],
                    stride,
                )
                for key, (in_widths, out_widths, stride) in self.sites.items()
            }
        )
        last = self.space.width_choices(self.stages[-1])
        self.head = ClassifierHead(self.channels(max(last)), self.num_classes, preact=False)

    def _stem(self) -> ConvBN:
        return ConvBN(self.input_shape[0], self.channels(self.stem_width), 1, 3, relu="post")

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
                    Decision(prefix + "width", self.space.width_choices(stage)),
                ]
                if "mbconv" in options["ops"]:
                    decisions.append(Decision(prefix + "expansion", tuple(options["expansions"])))
        return decisions

    # -- Supernet --------------------------------------------------------------------------------------
    def _forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        features, p_in = self.stem(x), torch.ones(1, device=x.device)  # the stem's one width
        for stage in self.stages:
            depth = weights[f"stage{stage}.depth"]
            reach = depth.flip(0).cumsum(0).flip(0).tolist()  # P(depth > block)
            ends: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
            for block in range(self.max_depth):
                if reach[block] == 0:  # no architecture of positive weight runs this block
                    break
                prefix = f"stage{stage}.block{block}."
                block_weights = {
                    kind: weights[prefix + kind]
                    for kind in ("op", "kernel", "width", "expansion")
                    if prefix + kind in weights
                }
                features = self.blocks[_block_key(stage, block)](features, p_in, block_weights)
                p_in = weights[prefix + "width"]
                ends.append((depth[block], features, p_in))  # a network of depth block + 1 ends here
            features = _weighted_sum([(p, f) for p, f, _ in ends])
            p_in = _weighted_sum([(p, widths) for p, _, widths in ends])
        return self.head(features)

    def module_map(self, spec: ArchSpec) -> dict[str, str]:
        choices = spec.choices
        mapping = {"stem.": "stem.", "head.": "head."}
        width = self.channels(self.stem_width)
        for stage in self.stages:
            for block in range(choices[f"stage{stage}.depth"]):
                prefix, key = f"stage{stage}.block{block}.", _block_key(stage, block)
                op, out = choices[prefix + "op"], self.channels(choices[prefix + "width"])
                stride = self.sites[key][2]
                target = f"{key}.body." if has_residual(width, out, stride) else f"{key}."
                source = f"blocks.{key}.ops.{op}."
                if op == "mbconv" and max(1, round(width * choices[prefix + "expansion"])) == width:
                    # `MBConv` without its expansion layer: its layers 0, 1 are the shared 1, 2
                    mapping.update({source + "1.": target + "0.", source + "2.": target + "1."})
                else:
                    mapping[source] = target
                width = out
        return mapping

    def export_state(self, spec: ArchSpec) -> dict[str, torch.Tensor]:
        """The state dict of ``spec``'s standalone network: each of its tensors is the slice of the shared
        tensor it maps to (`module_map`), the first channels and the centre of the kernel."""
        self.space.validate(spec)
        standalone = self.space.build(spec, self.input_shape, self.num_classes, self.width_multiplier)
        inverse = {target: source for source, target in self.module_map(spec).items()}
        shared = self.state_dict()
        state = {}
        for key, tensor in standalone.state_dict().items():
            target = max((t for t in inverse if key.startswith(t)), key=len)
            state[key] = slice_like(shared[inverse[target] + key[len(target) :]], tensor.shape)
        return state

    # -- the cost model: one unit per (block, input width, output width, variant) ----------------------
    def candidates(self) -> dict[str, nn.Module]:
        """Every variant of every block at every pair of widths, the head at every last width and the stem,
        built standalone for the cost model (not modules of the supernet: its blocks share their weights).
        Every architecture runs the same stem: the sums of `cost_function` leave it to the shared part, the
        maximum of `peak_function` needs its peak."""
        found: dict[str, nn.Module] = {"stem": self._stem()}
        for key, (in_widths, out_widths, stride) in self.sites.items():
            for w_in in in_widths:
                for w_out in out_widths:
                    for index, (op, kernel, expansion) in enumerate(self.variants):
                        found[_candidate(key, w_in, w_out, index)] = make_block(
                            op, self.channels(w_in), self.channels(w_out), stride, kernel, expansion
                        )
        for w in self.space.width_choices(self.stages[-1]):
            found[f"heads.{w}"] = ClassifierHead(self.channels(w), self.num_classes, preact=False)
        return found

    def candidate_inputs(self, candidates: Mapping[str, nn.Module]) -> dict[str, tuple[int, ...]]:
        size = list(self.input_shape[1:])  # the stem keeps the resolution
        inputs: dict[str, tuple[int, ...]] = {"stem": tuple(self.input_shape)}
        for key, (_, _, stride) in self.sites.items():
            for name in candidates:
                if name.startswith(f"blocks.{key}."):
                    w_in = int(name.split(".")[2].split("to")[0])
                    inputs[name] = (self.channels(w_in), *size)
            size = [-(-s // stride) for s in size]
        for w in self.space.width_choices(self.stages[-1]):
            inputs[f"heads.{w}"] = (self.channels(w), *size)
        return inputs

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

    def cost_function(self, costs: Mapping[str, float]) -> CostFunction:
        terms = self._module_terms(costs)
        return lambda weights: torch.stack(terms(weights)).sum()

    def peak_function(self, runs: Mapping[str, float], inputs: Mapping[str, float]) -> CostFunction:
        """The expected activation peak: the largest of the stem's, each block's and the head's peak, since
        a network runs them one after another and only the running module's input and tensors are alive.
        A module's peak is what it allocates while it runs (``runs``, by `candidates` name) plus its input
        (``inputs``; the stem's is the network's input, resident). Under one-hot weights the maximum is
        the network's own; under soft weights each block's term is its expected peak times the probability
        that it runs (a lower bound of the expected maximum, differentiable in the weights of the largest)."""
        terms = self._module_terms({name: runs[name] + inputs[name] for name in runs})
        stem = torch.tensor(runs["stem"], device=self.device)
        return lambda weights: torch.stack([stem, *terms(weights)]).max()

    def _module_terms(self, costs: Mapping[str, float]) -> Callable[[Weights], list[torch.Tensor]]:
        """A function of the weights: each block's expected cost (``costs`` by `candidates` name) times the
        probability that it runs, then the head's expected cost. Their sum is the expected total."""
        table = {
            (key, w_in, w_out): torch.tensor(
                [costs[_candidate(key, w_in, w_out, v)] for v in range(len(self.variants))],
                device=self.device,
            )
            for key, (in_widths, out_widths, _) in self.sites.items()
            for w_in in in_widths
            for w_out in out_widths
        }
        heads = {w: costs[f"heads.{w}"] for w in self.space.width_choices(self.stages[-1])}

        def terms(weights: Weights) -> list[torch.Tensor]:
            # The forward pass's recursion on probabilities: a block costs only if it runs (depth >
            # block), at the widths its input and output have.
            found = []
            dist: dict[int, Any] = {self.stem_width: 1.0}
            for stage in self.stages:
                depth = weights[f"stage{stage}.depth"]
                reached = dict.fromkeys(self.space.width_choices(stage), 0.0)
                for block in range(self.max_depth):
                    prefix, key = f"stage{stage}.block{block}.", _block_key(stage, block)
                    variants = self._variant_weights(weights, prefix)
                    out = dict(zip(self.space.width_choices(stage), weights[prefix + "width"], strict=True))
                    block_cost = sum(
                        dist[w_in] * out[w_out] * (variants * table[key, w_in, w_out]).sum()
                        for w_in in dist
                        for w_out in out
                    )
                    found.append(depth[block:].sum() * block_cost)
                    dist = out
                    for w in reached:
                        reached[w] = reached[w] + depth[block] * out[w]
                dist = reached
            head = sum(dist[w] * heads[w] for w in dist)
            found.append(torch.as_tensor(head, device=self.device))
            return found

        return terms


def _block_key(stage: int, block: int) -> str:
    return f"stage{stage}_block{block}"  # the standalone network's layer name


def _candidate(key: str, w_in: int, w_out: int, variant: int) -> str:
    return f"blocks.{key}.{w_in}to{w_out}.{variant}"


def _repeat(values: Sequence[int], times: int) -> list[int]:
    """Each of ``values`` ``times`` times in a row (the input width of each (width, expansion) pair)."""
    return [v for v in values for _ in range(times)]


def _weighted_sum(terms: Sequence[tuple[Any, torch.Tensor]]) -> torch.Tensor:
    """``Σ weight · tensor`` over ``terms`` (weights are scalars or 0-d tensors)."""
    total = terms[0][0] * terms[0][1]
    for weight, tensor in terms[1:]:
        total = total + weight * tensor
    return total
