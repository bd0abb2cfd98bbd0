"""`RankedGPSampler`: Optuna's GP under a budget, fitted once per trial, its acquisition maximised over
candidates together with the feasibility model.

`BudgetAwareSampler` asks its wrapped sampler for up to ``feasibility_candidates`` (20) proposals a trial
and keeps the first not far over budget and not tried already. For TPE or NSGA-II a proposal is cheap; for
Optuna's `GPSampler` each was a whole fit of the Gaussian process and a mixed local search of its
acquisition, and its proposals ignored the feasibility model, so a trial whose GP proposed architectures
it had tried or that the model put over budget cost up to 20 of them (2.9 s of CPU a trial on
NAS-Bench-201's Raspberry Pi 4 budget). Here the GP is fitted once a trial (`_compat_gp.acquisition_gp`) and
its acquisition is maximised over candidates, as Optuna's sample-based optimiser does over random points:
a seeded pool of the space and every one-decision move from the best trials (where Optuna's local search
starts), ranked by the acquisition plus the feasibility model's log-probability that they are within
budget (`FeasibilityModel.log_feasible`): constrained expected improvement, with feasibility learnt
from every profiled trial, the ones over budget included. The GP is shown the trials within budget only,
their constraints set aside: it answers "is it good?", the feasibility model "does it fit?" (Optuna's own
constraint GPs see completed trials only, so in a search that leaves over-budget trials untrained they
never see one over budget and only steer away from the budget's edge, where the best feasible
architectures sit). The filter then keeps the first of the ranking not far over budget and not tried.

What the GP models (`modelled`, `RankedGPSampler._cost_inputs`): the objective as normal scores of its
ranks, so that a few collapsed architectures do not set its scale, over the decisions and the counted
costs the engine tells before training (a network's size tells much of its accuracy, and under a budget
the best architectures are the largest that fit). On NAS-Bench-201's 15 device budgets (10 seeds, told
the parameter count) its mean regret fell from 0.42 to 0.24 and it beat random search in 15 of 15
instead of 14 (benchmarks/strategies/README.md, "gp models normal scores over the decisions and the
counted costs", with what was measured on other seeds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution
from optuna.samplers import GPSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from nas_workbench import _compat_gp
from nas_workbench._compat import sampling_trials
from nas_workbench.strategies.budget_aware import BudgetAwareSampler
from nas_workbench.strategies.cost_features import _Completion
from nas_workbench.strategies.cost_prior import choices_key
from nas_workbench.strategies.feasibility import FeasibilityFilter
from nas_workbench.trial_attrs import without_constraints

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.strategies.feasibility_model import FeasibilityModel

__all__ = ["RankedGPSampler", "modelled", "normal_scores"]

#: What a counted cost is called among the GP's inputs, before its name (apart from the decisions' names).
COST_INPUT = "cost:"


def normal_scores(values: np.ndarray) -> np.ndarray:
    """Each value's rank among ``values`` (ties averaged) as a standard normal quantile,
    ``Φ⁻¹(rank / (n + 1))``: the Gaussian copula transform of the objective (Salinas et al., ICML 2020),
    which keeps the order and nothing of the scale, so that a few values far below the rest do not make
    the rest look alike."""
    from scipy.special import ndtri  # scipy only when a strategy ranks by it (light imports)
    from scipy.stats import rankdata

    return np.asarray(ndtri(rankdata(values) / (len(values) + 1)), dtype=float)


def modelled(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """What the GP models under a budget: copies of ``trials`` without their constraints (the feasibility
    model judges fit), and, with one objective, its values as `normal_scores`. NAS-Bench-201's accuracies
    within a budget run from 10% (cells with no path from input to output) to 90%; a GP fitted to them
    as they are spends its scale on the few collapsed cells, so the cells at 85-90%, among which the
    search must choose, look alike to it, and late in a search its expected improvement still proposed
    cells at 43-75% (Pixel 3 30th, seed 0)."""
    shown = without_constraints(trials)
    if not shown or len(shown[0].values or ()) != 1:
        return shown
    for trial, score in zip(shown, normal_scores(np.array([t.values[0] for t in shown])), strict=True):
        trial.values = [float(score)]
    return shown


class RankedGPSampler(BudgetAwareSampler):
    """A `BudgetAwareSampler` around Optuna's GP (`_compat_gp.acquisition_gp`) whose proposals are candidates
    ranked by one fit's acquisition and the feasibility model.

    Args:
        gp: Optuna's GP sampler that leaves its acquisition to be maximised (`_compat_gp.acquisition_gp`).
        feasibility: The filter and its settings.
        space: The search space, to draw architectures whole.
        seed: Seed of the pool and of the uniform draws.
        pool_size: Architectures drawn once (seeded) that each fit ranks.
        climb_from: Best trials whose one-decision moves are ranked too (single objective).
    """

    def __init__(
        self,
        gp: GPSampler,
        feasibility: FeasibilityFilter,
        space: SearchSpace | None = None,
        seed: int | None = None,
        pool_size: int = 512,
        climb_from: int = 5,
    ) -> None:
        super().__init__(gp, feasibility, space, seed, hide_infeasible=True)
        gp.shown = self._shown  # type: ignore[attr-defined]
        self.pool_size = pool_size
        self.climb_from = climb_from
        self._pool: list[dict[str, Any]] | None = None
        self._pool_keys: set[tuple[tuple[str, Any], ...]] = set()

    def proposer(
        self,
        study: Study,
        trial: FrozenTrial,
        inner_space: dict[str, BaseDistribution],
        search_space: dict[str, BaseDistribution],
        model: FeasibilityModel,
    ) -> Callable[[], dict[str, Any]]:
        """The candidates in order of one fit's acquisition plus `FeasibilityModel.log_feasible`; before the
        GP's start-up trials are done (no fit), its uniform draws."""
        fit = super().proposer(study, trial, inner_space, search_space, model)
        ranked: list[dict[str, Any]] = []

        def propose() -> dict[str, Any]:
            if ranked:
                return ranked.pop()
            self.sampler.acquisition = None  # type: ignore[attr-defined]
            self.sampler.inputs = self._cost_inputs(study)  # type: ignore[attr-defined]
            self.sampler.defer = True  # type: ignore[attr-defined]  # the ranking below maximises it
            try:
                drawn = fit()
            finally:
                self.sampler.defer = False  # type: ignore[attr-defined]  # no model: Optuna's GP as it is
            if (acquisition := self.sampler.acquisition) is None:  # type: ignore[attr-defined]
                return drawn
            ranked.extend(reversed(self._ranked(acquisition, model, study, search_space)))
            return ranked.pop() if ranked else drawn

        return propose

    def _ranked(
        self,
        acquisition: Any,
        model: FeasibilityModel,
        study: Study,
        search_space: dict[str, BaseDistribution],
    ) -> list[dict[str, Any]]:
        """The candidates with every decision the GP models, best first by acquisition plus the
        log-probability of feasibility."""
        if self._pool is None:
            drawn = {choices_key(p): p for p in (self.uniform(search_space) for _ in range(self.pool_size))}
            self._pool, self._pool_keys = list(drawn.values()), set(drawn)
        moves = {choices_key(p): p for p in self._moves(study, search_space)}
        modelled = list(self._inner_space)
        candidates = [*self._pool, *(p for key, p in moves.items() if key not in self._pool_keys)]
        candidates = [p for p in candidates if all(name in p for name in modelled)]
        if not candidates:
            return []
        shown = [self._with_costs(p) for p in candidates]
        score = _compat_gp.acquisition_values(acquisition, shown) + model.log_feasible(candidates)
        return [candidates[i] for i in np.argsort(-score, kind="stable")]

    def _cost_inputs(self, study: Study) -> dict[str, BaseDistribution]:
        """The counted costs the GP models beside the decisions (`SamplerContext.costs`, which the
        feasibility model takes as features too), each a numeric input over its range in the trials the GP
        is shown (a candidate beyond it lies beyond 0 or 1 once normalised), on a log scale where they are
        all positive; none without costs. A kernel over categorical decisions alone takes every change of
        a decision as alike; a network's size tells much of its accuracy, and under a budget the best
        architectures are the largest that fit."""
        costs = self.feasibility.costs
        trials = sampling_trials(study, (TrialState.COMPLETE,))
        if costs is None or not trials:
            return {}
        values = np.array([costs(t.params) for t in trials])
        inputs: dict[str, BaseDistribution] = {}
        for column, name in enumerate(costs.names()):
            low, high = float(values[:, column].min()), float(values[:, column].max())
            if high > low:
                inputs[COST_INPUT + name] = FloatDistribution(low, high, log=low > 0)
        return inputs

    def _with_costs(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with the counted costs the GP models (`_cost_inputs`)."""
        inputs, costs = self.sampler.inputs, self.feasibility.costs  # type: ignore[attr-defined]
        if not inputs or costs is None:
            return params
        counted = costs.counted(params)
        return params | {name: counted[name.removeprefix(COST_INPUT)] for name in inputs}

    def _shown(self, trials: list[FrozenTrial]) -> list[FrozenTrial]:
        """What the GP fits: the trials as `modelled`, with their counted costs (`_with_costs`)."""
        shown = modelled(trials)
        for trial in shown:
            trial.params = self._with_costs(trial.params)
        return shown

    def _moves(self, study: Study, search_space: dict[str, BaseDistribution]) -> list[dict[str, Any]]:
        """Every architecture one categorical decision away from the ``climb_from`` best completed trials
        (none in a study of several objectives)."""
        if len(study.directions) != 1:
            return []
        done = [t for t in sampling_trials(study, (TrialState.COMPLETE,)) if t.value is not None]
        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
        best = sorted(done, key=lambda t: sign * float(t.value or 0.0))[: self.climb_from]
        moves = []
        for t in best:
            for name, dist in search_space.items():
                if not isinstance(dist, CategoricalDistribution) or name not in t.params:
                    continue
                for choice in dist.choices:
                    if choice != t.params[name]:
                        moved = {**t.params, name: choice}
                        moves.append(
                            dict(self.space.define(_Completion(moved, self._rng))) if self.space else moved
                        )
        return moves
