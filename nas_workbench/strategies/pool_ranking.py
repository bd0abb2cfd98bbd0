"""The proxy-guided search's ranking of its pool: which candidates fit the budget, and in what order.

Each trial of `proxy_guided` starts from a `Ranking` of its `CandidatePool`, made by `PoolRanker`:

1. **Budget filter, before any training.** A constraint named like a counted cost (a target device's
   ``latency_ms``, ``params``) is exact: its limit is the one the engine gives (`SamplerContext.limits`),
   so no candidate over it is ever proposed, or else the one a profiled trial gives (``cost / (1 +
   constraint)``, the engine's relative constraint: a sampler used alone with Optuna), and no candidate
   over it is proposed again. Another constraint (a
   latency measured on this machine, with only parameters known in advance) is predicted by the
   `FeasibilityModel` once its filter's ``min_trials`` trials are profiled and it predicts them with skill
   (leave-one-out R² at least `MIN_SKILL`); until then, from the first trial on when the engine gives
   the limit, the ranking says it is *exploring* (the sampler draws untried architectures as random
   sampling does, which is what that model learns best from; the ranking's top, the largest networks,
   would teach it nothing but "over budget").
2. **Ranking by trusted estimators.** Each estimator's trust is its Spearman correlation with the
   trained (feasible, complete) trials' objective, shrunk towards a prior weight of 1 ("larger scores
   are better", as for parameters, FLOPs and synflow on image tasks) as if ``prior_trials`` trials had
   agreed (`trust`); the score is the trust-weighted mean of the estimators' percentile ranks among the
   candidates predicted within budget. An estimator the trials contradict loses its say, one they
   confirm keeps it. Ranking among those candidates only matters under a tight budget: ranked over the
   whole pool, the budget's own cost (a latency all of whose feasible values sit in its bottom 5%)
   would spread its candidates over a twentieth of the scale and have almost no say among them.
   Ties are broken at random by function (`CandidatePool.functions`): twins weigh no more than one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from nas_workbench.strategies.exact_limits import exact_limits
from nas_workbench.strategies.feasibility_model import MIN_SKILL
from nas_workbench.strategies.pool import percentile_ranks, trust

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from nas_workbench.strategies.feasibility import FeasibilityFilter
    from nas_workbench.strategies.feasibility_model import FeasibilityModel
    from nas_workbench.strategies.pool import CandidatePool

__all__ = ["PoolRanker", "Ranking"]

#: Relative slack of an exact limit (a candidate's cost equal to the limit is feasible).
_SLACK = 1e-9


class Ranking(NamedTuple):
    """One trial's view of the pool, each array with one entry per candidate (estimator for ``weights``)."""

    #: Candidates a trial already has (finished, running or planned).
    tried: np.ndarray
    #: Candidates predicted within every limit.
    allowed: np.ndarray
    #: Whether some learnt limit is still unknown (its feasibility model not fitted, or without skill).
    exploring: bool
    #: Allowed candidates computing a function no trial has tried.
    open: np.ndarray
    #: The trust in each estimator (`trust`).
    weights: np.ndarray
    #: Each candidate's percentile rank by each estimator among the allowed ones (0 elsewhere).
    ranks: np.ndarray
    #: The trust-weighted score (``ranks @ weights``, ties broken at random by function).
    score: np.ndarray


