"""`BudgetAwareSampler`: Optuna's samplers (TPE, GP, NSGA-II) kept inside the learnt feasible region.

The wrapped sampler still sees every trial; this wrapper only picks among its proposals with the
`FeasibilityFilter` (the first not far over budget, or the one nearest the budget's edge of several),
and, once the feasibility model is fitted, spends the filter's warm-start trials on the candidates its
`CostPrior` ranks highest among those predicted within budget (`FeasibilityFilter.warm`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from nas_workbench import _compat
from nas_workbench._compat import sampling_trials
from nas_workbench.strategies._history import feasible
from nas_workbench.strategies.cost_features import _Completion
from nas_workbench.strategies.feasibility import FeasibilityFilter

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.strategies.feasibility_model import FeasibilityModel

__all__ = ["BudgetAwareSampler"]


def _consistent(study: Study) -> dict[str, BaseDistribution]:
    """Every decision of the study's finished trials that always had the same distribution."""
    seen: dict[str, BaseDistribution | None] = {}
    for trial in sampling_trials(study, (TrialState.COMPLETE, TrialState.PRUNED)):
        for name, dist in trial.distributions.items():
            seen[name] = dist if seen.get(name, dist) == dist else None
    return {name: dist for name, dist in seen.items() if dist is not None}


class _Asked:
    """A suggester that answers an architecture's questions from its decisions (`_Completion`) and keeps
    each question's distribution."""

    def __init__(self, answers: dict[str, Any], rng: random.Random) -> None:
        self.completion = _Completion(answers, rng)
        self.distributions: dict[str, BaseDistribution] = {}

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        self.distributions[name] = CategoricalDistribution(tuple(choices))
        return self.completion.suggest_categorical(name, choices)


class BudgetAwareSampler(BaseSampler):
    """An Optuna sampler whose proposals are kept inside the learnt feasible region (`FeasibilityFilter`).

    Each trial's architecture is drawn whole: the wrapped sampler's relative sample (TPE's multivariate
    model, GP's acquisition, NSGA-II's crossover), with the decisions it leaves to independent (random)
    sampling drawn uniformly here, as they would be. With the search space, the draw follows its
    define-by-run questions (a conditional decision is drawn only when the architecture asks it); without
    it, the decisions every trial asked are drawn. Up to ``candidates`` such draws, the first not far over
    budget and not tried already is kept (failing that, the first of as many uniform draws). Before the
    model is trusted, or in a study without constraints, it is the wrapped sampler unchanged.

    Once the model is fitted, the wrapped sampler can be shown only the trials within budget
    (``hide_infeasible``): the filter then answers "does it fit?" and the sampler only "is it good?". Left
    in, an over-budget trial is one of TPE's bad trials (c-TPE ranks infeasible trials below every
    feasible one), so TPE learns that the budget's edge, where over-budget trials gather and the best
    feasible ones sit, is a bad region, and retreats from it.

    Args:
        sampler: The wrapped sampler (it still sees every trial, the infeasible ones included, unless
            ``hide_infeasible``).
        feasibility: The filter and its settings.
        space: The search space, to draw conditional decisions as an architecture asks them.
        seed: Seed of the uniform draws.
        hide_infeasible: Whether the wrapped sampler proposes from the trials within budget only, once
            the feasibility model is fitted (its other calls still see every trial).
    """

    def __init__(
        self,
        sampler: BaseSampler,
        feasibility: FeasibilityFilter,
        space: SearchSpace | None = None,
        seed: int | None = None,
        hide_infeasible: bool = False,
    ) -> None:
        self.sampler = sampler
        self.feasibility = feasibility
        self.space = space
        self.hide_infeasible = hide_infeasible
        self._rng = random.Random(seed)
        self._always = IntersectionSearchSpace(include_pruned=True)
        self._inner_space: dict[str, BaseDistribution] = {}
        self._chosen: dict[int, dict[str, Any] | None] = {}
        self._lock = threading.Lock()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        """The decisions the trial's architecture is chosen over: those every finished trial asked with the
        same choices, the wrapped sampler's, and, once the architecture is chosen here (Optuna asks
        `sample_relative` right after), every question of that architecture, so that a trial with no
        finished trial before it (the first, with a limit known exactly) is kept within budget too."""
        self._inner_space = self.sampler.infer_relative_search_space(study, trial)
        decisions = self._always.calculate(study) if self.space is None else _consistent(study)
        categorical = {
            name: dist
            for name, dist in decisions.items()
            if isinstance(dist, CategoricalDistribution) and len(dist.choices) > 1
        }
        search_space = categorical | self._inner_space
        chosen = self._choose(study, trial, search_space)
        with self._lock:
            self._chosen[_compat.trial_id(trial)] = chosen
        if chosen is None or self.space is None:
            return search_space
        asked = _Asked(chosen, self._rng)
        self.space.define(asked)
        return asked.distributions | search_space

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        with self._lock:
            chosen = self._chosen.pop(_compat.trial_id(trial), None)
        if chosen is None:
            inner_space = {k: v for k, v in search_space.items() if k in self._inner_space}
            return self.sampler.sample_relative(study, trial, inner_space)
        return {name: value for name, value in chosen.items() if name in search_space}

    def _choose(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any] | None:
        """The trial's whole architecture, once the filter has a model: the warm start's, else the first
        of the wrapped sampler's proposals not far over budget (`FeasibilityFilter.choose`); None without
        a model (the wrapped sampler proposes as it would)."""
        model = self.feasibility.model(study, trial)
        if model is None:
            return None
        inner_space = {k: v for k, v in search_space.items() if k in self._inner_space}
        seen = _compat.study_without(study, lambda t: not feasible(t)) if self.hide_infeasible else study
        propose = self.proposer(seen, trial, inner_space, search_space, model)
        chosen = self.feasibility.warm(study, model) or self.feasibility.choose(
            model, propose, lambda: self.uniform(search_space), self.feasibility.tried(study)
        )
        return dict(chosen)

    def proposer(
        self,
        study: Study,
        trial: FrozenTrial,
        inner_space: dict[str, BaseDistribution],
        search_space: dict[str, BaseDistribution],
        model: FeasibilityModel,
    ) -> Callable[[], dict[str, Any]]:
        """What `FeasibilityFilter.choose` draws the trial's proposals from: each call, one relative sample of
        the wrapped sampler completed into a whole architecture (a subclass may rank many from one fit)."""

        def propose() -> dict[str, Any]:
            inner = self.sampler.sample_relative(study, trial, inner_space)
            if self.space is not None:
                return dict(self.space.define(_Completion(inner, self._rng)))
            params = dict(inner)
            for name, dist in search_space.items():
                if isinstance(dist, CategoricalDistribution):
                    params.setdefault(name, self._rng.choice(dist.choices))
            return params

        return propose

    def uniform(self, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        """A uniform draw of a whole architecture (the space's questions, else the categorical decisions)."""
        if self.space is not None:
            return dict(self.space.define(_Completion({}, self._rng)))
        return {
            name: self._rng.choice(dist.choices)
            for name, dist in search_space.items()
            if isinstance(dist, CategoricalDistribution)
        }

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self.sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.sampler.before_trial(study, trial)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self.sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.sampler.reseed_rng()
        self._rng.seed()
