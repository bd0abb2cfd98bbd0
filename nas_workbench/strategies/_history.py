"""What the workbench's own samplers share: reading the study's history, and answering a trial's questions.

Evolution and REINFORCE decide a whole architecture when a trial asks its first question, then answer
each define-by-run question from that plan. They keep nothing that the study does not hold: the plan of a
trial is a function of the seed, the trial number and the finished trials, so they work on a resumed
study and with several workers on one storage, and parallel workers never repeat each other's draws.
"""

from __future__ import annotations

import contextlib
import random
import threading
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from nas_workbench import _compat
from nas_workbench.exceptions import SpaceError
from nas_workbench.spec import ArchSpec, FrozenDict
from nas_workbench.strategies.feasibility import FeasibilityFilter
from nas_workbench.trial_attrs import stored_spec

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace

__all__ = [
    "Plan",
    "PlannedSampler",
    "completed_trials",
    "feasible",
    "learnable_trials",
    "parent_spec",
    "violation",
]


def violation(trial: FrozenTrial) -> float:
    """Total amount by which ``trial`` breaks its constraints (0 when it is feasible or has none)."""
    return sum(value for value in trial.constraints.values() if value > 0)


def feasible(trial: FrozenTrial) -> bool:
    """Whether every constraint of ``trial`` holds (value <= 0)."""
    return violation(trial) == 0


def completed_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The study's complete trials in the order they finished (pruned and failed ones are left out:
    their values do not measure a fully evaluated architecture)."""
    trials = _compat.sampling_trials(study, (TrialState.COMPLETE,))
    return sorted(trials, key=lambda t: (t.datetime_complete or t.datetime_start, t.number))


def learnable_trials(study: optuna.Study) -> list[FrozenTrial]:
    """`completed_trials` and the trials that ended over budget (pruned with a constraint broken, as the
    engine ends them: `nas_workbench.engine.budget.OverBudget`), in the order they finished: what a
    strategy that is rewarded for feasibility learns from. Their constraints say they are infeasible;
    they have no objective value."""
    trials = _compat.sampling_trials(study, (TrialState.COMPLETE, TrialState.PRUNED))
    told = [t for t in trials if t.state == TrialState.COMPLETE or not feasible(t)]
    return sorted(told, key=lambda t: (t.datetime_complete or t.datetime_start, t.number))


def parent_spec(trial: FrozenTrial, space: SearchSpace) -> ArchSpec | None:
    """The architecture of a finished ``trial`` in ``space``: the engine's ``spec`` user attribute, else
    the trial's parameters; None when neither belongs to the space (a warm start from another space)."""
    stored = stored_spec(trial)
    candidates = []
    if stored is not None:
        with contextlib.suppress(SpaceError):  # not a spec: fall back on the parameters
            candidates.append(ArchSpec.from_dict(stored))
    candidates.append(ArchSpec(space.name, FrozenDict(trial.params), FrozenDict(space.options)))
    for spec in candidates:
        try:
            return space.validate(spec)
        except SpaceError:
            continue
    return None


class Plan:
    """The answers a sampler chose for one trial; questions it has no valid answer for are drawn at random.

    Args:
        answers: Decision name → value.
        rng: The trial's random generator.
    """

    def __init__(self, answers: Mapping[str, Any], rng: random.Random) -> None:
        self.answers = dict(answers)
        self.rng = rng

    def answer(self, name: str, choices: Sequence[Any]) -> Any:
        """The value for question ``name`` with these ``choices``."""
        if name in self.answers and self.answers[name] in choices:
            return self.answers[name]
        return self.rng.choice(list(choices))


class IndependentSampler(BaseSampler):
    """An Optuna sampler with no relative search space: define-by-run spaces ask their questions one at a
    time (`sample_independent`), so there is nothing to sample jointly before the trial starts."""

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}


class PlannedOptions(TypedDict, total=False):
    """The keyword arguments of `PlannedSampler`, which a subclass takes as ``**base`` and passes on."""

    seed: int | None
    space: SearchSpace | None
    feasibility: FeasibilityFilter | None


class PlannedSampler(IndependentSampler):
    """An Optuna sampler that plans each trial's categorical decisions when the trial asks its first one.

    Subclasses implement `plan`. Non-categorical parameters (a learning rate added by hand) are drawn by
    Optuna's `RandomSampler`. There is no relative search space: define-by-run spaces ask their questions
    one at a time, and the plan answers them in whatever order they come.

    Args:
        seed: Seed of every draw; None draws a fresh one.
        space: The search space, for samplers that draw or mutate architectures (None: a sampler that
            needs it asks the study's parameters instead).
        feasibility: Keeps planned architectures out of the region predicted far over budget (default
            settings).
    """

    def __init__(
        self,
        seed: int | None = None,
        space: SearchSpace | None = None,
        feasibility: FeasibilityFilter | None = None,
    ) -> None:
        self.space = space
        self.feasibility = feasibility or FeasibilityFilter()
        self._seed = random.SystemRandom().randrange(2**63) if seed is None else seed
        self._independent = optuna.samplers.RandomSampler(seed=seed)
        self._plans: dict[int, Plan] = {}
        self._lock = threading.RLock()

    def trial_rng(self, trial: FrozenTrial) -> random.Random:
        """A generator of its own for each trial: a function of the seed and the trial number only."""
        return random.Random(f"{type(self).__name__}:{self._seed}:{trial.number}")

    @abstractmethod
    def plan(self, study: optuna.Study, trial: FrozenTrial, rng: random.Random) -> Plan:
        """Decide the architecture of ``trial`` from the study's history."""

    def answer(self, plan: Plan, name: str, choices: Sequence[Any]) -> Any:
        """Answer one question from ``plan`` (REINFORCE overrides this to sample from its policy)."""
        return plan.answer(name, choices)

    # -- the Optuna sampler protocol ----------------------------------------------------------------------
    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if not isinstance(param_distribution, CategoricalDistribution):
            return self._independent.sample_independent(study, trial, param_name, param_distribution)
        with self._lock:
            plan = self._plans.get(_compat.trial_id(trial))
            if plan is None:
                plan = self._plans[_compat.trial_id(trial)] = self.plan(study, trial, self.trial_rng(trial))
            return self.answer(plan, param_name, param_distribution.choices)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        with self._lock:
            self._plans.pop(_compat.trial_id(trial), None)
