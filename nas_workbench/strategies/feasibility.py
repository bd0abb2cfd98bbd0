"""Budget-aware sampling: a feasibility model learnt from the trials' constraints keeps proposals inside.

The engine sets each trial's constraints (``Trial.set_constraint``: (value - limit) / limit per budget
metric, feasible when <= 0) as soon as the network is profiled, before it is trained. A sampler that learns
feasibility only from the objective (an over-budget trial is told accuracy 0) wastes trials over budget and
mistakes "too slow" for "bad". Here feasibility is learnt separately:

- `FeasibilityModel`: one ridge regression per constraint on the one-hot of the trial's categorical
  decisions (a cell's latency, FLOPs or memory is close to a sum of per-decision costs), fitted on every
  trial that has constraints, running ones included (they were profiled). Its leave-one-out residuals say
  how far to trust it: an architecture is *far over budget* when its predicted constraint exceeds
  ``z`` leave-one-out standard deviations, and a model that predicts held-out trials no better than
  half-way from a constant (leave-one-out R² < 0.5) rejects nothing.
- `CostFeatures`: what the engine knows of a candidate before training it (`SamplerContext.costs`:
  its parameter count; with a ``target_device``, the latency its profile predicts) joins the model's
  features, so a constraint on a known cost is learnt exactly and one on a correlated cost has a prior.
- `FeasibilityFilter`: draws up to ``candidates`` proposals from a strategy and, of the first ``edge``
  not far over budget and not tried already, keeps the one predicted closest under the limit (else the
  one predicted least over): over-budget trials teach a strategy that the edge is bad, where the best
  feasible ones are.
  Evolution and REINFORCE use it when they plan a trial; `BudgetAwareSampler` (`budget_aware`) wraps
  Optuna's samplers (TPE, GP, NSGA-II) with it.
- Exact limits (`exact_limits`): a constraint named like a counted cost (a target device's predicted
  latency, the parameter count) needs no learning: with its limit given by the engine, or implied by the
  first profiled trial, `FeasibilityModel.with_exact` judges it from the first trial on, so no candidate
  over it is proposed while the learnt model waits for ``min_trials`` trials, and the warm start begins at
  once.
- Predicted costs (`predicted_costs`): a latency budget on this machine is measured per trial, and the
  engine tells a prediction of it (``predicted_latency_ms``, this machine's lookup table) only as a
  feature: the model learns how the measured latency follows it, and until it does
  (`FeasibilityModel.with_prior`) the constraint is taken from the prediction with a spread, not exactly.
- `CostPrior` (`cost_prior`): once the model is fitted, the filter's first ``prior_trials`` proposals
  (`FeasibilityFilter.warm`) are the untried candidates with the most live parameters among those the
  model predicts within budget, instead of the strategy's own start-up draws.
- ``skip_twins`` (off by default): in a space that tells functions apart (`CellSpace.signature`), a
  candidate computing the same function as a trial within budget counts as tried
  (`FeasibilityFilter.tried`), in the strategy's proposals and the warm start alike (the cost prior
  ranks a cell's twins, one live network, side by side). Under NAS-Bench-201's device budgets TPE spent
  21-61 of its 100 trials on twins of cells it had tried, yet skipping them did not lower its regret
  there (benchmarks/strategies/README.md, "Functional twins"): a twin trained again is a second draw of
  the training noise, which the best-validation choice exploits on a table.

Infeasible trials stay in the study (the strategies still read them); with no constraints in the study,
nothing changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Set
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from nas_workbench._compat import sampling_trials
from nas_workbench.strategies._base import Option, SamplerContext, check_float, check_int
from nas_workbench.strategies.cost_features import CostFeatures
from nas_workbench.strategies.cost_prior import CostPrior, choices_key
from nas_workbench.strategies.exact_limits import exact_limits
from nas_workbench.strategies.feasibility_model import MIN_SKILL, FeasibilityModel
from nas_workbench.strategies.predicted_costs import PRIOR_MIN_TRIALS, predicted_limits

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec

__all__ = [
    "OPTIONS",
    "CostFeatures",
    "FeasibilityFilter",
    "FeasibilityModel",
    "constrained_trials",
    "make_filter",
]

#: Trials of the warm start (`FeasibilityFilter.warm`) by default: 25 for tpe, evolution, rl and nsga2
#: (README, "Search under a device latency budget": with the shared-choice counts, tpe, rl and nsga2 beat
#: random search in all 15 NAS-Bench-201 device budgets, evolution in 14).
PRIOR_TRIALS = 25


def constrained_trials(study: Study, exclude: int | None = None) -> list[FrozenTrial]:
    """Trials of ``study`` whose constraints are set (profiled), in number order, but trial ``exclude``
    (read as samplers read the study: once per trial, `sampling_trials`)."""
    return [
        t
        for t in sampling_trials(study)
        if t.constraints and t.number != exclude and t.state != TrialState.WAITING
    ]


class FeasibilityFilter:
    """Keeps a strategy's proposals out of the region the feasibility model calls far over budget.

    The best architectures under a budget usually spend nearly all of it, so the filter can lean to its
    edge: of the first ``edge`` proposals not far over budget it keeps the one predicted closest under the
    limit. The strategy still decides what is proposed; the filter only picks among its proposals.

    Args:
        candidates: Most proposals drawn per trial.
        z: Leave-one-out deviations of slack before a prediction over the limit counts as "far over".
        min_trials: Trials with constraints needed before the model is used at all.
        costs: The counted costs the model takes as features (`CostFeatures`); None: decisions only.
        edge: Proposals not far over budget compared per trial (1: the first is kept).
        prior: Ranks candidates for the warm start (`warm`); None: no warm start.
        prior_trials: Trials, from the model's first fit on, that `warm` takes from ``prior``.
        prior_z: Leave-one-out deviations over the limit a warm-start candidate's prediction may lie
            (`FeasibilityModel.excess`; 0: predicted within budget).
        twins: The function an architecture's decisions compute (`CellSpace.signature`): a candidate
            computing the same function as a trial within budget counts as tried (`tried`); None: only
            the same decisions do.
        limits: The budget's absolute limits (`SamplerContext.limits`), for ``exact``.
        exact: Whether a constraint named like one of ``costs`` is judged exactly from the costs
            (`FeasibilityModel.with_exact`) from the first trial on; its limit is the one in ``limits``,
            else the one a profiled trial implies. Also whether one with a predicted cost
            (``predicted_<metric>``, `predicted_costs`) and a limit in ``limits`` is taken from it
            (`FeasibilityModel.with_prior`) until the learnt model predicts it with skill.
    """

    def __init__(
        self,
        candidates: int = 20,
        z: float = 0.5,
        min_trials: int = 10,
        costs: CostFeatures | None = None,
        edge: int = 1,
        prior: CostPrior | None = None,
        prior_trials: int = 0,
        twins: Callable[[Mapping[str, Any]], str] | None = None,
        limits: Mapping[str, float] | None = None,
        exact: bool = False,
        prior_z: float = 0.0,
    ) -> None:
        self.candidates = check_int("feasibility_candidates", candidates, 1)
        self.z = check_float("feasibility_z", z, 0.0, 100.0)
        self.min_trials = check_int("feasibility_min_trials", min_trials, 2)
        self.edge = check_int("feasibility_edge", edge, 1)
        self.costs = costs
        self.prior = prior
        self.prior_trials = check_int("prior_trials", prior_trials, 0)
        self.prior_z = check_float("prior_z", prior_z, 0.0, 100.0)
        self.twins = twins
        self.limits = dict(limits or {})
        self.exact = exact and costs is not None
        self._cache: tuple[tuple[Any, ...], FeasibilityModel | None] | None = None
        #: Whether the last `model` judged a limit before its fit, exactly or from a predicted cost (the
        #: warm start then counts from trial 0).
        self._judged_early = False
        self._functions: dict[tuple[tuple[str, Any], ...], tuple[str, str]] = {}

    def tried(self, study: Study) -> set[Hashable]:
        """What the study has tried, for `is_tried`: the decisions of every trial (running ones
        included) and, with ``twins``, the function of every trial not over budget. A function tried
        over budget stays open: another cell computing it (without the dead ops) may fit."""
        keys: set[Hashable] = set()
        for t in sampling_trials(study):
            keys.add(choices_key(t.params))
            if self.twins is not None and t.params and all(v <= 0 for v in t.constraints.values()):
                keys.add(self._function(t.params))
        return keys

    def is_tried(self, params: Mapping[str, Any], tried: Set[Hashable]) -> bool:
        """Whether ``params`` or, with ``twins``, its function is among ``tried`` (keys of `tried`)."""
        if choices_key(params) in tried:
            return True
        return self.twins is not None and self._function(params) in tried

    def _function(self, params: Mapping[str, Any]) -> tuple[str, str]:
        key = choices_key(params)
        if key not in self._functions:
            assert self.twins is not None
            self._functions[key] = ("function", self.twins(params))
        return self._functions[key]

    def model(self, study: Study, trial: FrozenTrial) -> FeasibilityModel | None:
        """The model fitted on the study's profiled trials (None before ``min_trials`` of them, or without
        constraints); with ``exact``, each constraint whose limit is known (`exact_limits`) judged exactly
        from the first trial on (`FeasibilityModel.with_exact`), and each with a predicted cost and a
        given limit (`predicted_limits`) taken from it before the fit (`FeasibilityModel.with_prior`),
        then fitted as its correction (`FeasibilityModel.fit`'s ``prior``). Refitted only when new trials
        have constraints."""
        trials = constrained_trials(study, exclude=trial.number)
        key = (study.study_name, *(t.number for t in trials))
        if self._cache is None or self._cache[0] != key:
            predicted = self._predicted_limits()
            fitted = None
            if len(trials) >= (min(self.min_trials, PRIOR_MIN_TRIALS) if predicted else self.min_trials):
                fitted = FeasibilityModel.fit(trials, self.costs, predicted)
            if fitted is None and predicted:
                assert self.costs is not None  # (``predicted`` implies costs; said for the type checker)
                fitted = FeasibilityModel.nothing(self.costs, len(trials)).with_prior(predicted)
            limits = self._exact_limits(trials)
            if limits:
                assert self.costs is not None
                fitted = (fitted or FeasibilityModel.nothing(self.costs, len(trials))).with_exact(limits)
            self._cache, self._judged_early = (key, fitted), bool(limits or predicted)
        return self._cache[1]

    def _predicted_limits(self) -> dict[str, tuple[str, float]]:
        """The constraints `predicted_limits` takes from a predicted cost (empty when not ``exact``)."""
        if not self.exact or self.costs is None:
            return {}
        return predicted_limits(self.costs.names(), self.limits)

    def _exact_limits(self, trials: list[FrozenTrial]) -> dict[str, float]:
        """The limits `exact` judges by (empty when not ``exact``)."""
        if not self.exact or self.costs is None:  # (``exact`` implies costs; said for the type checker)
            return {}
        observed = ((t.constraints, self.costs.counted(t.params)) for t in trials)
        return exact_limits(self.costs.names(), self.limits, observed)

    def warm(self, study: Study, model: FeasibilityModel | None) -> dict[str, Any] | None:
        """The warm start's proposal: for ``prior_trials`` trials from the first model's (trial 0 with
        an exact limit or a predicted cost, else ``min_trials``), the prior's best untried candidate
        predicted within budget; else None (the strategy proposes). Nothing without a model, or one that
        predicts no constraint with skill (it would call every candidate feasible)."""
        start = 0 if self._judged_early else self.min_trials  # as the `model` just asked for judged
        if self.prior is None or model is None or model.n_trials >= start + self.prior_trials:
            return None
        if not np.any(model.skill >= MIN_SKILL):
            return None
        tried = self.tried(study)
        return self.prior.pick(model, lambda choices: self.is_tried(choices, tried), self.prior_z)

    def choose(
        self,
        model: FeasibilityModel | None,
        propose: Callable[[], Mapping[str, Any]],
        fallback: Callable[[], Mapping[str, Any]] | None = None,
        tried: Set[Hashable] = frozenset(),
    ) -> Mapping[str, Any]:
        """Of up to ``candidates`` calls of ``propose``, the first ``edge`` not far over budget and not
        ``tried`` already (`is_tried`, keys of `tried`) are compared and the one nearest the budget's
        edge from below is kept (`FeasibilityModel.headroom`); when the strategy's proposals all are far
        over or tried (a model that has converged on a region draws the same ones again), the first of
        as many ``fallback`` draws (uniform ones) that is neither; else a tried one within budget (in a small
        space every feasible architecture may have been tried: a repeat is better than a proposal
        predicted far over budget); else the untried draw predicted least over, else the first draw.
        Without a model, the first proposal.

        A tried architecture teaches the search nothing new for a whole trial (a table gives the same
        value; a training gives its noise): under NAS-Bench-201's device budgets TPE proposed one again
        in 10-24 of its 100 trials."""
        if model is None:
            return propose()
        plausible: list[Mapping[str, Any]] = []
        best, best_excess, first, repeat = None, math.inf, None, None
        draws = [propose] * self.candidates + [fallback] * (self.candidates if fallback else 0)
        for index, draw in enumerate(draws):
            if plausible and (len(plausible) == self.edge or index >= self.candidates):
                break
            assert draw is not None
            params = draw()
            first = params if first is None else first
            excess = model.excess(params, self.z)
            if self.is_tried(params, tried):
                repeat = params if repeat is None and excess == 0.0 else repeat
            elif excess == 0.0:
                plausible.append(params)
            elif excess < best_excess:
                best, best_excess = params, excess
        if plausible:
            return max(plausible, key=lambda params: _edge_rank(model.headroom(params)))
        assert first is not None
        if repeat is not None:
            return repeat
        return best if best is not None else first


def _edge_rank(headroom: float) -> tuple[bool, float]:
    """Within budget before over it; within, the closest to the limit first; over, the least over."""
    return (headroom <= 0.0, headroom if headroom <= 0.0 else -headroom)


#: The options of every budget-aware strategy (the `FeasibilityFilter`'s settings).
OPTIONS = {
    "feasibility_candidates": Option(20, "proposals drawn per trial to find one not far over budget"),
    "feasibility_z": Option(
        0.5, "leave-one-out deviations over the limit before a predicted cost counts as far over budget"
    ),
    "feasibility_edge": Option(1, "proposals within budget compared; the one nearest the limit is kept"),
    "prior_trials": Option(
        PRIOR_TRIALS,
        "trials after the feasibility model's first fit spent on the untried candidates with the most "
        "live parameters predicted within budget (0: none)",
    ),
    "prior_z": Option(
        0.0,
        "leave-one-out deviations over the limit a warm-start candidate's prediction may lie (0: predicted "
        "within budget)",
    ),
    "prior_pool": Option(2000, "candidates the warm start ranks (the whole space if it is no larger)"),
    "skip_twins": Option(
        False,
        "a candidate that computes the same function as a trial within budget counts as tried (spaces "
        "that tell functions apart: cell spaces)",
    ),
}


def make_filter(
    context: SamplerContext,
    feasibility_candidates: int,
    feasibility_z: float,
    feasibility_edge: int,
    prior_trials: int,
    prior_pool: int,
    skip_twins: bool,
    prior_z: float = 0.0,
) -> FeasibilityFilter:
    """The `FeasibilityFilter` of a strategy's `OPTIONS`, using the context's counted costs when it has
    them and the space to count them on (both needed for the warm start's `CostPrior` too), and with
    ``skip_twins`` the space's `signature` when it has one."""
    costs, prior, twins = None, None, None
    space = context.space
    if skip_twins and space is not None and callable(signature := getattr(space, "signature", None)):
        twins = _functions_of(space, signature)
    if context.costs is not None and space is not None:
        costs = CostFeatures(space, context.costs)
        size = check_int("prior_pool", prior_pool, 1)
        prior = CostPrior(space, context.costs, size, context.seed)
    return FeasibilityFilter(
        feasibility_candidates,
        feasibility_z,
        costs=costs,
        edge=feasibility_edge,
        prior=prior,
        prior_trials=prior_trials,
        twins=twins,
        limits=context.limits,
        exact=True,
        prior_z=prior_z,
    )


def _functions_of(
    space: SearchSpace, signature: Callable[[ArchSpec], str]
) -> Callable[[Mapping[str, Any]], str]:
    """An architecture's decisions → the function it computes (`CellSpace.signature`)."""
    return lambda params: signature(space.spec(params))
