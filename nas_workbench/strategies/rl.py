"""REINFORCE over the space's decisions (after Zoph & Le, "Neural Architecture Search with Reinforcement
Learning", ICLR 2017) as an Optuna sampler.

A controller gives a probability distribution over the choices of each decision. Each new trial samples
its architecture from the controller, question by question (a define-by-run space asks only the questions
its earlier answers make relevant). Before planning a trial the sampler learns from every trial that
completed, or ended over budget, since it last looked, in completion order: one policy-gradient step
``-(R - b) / s * log p(architecture)`` per trial, where ``b`` is a moving average of the rewards (the
baseline) and ``s`` a moving average of their distance to it (so the learning rate does not depend on the
scale of the objective). An infeasible trial (a constraint > 0) counts as one such distance below the
baseline. With a budget, an architecture the `FeasibilityFilter` predicts far over budget is rejected
and drawn again from the policy before the trial starts (when every draw of the policy is, from the space
uniformly: without that, a policy that has only met infeasible architectures kept proposing them, and one
seed under NAS-Bench-201's Raspberry Pi 4 5th-percentile budget found no feasible cell in 100 trials).
Because it learns from the study's history, a resumed study or several workers on one storage keep
improving one policy.

Two controllers: "factorized" (independent logits per decision, as in NAS-Bench-201's REINFORCE
baseline) and "lstm" (Zoph & Le's recurrent controller: each decision sees the ones before it).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import optuna
import torch
import torch.nn.functional as F
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial
from torch import nn

from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies._base import (
    Option,
    SamplerContext,
    Strategy,
    check_choice,
    check_float,
    check_int,
    register,
)
from nas_workbench.strategies._history import Plan, PlannedOptions, PlannedSampler, feasible, learnable_trials
from nas_workbench.strategies.feasibility import OPTIONS as FEASIBILITY_OPTIONS
from nas_workbench.strategies.feasibility import make_filter

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.12

__all__ = ["ReinforceSampler"]

CONTROLLERS = ("factorized", "lstm")


def _key(name: str, choices: Sequence[Any]) -> str:
    """A decision's identity: its name and its choices (a conditional space may reuse a name)."""
    return f"{name}|{tuple(choices)!r}"


class _Controller(nn.Module):
    """Logits for each decision given the decisions made before it in the same architecture.

    Decisions are met while the space is asked, so their parameters are created on first sight;
    `grow` returns the new ones for the optimiser.
    """

    def __init__(self, kind: str, hidden_size: int, seed: int) -> None:
        super().__init__()
        self.kind = kind
        self.hidden_size = hidden_size
        # Its own generator: parameters created later (new decisions) must not depend on, nor disturb,
        # the global random state that training uses.
        self._generator = torch.Generator().manual_seed(seed)
        self._index: dict[str, int] = {}
        # Per decision (by index): factorized, its logits (n,); lstm, the head (n, hidden) + (n,) mapping the
        # hidden state to logits and the embeddings (n, hidden) of its choices, the next step's input.
        self.logits = nn.ParameterList()
        self.head_weights = nn.ParameterList()
        self.embeddings = nn.ParameterList()
        if kind == "lstm":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.cell = nn.LSTMCell(hidden_size, hidden_size)
            self.start = nn.Parameter(torch.zeros(1, hidden_size))

    def grow(self, key: str, n_choices: int) -> list[nn.Parameter]:
        """Create the parameters of decision ``key`` if it is new; return them (else an empty list)."""
        if key in self._index:
            return []
        self._index[key] = len(self._index)
        # Zero logits and zero heads: the policy starts uniform over every decision.
        new = [nn.Parameter(torch.zeros(n_choices))]
        if self.kind == "lstm":
            new += [
                nn.Parameter(torch.zeros(n_choices, self.hidden_size)),
                nn.Parameter(torch.randn(n_choices, self.hidden_size, generator=self._generator)),
            ]
            self.head_weights.append(new[1])
            self.embeddings.append(new[2])
        self.logits.append(new[0])  # the bias of the lstm's head
        return new

    def begin(self) -> Any:
        """The state before the first decision of an architecture."""
        if self.kind == "factorized":
            return None
        zeros = torch.zeros(1, self.hidden_size)
        return (self.start, zeros, zeros)

    def decision_logits(self, state: Any, key: str) -> tuple[torch.Tensor, Any]:
        """Logits over the choices of ``key`` and the state after reading them."""
        index = self._index[key]
        if self.kind == "factorized":
            return self.logits[index], state
        x, h, c = state
        h, c = self.cell(x, (h, c))
        return F.linear(h, self.head_weights[index], self.logits[index])[0], (None, h, c)

    def advance(self, state: Any, key: str, action: int) -> Any:
        """The state after choosing ``action`` for ``key``."""
        if self.kind == "factorized":
            return None
        _, h, c = state
        return (self.embeddings[self._index[key]][action : action + 1], h, c)


