"""The supernet interface: architecture weights over a space's decisions, mixed ops, derivation, export.

A supernet holds every candidate of every decision at once and mixes their outputs with weights from
continuous architecture parameters (one logit vector ``alpha`` per decision, DARTS). Its decisions are the
space's own, by name and choice, so

- the weights of a decision are a softmax (or Gumbel-softmax sample) over that decision's choices;
- deriving an architecture replays the space's questions and answers each with its highest weight, which
  makes every derived spec one of the space's (`derive`);
- with one-hot weights the supernet computes exactly the standalone network of that architecture, and
  `extract` hands that network over with the supernet's trained weights.

Subclasses (`nas_workbench.strategies.dnas.cell`, `.chain`) build the modules and say how weights combine
(`forward`), which candidate module becomes which layer of the standalone network (`module_map`) and how a
per-candidate cost adds up to an expected cost (`expected_cost`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import torch
import torch.nn.functional as F
from torch import nn

from nas_workbench.exceptions import ConfigError
from nas_workbench.spaces import SearchSpace
from nas_workbench.spec import ArchSpec

__all__ = ["CostFunction", "Decision", "MixedOp", "Supernet", "SupernetOptions", "Weights"]

#: Architecture weights (or probabilities) by decision name: a 1-D tensor over the decision's choices.
Weights = Mapping[str, torch.Tensor]
#: Weights → an expected cost (a scalar tensor), see `Supernet.cost_function`.
CostFunction = Callable[[Weights], torch.Tensor]


@dataclass(frozen=True)
class Decision:
    """One decision of the space the supernet relaxes: its name and its choices, in order."""

    name: str
    choices: tuple[Any, ...]

    def index(self, choice: Any) -> int:
        """The position of ``choice`` among `choices`."""
        return self.choices.index(choice)


class _WeightBoard:
    """Where a supernet posts the weights of the current forward pass for its mixed ops to read.

    Mixed ops sit inside the space's own blocks (a `nas_workbench.spaces.blocks.Cell` calls each edge with
    one argument), so they cannot receive weights as an argument. A plain object, not a module, so that
    it creates no cycle in the module tree.
    """

    def __init__(self) -> None:
        self.weights: Weights = {}


class MixedOp(nn.Module):
    """All candidate ops of one decision, summed with that decision's weights: ``Σ_k w_k op_k(x)``.

    With one-hot weights the sum is the chosen op's output exactly (the others add ``0 · op_k(x) = 0``).
    """

    def __init__(self, candidates: Sequence[nn.Module], decision: str, board: _WeightBoard) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(candidates)
        self.decision = decision
        self._board = board

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mix(self.candidates, self._board.weights[self.decision], x)


def mix(candidates: nn.ModuleList, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``Σ_k weights[k] · candidates[k](x)``, skipping candidates of weight exactly 0.

    Skipping is exact, gradients included: a zero weight from a (masked or one-hot) softmax has a zero
    derivative, so the candidate's output never reaches a gradient either. Shrunk choices and sampled
    paths cost nothing. A straight-through sample (`Supernet.hard_samples`) has zero weights with nonzero
    derivatives: skipping them gives GDAS' estimator, whose gradient reaches the logits through the
    sampled candidate alone.
    """
    live = [k for k, alive in enumerate((weights != 0).tolist()) if alive] or [0]
    total = weights[live[0]] * candidates[live[0]](x)
    for k in live[1:]:
        total = total + weights[k] * candidates[k](x)
    return total


class SupernetOptions(TypedDict, total=False):
    """The optional arguments of `Supernet` (``fixed``, ``width_multiplier``), for code passing them on."""

    fixed: Mapping[str, Any] | None
    width_multiplier: float


