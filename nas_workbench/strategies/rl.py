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
baseline) and "lstm" (Zoph & Le's recurrent controller: each decision sees the ones before it). They
and their optimiser live in `_rl_policy`, the part that needs torch, imported when a sampler is made.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial

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
        from nas_workbench.strategies._rl_policy import Policy  # torch, needed from here on

        self.policy = Policy(controller, hidden_size, self._seed % 2**63, self.learning_rate)
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
            return _PolicyPlan(rng, self.policy.begin())
        # Draw the architecture ahead, so that one predicted far over budget is rejected (drawn again)
        # before the trial starts; questions the draw did not foresee are drawn when asked.
        # When every draw of the policy is far over budget (a policy pushed towards costly choices, or a
        # budget few architectures meet), uniform draws of the space are tried, as evolution does.
        space = self.space
        uniform = None if space is None else (lambda: _Drawn(space.random(rng).choices, self.policy.begin()))
        if (warm := self.feasibility.warm(study, model)) is not None:
            return _PolicyPlan(rng, self.policy.begin(), warm)
        drawn = self.feasibility.choose(model, lambda: self._draw(model.decisions, rng), uniform)
        assert isinstance(drawn, _Drawn)
        return _PolicyPlan(rng, drawn.state, drawn)

    def _draw(self, decisions: Mapping[str, Sequence[Any]], rng: random.Random) -> _Drawn:
        """One architecture drawn from the policy: the space's questions as it asks them, else (no space)
        every decision seen so far."""
        plan = _PolicyPlan(rng, self.policy.begin())
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
        if decisions and advantage:
            self.policy.learn(decisions, advantage)

    # -- sampling ------------------------------------------------------------------------------------------
    def answer(self, plan: Plan, name: str, choices: Sequence[Any]) -> Any:
        assert isinstance(plan, _PolicyPlan)
        if name in plan.answers and plan.answers[name] in choices:
            return plan.answers[name]
        return self._sample(plan, name, choices)

    def _sample(self, plan: _PolicyPlan, name: str, choices: Sequence[Any]) -> Any:
        """Draw decision ``name`` from the policy, advancing the plan's controller state."""
        action, plan.state = self.policy.draw(plan.state, _key(name, choices), len(choices), plan.rng)
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