class _PolicyPlan(Plan):
    """A trial's controller state while its questions are answered, and the answers drawn ahead."""

    def __init__(self, rng: random.Random, state: Any, answers: dict[str, Any] | None = None) -> None:
        super().__init__(answers or {}, rng)
        self.state = state


class _Drawn(dict):
    """An architecture drawn ahead from the policy, with the controller state after its last decision."""

    def __init__(self, answers: Mapping[str, Any], state: Any) -> None:
        super().__init__(answers)
        self.state = state


class _PolicySuggester:
    """A suggester for `SearchSpace.define` that draws each decision from the policy."""

    def __init__(self, sampler: ReinforceSampler, plan: _PolicyPlan) -> None:
        self.sampler = sampler
        self.plan = plan

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self.sampler._sample(self.plan, name, choices)


class ReinforceSampler(PlannedSampler):
    """REINFORCE with a moving-average baseline; a single-objective strategy.

    Args:
        controller: "factorized" or "lstm".
        learning_rate: Adam step size of the controller.
        baseline_decay: Weight of the past in the moving-average baseline (0.9 after Zoph & Le).
        hidden_size: Width of the LSTM controller.
        **base: ``seed`` (of the controller's initialisation and of every draw), ``space`` (to draw an
            architecture ahead as it asks its questions) and ``feasibility`` (rejects architectures
            predicted far over budget before a trial starts), as `PlannedSampler` takes them.
    """

    def __init__(
        self,
        controller: str = "factorized",
        learning_rate: float = 0.1,
        baseline_decay: float = 0.9,
        hidden_size: int = 32,
        **base: Unpack[PlannedOptions],
    ) -> None:
        super().__init__(**base)
        check_choice("controller", controller, CONTROLLERS)
        self.learning_rate = check_float("learning_rate", learning_rate, 1e-9, 10.0)
        self.baseline_decay = check_float("baseline_decay", baseline_decay, 0.0, 0.999999)
        check_int("hidden_size", hidden_size, 1)
        self.controller = _Controller(controller, hidden_size, seed=self._seed % 2**63)
        self.optimizer: torch.optim.Adam | None = None  # made when the first decisions are seen
        self._learned: set[int] = set()
        self.baseline: float | None = None
        self.spread = 0.0

    # -- learning ------------------------------------------------------------------------------------------
    def plan(self, study: optuna.Study, trial: FrozenTrial, rng: random.Random) -> Plan:
        if len(study.directions) > 1:
            raise ConfigError(
                "strategy", "rl", "a single-objective study: REINFORCE needs one reward (use nsga2 or tpe)"
            )
        sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
        for done in learnable_trials(study):
            if done.number not in self._learned:
                self._learned.add(done.number)
                self._learn(done, sign)
        model = self.feasibility.model(study, trial)
        if model is None:
            return _PolicyPlan(rng, self.controller.begin())
        # Draw the architecture ahead, so that one predicted far over budget is rejected (drawn again)
        # before the trial starts; questions the draw did not foresee are drawn when asked.
        # When every draw of the policy is far over budget (a policy pushed towards costly choices, or a
        # budget few architectures meet), uniform draws of the space are tried, as evolution does.
        space = self.space
        uniform = (
            None if space is None else (lambda: _Drawn(space.random(rng).choices, self.controller.begin()))
        )
        if (warm := self.feasibility.warm(study, model)) is not None:
            return _PolicyPlan(rng, self.controller.begin(), warm)
        drawn = self.feasibility.choose(model, lambda: self._draw(model.decisions, rng), uniform)
        assert isinstance(drawn, _Drawn)
        return _PolicyPlan(rng, drawn.state, drawn)

    def _draw(self, decisions: Mapping[str, Sequence[Any]], rng: random.Random) -> _Drawn:
        """One architecture drawn from the policy: the space's questions as it asks them, else (no space)
        every decision seen so far."""
        plan = _PolicyPlan(rng, self.controller.begin())
        if self.space is not None:
            answers = self.space.define(_PolicySuggester(self, plan))
        else:
            answers = {name: self._sample(plan, name, choices) for name, choices in decisions.items()}
        return _Drawn(answers, plan.state)

    def _advantage(self, trial: FrozenTrial, sign: float) -> float | None:
        """The trial's reward relative to the baseline, in units of the usual spread; updates both."""
        if not feasible(trial):
            return -1.0
        if trial.value is None or not math.isfinite(trial.value):
            return None
        reward = sign * trial.value
        if self.baseline is None:
            self.baseline = reward
            return None
        advantage = reward - self.baseline
        decay = self.baseline_decay
        self.spread = decay * self.spread + (1 - decay) * abs(advantage) if self.spread else abs(advantage)
        self.baseline = decay * self.baseline + (1 - decay) * reward
        return advantage / self.spread if self.spread > 0 else 0.0

    def _learn(self, trial: FrozenTrial, sign: float) -> None:
        decisions = [
            (_key(name, dist.choices), dist.choices.index(trial.params[name]), len(dist.choices))
            for name, dist in trial.distributions.items()
            if isinstance(dist, CategoricalDistribution) and trial.params[name] in dist.choices
        ]
        advantage = self._advantage(trial, sign)
        if not decisions or not advantage:
            return
        for key, _, n in decisions:
            self._grow(key, n)
        state = self.controller.begin()
        log_prob = torch.zeros(())
        for key, action, _ in decisions:
            logits, state = self.controller.decision_logits(state, key)
            log_prob = log_prob + torch.log_softmax(logits, dim=0)[action]
            state = self.controller.advance(state, key, action)
        assert self.optimizer is not None
        self.optimizer.zero_grad()
        (-advantage * log_prob).backward()
        self.optimizer.step()

    def _grow(self, key: str, n_choices: int) -> None:
        new = self.controller.grow(key, n_choices)
        if not new:
            return
        if self.optimizer is None:
            self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=self.learning_rate)
        else:
            self.optimizer.add_param_group({"params": new})

    # -- sampling ------------------------------------------------------------------------------------------
    def answer(self, plan: Plan, name: str, choices: Sequence[Any]) -> Any:
        assert isinstance(plan, _PolicyPlan)
        if name in plan.answers and plan.answers[name] in choices:
            return plan.answers[name]
        return self._sample(plan, name, choices)

    def _sample(self, plan: _PolicyPlan, name: str, choices: Sequence[Any]) -> Any:
        """Draw decision ``name`` from the policy, advancing the plan's controller state."""
        key = _key(name, choices)
        self._grow(key, len(choices))
        with torch.no_grad():
            logits, plan.state = self.controller.decision_logits(plan.state, key)
            weights = torch.softmax(logits, dim=0).tolist()
        action = plan.rng.choices(range(len(choices)), weights=weights)[0]
        with torch.no_grad():
            plan.state = self.controller.advance(plan.state, key, action)
        return choices[action]


def _factory(
    context: SamplerContext,
    controller: str,
    learning_rate: float,
    baseline_decay: float,
    hidden_size: int,
    **feasibility: Any,
) -> ReinforceSampler:
    return ReinforceSampler(
        controller=controller,
        learning_rate=learning_rate,
        baseline_decay=baseline_decay,
        hidden_size=hidden_size,
        seed=context.seed,
        feasibility=make_filter(context, **feasibility),
        space=context.space,
    )


register(
    Strategy(
        "rl",
        _factory,
        "REINFORCE after Zoph & Le 2017: a controller (factorised or LSTM) samples each decision and "
        "learns from completed trials with a moving-average baseline; infeasible trials are penalised.",
        {
            "controller": Option("factorized", "'factorized' (logits per decision) or 'lstm' (Zoph & Le)"),
            "learning_rate": Option(0.1, "Adam step size of the controller"),
            "baseline_decay": Option(0.9, "weight of the past in the moving-average baseline"),
            "hidden_size": Option(32, "width of the LSTM controller"),
            **FEASIBILITY_OPTIONS,
        },
        multi_objective=False,
    )
)