class PoolRanker:
    """Ranks a `CandidatePool` for a trial: budget filter, then trust-weighted estimator ranks.

    Args:
        pool: The candidates and their estimator values.
        cost_names: The pool's estimators that are counted costs (exact: a constraint so named is filtered
            by its limit, not predicted).
        feasibility: Predicts the other constraints (`FeasibilityFilter.model`).
        prior_trials: How many trained trials the prior weight of each estimator is worth.
        muted: The estimators given no weight whatever the trials say, asked at each ranking (zero-cost
            scores dropped for their cost, `score_cost.PricedScores.muted`: later candidates have no
            values of theirs); None: none.
        limits: The budget's absolute limits the engine gives before any trial (`SamplerContext.limits`):
            a counted cost's constraint is filtered by its limit from the first trial; None: by the limit
            a profiled trial gives.
    """

    def __init__(
        self,
        pool: CandidatePool,
        cost_names: tuple[str, ...],
        feasibility: FeasibilityFilter,
        prior_trials: float,
        muted: Callable[[], frozenset[str]] | None = None,
        limits: Mapping[str, float] | None = None,
    ) -> None:
        self.pool = pool
        self.cost_names = cost_names
        self.feasibility = feasibility
        self.prior_trials = prior_trials
        self.muted = muted
        self.limits = dict(limits or {})
        self._one_hot: tuple[object, np.ndarray] | None = None

    def rank(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        tried: np.ndarray,
        profiled: list[tuple[FrozenTrial, int | None]],
        trained: list[tuple[int, float]],
        rng: random.Random,
    ) -> Ranking:
        """The pool's `Ranking` for ``trial`` given the candidates ``tried``, the ``profiled`` trials (those
        with constraints, each with its architecture's pool index, joined before the pool sizes anything)
        and the ``trained`` ones (pool index, objective to maximise)."""
        pool = self.pool
        allowed, exploring = self._feasible(study, trial, profiled)
        open_ = allowed & ~pool.function_twins(tried)  # a function not tried yet, while there is one
        weights = trust(
            pool.values[[i for i, _ in trained]],
            np.array([v for _, v in trained]),
            np.ones(len(pool.names)),
            self.prior_trials,
        )
        if self.muted is not None:
            muted = self.muted()
            weights[[n in muted for n in pool.names]] = 0.0
        ranks = np.zeros(pool.values.shape)
        ranks[allowed] = percentile_ranks(pool.values[allowed])  # among what may be proposed
        jitter = np.array([rng.random() for _ in range(int(pool.functions.max(initial=-1)) + 1)])
        score = ranks @ weights + 1e-9 * jitter[pool.functions]
        return Ranking(tried, allowed, exploring, open_, weights, ranks, score)

    def _feasible(
        self, study: optuna.Study, trial: FrozenTrial, profiled: list[tuple[FrozenTrial, int | None]]
    ) -> tuple[np.ndarray, bool]:
        """Which candidates are predicted within every limit, and whether some limit is still unknown (a
        constraint no counted cost gives, before the feasibility model predicts it with skill)."""
        pool = self.pool
        allowed = np.ones(len(pool), dtype=bool)
        names = sorted({name for t, _ in profiled for name in t.constraints} | set(self.limits))
        exact = [n for n in names if n in self.cost_names]
        observed = (
            (t.constraints, {n: pool.values[index, pool.names.index(n)] for n in self.cost_names})
            for t, index in profiled
            if index is not None
        )
        for name, limit in exact_limits(self.cost_names, self.limits, observed).items():
            allowed &= pool.column(name) <= limit * (1.0 + _SLACK)
        learnt = [n for n in names if n not in exact]
        if not learnt:
            return allowed, False
        model = self.feasibility.model(study, trial)
        if model is None:
            return allowed, True
        predicted = self._design(model) @ model.coefficients
        skilled = {n for n, skill in zip(model.names, model.skill, strict=True) if skill >= MIN_SKILL}
        for column, name in enumerate(model.names):
            if name in learnt and name in skilled:
                allowed &= predicted[:, column] + self.feasibility.z * model.spread[column] <= 0.0
        return allowed, not skilled.issuperset(learnt)

    def _design(self, model: FeasibilityModel) -> np.ndarray:
        """The `FeasibilityModel` features of every candidate (`FeasibilityModel.design`), the one-hot
        encoding cached while the pool and the model's decisions stay the same."""
        pool = self.pool
        key = (len(pool), tuple((name, tuple(choices)) for name, choices in model.decisions.items()))
        if self._one_hot is None or self._one_hot[0] != key:
            self._one_hot = (key, pool.one_hot(model.decisions))
        costs = None
        if model.cost_scale is not None and self.cost_names:
            costs = np.column_stack([pool.column(n) for n in self.cost_names])
        return model.design(self._one_hot[1], costs)