class Supernet(nn.Module, ABC):
    """A continuous relaxation of a search space.

    A subclass says which decisions the space asks (`relaxed_decisions`) and builds its modules
    (`build_modules`); the architecture logits, fixed choices and shrinking are this class's.

    Args:
        space: The space relaxed; its decisions are the supernet's.
        input_shape: One input's shape (C, H, W).
        num_classes: Classes of the classifier.
        fixed: Decisions fixed to one choice (``SearchConfig.fixed_choices``): their weights are a constant
            one-hot, never trained (as are the weights of decisions with a single choice).
        width_multiplier: Scales every channel count, as for the networks built for trials.
    """

    #: Whether the network runs its candidates one after another (a chain), so that its activation peak
    #: is the largest of theirs (`peak_function`); a cell runs its edges side by side.
    sequential = False

    def __init__(
        self,
        space: SearchSpace,
        input_shape: Sequence[int],
        num_classes: int,
        fixed: Mapping[str, Any] | None = None,
        width_multiplier: float = 1.0,
    ) -> None:
        super().__init__()
        self.space = space
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.width_multiplier = width_multiplier
        self.decisions = {d.name: d for d in self.relaxed_decisions()}
        self.fixed = dict(fixed or {})
        for name, value in self.fixed.items():
            if name not in self.decisions:
                raise ConfigError(
                    f"fixed_choices.{name}",
                    value,
                    f"decisions of the {space.name!r} space: {sorted(self.decisions)}",
                )
            if value not in self.decisions[name].choices:
                raise ConfigError(
                    f"fixed_choices.{name}", value, f"one of {list(self.decisions[name].choices)}"
                )
        for name, decision in self.decisions.items():  # one choice: nothing to search
            if len(decision.choices) == 1:
                self.fixed.setdefault(name, decision.choices[0])
        self.searched = [name for name in self.decisions if name not in self.fixed]
        # Zero logits: every choice equally likely at the start (DARTS initialises at 1e-3 scale noise;
        # exact ties are broken by choice order in `derive`).
        self.alphas = nn.ParameterList(
            nn.Parameter(torch.zeros(len(self.decisions[name].choices))) for name in self.searched
        )
        # Progressive shrinking (`shrink`) drops choices: a dropped choice has probability 0.
        self.dropped: dict[str, set[int]] = {name: set() for name in self.searched}
        #: Temperature of the softmax over the logits; the search anneals it below 1 so that the weights
        #: separate and the supernet computes nearly the network it will derive.
        self.temperature = 1.0
        #: Gumbel samples are one-hot (straight-through, GDAS): each pass computes one sampled network.
        self.hard_samples = False
        self._board = _WeightBoard()
        self.build_modules()

    @abstractmethod
    def relaxed_decisions(self) -> list[Decision]:
        """Every decision any architecture of the space may ask, with its choices."""

    @abstractmethod
    def build_modules(self) -> None:
        """Build the network's modules (once the architecture logits exist, so parameters keep that order)."""

    # -- parameters ------------------------------------------------------------------------------------
    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture logits (the upper level of the bilevel problem)."""
        return list(self.alphas)

    def weight_parameters(self) -> list[nn.Parameter]:
        """The network weights (the lower level)."""
        arch = {id(p) for p in self.alphas}
        return [p for p in self.parameters() if id(p) not in arch]

    def logits(self) -> dict[str, torch.Tensor]:
        """The architecture logits by decision name (fixed decisions are absent); dropped choices -inf."""
        logits = dict(zip(self.searched, self.alphas, strict=True))
        for name, dropped in self.dropped.items():
            if dropped:
                mask = torch.zeros(len(self.decisions[name].choices), dtype=torch.bool, device=self.device)
                mask[list(dropped)] = True
                logits[name] = logits[name].masked_fill(mask, -math.inf)
        return logits

    # -- progressive shrinking -------------------------------------------------------------------------
    def learnable(self, name: str) -> set[int]:
        """The choices of decision ``name`` that carry parameters (all, unless a subclass says otherwise)."""
        return set(range(len(self.decisions[name].choices)))

    def shrink(self, keep: int) -> int:
        """Drop the least likely remaining choice of every decision that has more than ``keep`` left,
        never the last learnable one (P-DARTS, DrNAS' progressive pruning); the number dropped."""
        count = 0
        with torch.no_grad():
            for name, p in self.probabilities().items():
                if name not in self.dropped:
                    continue
                left = [k for k in range(len(p)) if k not in self.dropped[name]]
                learnable = [k for k in left if k in self.learnable(name)]
                if len(left) <= keep:
                    continue
                candidates = [k for k in left if learnable != [k]]
                self.dropped[name].add(min(candidates, key=lambda k: float(p[k])))
                count += 1
        return count

    def separation(self) -> float:
        """The fraction of searched decisions whose most likely choice has at least twice the probability
        of the runner-up (how decided the search is; 1.0 when nothing is searched)."""
        with torch.no_grad():
            probs = self.probabilities()
        decided = [
            float(top[0]) >= 2 * float(top[1])
            for top in (probs[name].topk(2).values for name in self.searched)
        ]
        return sum(decided) / len(decided) if decided else 1.0

    # -- weights ---------------------------------------------------------------------------------------
    def probabilities(self) -> dict[str, torch.Tensor]:
        """Softmax of each decision's logits at `temperature`; a fixed decision is one-hot on its choice."""
        logits = self.logits()
        return {
            name: (logits[name] / self.temperature).softmax(-1)
            if name in logits
            else self._one_hot(name, self.fixed[name])
            for name in self.decisions
        }

    def mixing_weights(self, gumbel: bool = False, temperature: float = 1.0) -> dict[str, torch.Tensor]:
        """The weights of one forward pass: the softmax, or a Gumbel-softmax sample at ``temperature``.

        The Gumbel-softmax (FBNet, SNAS) draws a relaxed one-hot sample per pass, so the network trains on
        near-discrete architectures while gradients still reach every logit. With `hard_samples` the
        sample is one-hot in the forward pass and soft in the backward one (GDAS): `mix` computes only the
        sampled candidate, so a pass costs one network instead of all of them, and the logits get GDAS'
        gradient (through the sampled candidate's weight, which the softmax spreads to every logit).
        """
        if not gumbel:
            return self.probabilities()
        logits = self.logits()
        return {
            name: F.gumbel_softmax(logits[name], tau=temperature, hard=self.hard_samples)
            if name in logits
            else self._one_hot(name, self.fixed[name])
            for name in self.decisions
        }

    def one_hot(self, spec: ArchSpec) -> dict[str, torch.Tensor]:
        """One-hot weights selecting ``spec`` (a decision ``spec`` lacks: its first choice)."""
        self.space.validate(spec)
        return {
            name: self._one_hot(name, spec.choices.get(name, decision.choices[0]))
            for name, decision in self.decisions.items()
        }

    def _one_hot(self, name: str, choice: Any) -> torch.Tensor:
        decision = self.decisions[name]
        weights = torch.zeros(len(decision.choices), device=self.device)
        weights[decision.index(choice)] = 1.0
        return weights

    def forward(self, x: torch.Tensor, weights: Weights | None = None) -> torch.Tensor:
        """Logits of the supernet for inputs ``x`` under ``weights`` (default: the current softmax)."""
        weights = self.probabilities() if weights is None else weights
        self._board.weights = weights
        try:
            return self._forward(x, weights)
        finally:
            self._board.weights = {}

    # -- derivation ------------------------------------------------------------------------------------
    def derive(self, probabilities: Mapping[str, torch.Tensor] | None = None, guard: bool = True) -> ArchSpec:
        """The discrete architecture: the space's questions answered by the highest weight each, then
        repaired by the collapse guard (`guard`) unless ``guard`` is False.

        The space asks its own questions (a stage of depth 2 asks about two blocks), so the result is
        always a valid spec of the space; ties go to the earlier choice.
        """
        probs = self.probabilities() if probabilities is None else probabilities
        table = {name: probs[name].detach().cpu().tolist() for name in self.decisions}
        spec = self.space.spec(self.space.define(_ArgmaxSuggester(self.decisions, table)))
        return self.guard(spec, table) if guard else spec

    def guard(self, spec: ArchSpec, probabilities: Mapping[str, Sequence[float]]) -> ArchSpec:
        """``spec``, repaired if it lost what a network needs to learn (the cell supernet's collapse guard);
        here unchanged."""
        return spec

    def table(self) -> dict[str, dict[str, float]]:
        """The current probabilities as plain data, ``{decision: {choice: p}}`` (for events and plots)."""
        return {
            name: dict(zip(map(str, self.decisions[name].choices), p.detach().cpu().tolist(), strict=True))
            for name, p in self.probabilities().items()
        }

    # -- the standalone network ------------------------------------------------------------------------
    def export_state(self, spec: ArchSpec) -> dict[str, torch.Tensor]:
        """The state dict of ``spec``'s standalone network (`SearchSpace.build`), from the supernet's weights.

        Keys under a candidate that ``spec`` does not choose are dropped; the others are renamed by the
        longest matching prefix of `module_map`.
        """
        self.space.validate(spec)
        mapping = self.module_map(spec)
        state: dict[str, torch.Tensor] = {}
        for key, value in self.state_dict().items():
            source = max((p for p in mapping if key.startswith(p)), key=len, default=None)
            if source is None or ".candidates." in key[len(source) :]:
                continue
            state[mapping[source] + key[len(source) :]] = value
        return state

    def extract(self, spec: ArchSpec) -> nn.Module:
        """``spec``'s standalone network carrying the supernet's weights: it computes what the supernet
        computes under `one_hot` weights (in eval mode, and in train mode on the same batch)."""
        model = self.space.build(spec, self.input_shape, self.num_classes, self.width_multiplier)
        model.load_state_dict(self.export_state(spec))
        return model.to(self.device)

    @property
    def device(self) -> torch.device:
        """Where the supernet's parameters are."""
        return next(self.parameters()).device

    # -- to implement ----------------------------------------------------------------------------------
    @abstractmethod
    def _forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        """The forward pass under ``weights`` (also posted on the board for `MixedOp`s)."""

    @abstractmethod
    def module_map(self, spec: ArchSpec) -> dict[str, str]:
        """State-dict key prefixes: supernet module → standalone module, for the modules ``spec`` uses."""

    @abstractmethod
    def candidates(self) -> dict[str, nn.Module]:
        """Every module whose cost depends on the architecture, by name (its name in `named_modules`
        unless the subclass builds them for the cost model alone, with `candidate_inputs`)."""

    def candidate_inputs(self, candidates: Mapping[str, nn.Module]) -> dict[str, tuple[int, ...]]:
        """The input shape (C, H, W) each of ``candidates`` sees in the supernet, recorded by hooks on one
        forward pass (a subclass whose candidates are not its own modules computes them instead)."""
        shapes: dict[str, tuple[int, ...]] = {}

        def recorder(name: str) -> Any:
            def hook(module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> None:
                shapes[name] = tuple(args[0].shape[1:])

            return hook

        handles = [module.register_forward_hook(recorder(name)) for name, module in candidates.items()]
        was_training = self.training
        try:
            self.eval()
            with torch.no_grad():
                self(torch.zeros((1, *self.input_shape), device=self.device))
        finally:
            self.train(was_training)
            for handle in handles:
                handle.remove()
        return shapes

    @abstractmethod
    def cost_function(self, costs: Mapping[str, float]) -> CostFunction:
        """A function of the weights: the expected total of ``costs`` (one per `candidates` name), with
        decisions independent. Differentiable; exact for one-hot weights, where it is the sum of the costs
        of the candidates the architecture uses."""

    def peak_function(self, runs: Mapping[str, float], inputs: Mapping[str, float]) -> CostFunction:
        """A function of the weights: the expected activation peak of a network whose modules run one after
        another (`sequential`), from what each candidate allocates while it runs (``runs``) and its input's
        size (``inputs``, alive meanwhile unless it is the network's input, which is resident)."""
        raise NotImplementedError(f"{type(self).__name__} does not run its candidates one after another")


class _ArgmaxSuggester:
    """Answers each question with the choice of highest probability among those offered."""

    def __init__(self, decisions: Mapping[str, Decision], table: Mapping[str, list[float]]) -> None:
        self.decisions, self.table = decisions, table

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        decision = self.decisions[name]
        probs = self.table[name]
        return max(choices, key=lambda c: (probs[decision.index(c)], -decision.index(c)))
