"""The feasibility model of budget-aware sampling (`nas_workbench.strategies.feasibility`): one ridge
regression per constraint on a trial's categorical decisions, its shared-choice counts and counted costs,
with leave-one-out residuals that say how far to trust it."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial

from nas_workbench.strategies.cost_features import CostFeatures, shared_choices
from nas_workbench.strategies.predicted_costs import PRIOR_SPREAD

__all__ = ["LIMIT_TOLERANCE", "MIN_SKILL", "FeasibilityModel", "constrained_decisions", "decision_one_hot"]

#: Leave-one-out R² a constraint's model needs before it rejects anything.
MIN_SKILL = 0.5
#: Ridge penalty of the per-constraint regressions (features are 0/1 indicators).
RIDGE = 1.0
#: Ridge penalty of the shared-choice counts (`shared_choices`): light, so that a cost common to the same
#: choice wherever it is made is learnt first and the per-decision indicators only refine it.
SHARED_RIDGE = 0.1
#: A predicted constraint value this close to the limit (0.1% of it) counts as at the limit: within budget.
#: Where the best architectures take exactly the budget (NAS-Bench-201's Eyeriss at the 5th percentile:
#: hundreds of cells at 3.1541 ms, its limit; Pixel 2's whole milliseconds), a model that predicts them
#: (nearly) exactly put them a few millionths over it, and the warm start passed over all of them.
LIMIT_TOLERANCE = 1e-3


@dataclass(frozen=True)
class FeasibilityModel:
    """Predicted constraint values of an architecture from its categorical decisions.

    Attributes:
        decisions: Decision name → its choices, in feature order.
        names: The constraint names, in column order of ``coefficients``.
        coefficients: (1 + features, constraints): intercept then one weight per (decision, choice).
        spread: Per constraint, the root mean square of the leave-one-out residuals.
        skill: Per constraint, the leave-one-out R² (1 - spread² / variance): how much better than a
            constant the model predicts held-out trials. Below `MIN_SKILL`, a constraint rejects nothing.
        n_trials: How many trials it was fitted on.
        costs: The architecture's counted costs, appended to the features (unpenalised); None when the
            strategy is not given costs.
        cost_scale: What each cost is divided by (its largest absolute value in the fitted trials), so
            that costs of any unit weigh alike in the fit.
        pooling: (one-hot features, shared features): maps each decision's one-hot to the counts of each
            choice over the decisions that share its choices (`shared_choices`).
    """

    decisions: Mapping[str, tuple[Any, ...]]
    names: tuple[str, ...]
    coefficients: np.ndarray
    spread: np.ndarray
    skill: np.ndarray
    n_trials: int
    costs: CostFeatures | None = None
    cost_scale: np.ndarray | None = None
    pooling: np.ndarray | None = None

    @classmethod
    def fit(
        cls,
        trials: Sequence[FrozenTrial],
        costs: CostFeatures | None = None,
        prior: Mapping[str, tuple[str, float]] | None = None,
    ) -> FeasibilityModel | None:
        """Fit on ``trials`` that have constraints; None when there are none or they share no constraint.

        ``prior`` (constraint → (its predicted cost, its limit), `predicted_limits`): those constraints are
        fitted as corrections to ``predicted / limit - 1`` (`with_prior`), the counted costs penalised like
        the decisions, so that a few trials learn ``measured ≈ a·predicted + b`` near the prior and trials
        that all cost alike (a warm start's, at the limit) keep it, where a free fit of them would call
        every candidate feasible; the prior being trusted, so are they (full skill)."""
        found = constrained_decisions(trials)
        if found is None:
            return None
        trials, names, decisions = found
        empty = np.zeros(len(names))
        scale = None
        if costs is not None:
            scale = np.maximum(np.max(np.abs([costs(t.params) for t in trials]), axis=0), 1e-12)
        pooling = shared_choices(decisions)
        model = cls(
            decisions, names, np.zeros((0, len(names))), empty, empty, len(trials), costs, scale, pooling
        )
        x = np.stack([model.features(t.params) for t in trials])
        y = np.array([[t.constraints[n] for n in names] for t in trials])
        n_one_hot, n_shared = pooling.shape
        penalty = RIDGE * np.eye(x.shape[1])
        penalty[0, 0] = 1e-6  # the intercept is (almost) free
        shared = slice(1 + n_one_hot, 1 + n_one_hot + n_shared)
        penalty[shared, shared] = SHARED_RIDGE * np.eye(n_shared)
        n_costs = x.shape[1] - 1 - n_one_hot - n_shared
        if n_costs and not prior:  # so are the counted costs: a prior the decisions' indicators refine
            penalty[-n_costs:, -n_costs:] = 1e-6 * np.eye(n_costs)
        anchor = model._limit_columns(prior or {}, x.shape[1])
        inverse = np.linalg.pinv(x.T @ x + penalty)
        coefficients = inverse @ x.T @ (y - x @ anchor) + anchor
        leverage = np.einsum("ij,jk,ik->i", x, inverse, x)
        residuals = (y - x @ coefficients) / np.maximum(1.0 - leverage, 1e-3)[:, None]
        spread = np.sqrt(np.mean(residuals**2, axis=0))
        # Trials that all gave one value (a policy that drew only over-budget networks) have no variance:
        # measured against a floor of 0.1% of the values' size, a model that reproduces them counts as
        # predicting, so its filter sends the strategy to other draws, instead of float noise deciding.
        floor = np.maximum((1e-3 * np.max(np.abs(y), axis=0)) ** 2, 1e-12)
        skill = 1.0 - spread**2 / np.maximum(np.var(y, axis=0), floor)
        skill[[n in (prior or {}) for n in names]] = 1.0
        return cls(decisions, names, coefficients, spread, skill, len(trials), costs, scale, pooling)

    @classmethod
    def nothing(cls, costs: CostFeatures, n_trials: int) -> FeasibilityModel:
        """A model of no constraint over ``costs``, for `with_exact` and `with_prior` to fill before any
        fit (``n_trials``: the profiled trials there are; the warm start counts from them)."""
        n_costs = len(costs.names())
        empty = np.zeros(0)
        nothing = cls({}, (), np.zeros((1 + n_costs, 0)), empty, empty, n_trials, costs, np.ones(n_costs))
        return dataclasses.replace(nothing, pooling=shared_choices({}))

    def with_exact(self, limits: Mapping[str, float]) -> FeasibilityModel:
        """This model with each constraint of ``limits``, one named like a counted cost, judged exactly:
        ``cost / limit - 1``, no spread, full skill. A fit cannot be trusted with them: ten trials that
        all cost the same (a warm start's) fit a constant that calls every candidate feasible.

        Args:
            limits: Metric → its absolute limit (`exact_limits`); each must be one of the costs.
        """
        return self._from_costs({name: (name, limit) for name, limit in limits.items()}, 0.0)

    def with_prior(self, limits: Mapping[str, tuple[str, float]]) -> FeasibilityModel:
        """This model with each constraint of ``limits`` taken from its predicted cost until a fit learns
        better (`fit`'s ``prior``): ``predicted / limit - 1``, with `PRIOR_SPREAD` and full skill
        (`nas_workbench.strategies.predicted_costs`).

        Args:
            limits: Constraint → (its predicted cost, its absolute limit) (`predicted_limits`).
        """
        return self._from_costs(limits, PRIOR_SPREAD)

    def _from_costs(self, limits: Mapping[str, tuple[str, float]], spread: float) -> FeasibilityModel:
        """This model with each constraint of ``limits`` (constraint → (cost, limit)) taken as ``cost / limit
        - 1`` with ``spread`` and full skill; the others as fitted."""
        names = tuple(sorted(set(self.names) | set(limits)))
        widened = dataclasses.replace(self, names=names)
        coefficients = widened._limit_columns(limits, self.coefficients.shape[0])
        spreads, skill = np.full(len(names), spread), np.ones(len(names))
        for column, name in enumerate(names):
            if name not in limits:
                fitted = self.names.index(name)
                coefficients[:, column] = self.coefficients[:, fitted]
                spreads[column], skill[column] = self.spread[fitted], self.skill[fitted]
        return dataclasses.replace(widened, coefficients=coefficients, spread=spreads, skill=skill)

    def _limit_columns(self, limits: Mapping[str, tuple[str, float]], n_features: int) -> np.ndarray:
        """(features, constraints in `names` order): ``cost / limit - 1`` for each constraint of ``limits``
        (constraint → (cost, limit)), zero for the others."""
        columns = np.zeros((n_features, len(self.names)))
        if not limits:
            return columns
        assert self.costs is not None and self.cost_scale is not None, "limits judge the costs"
        cost_names = self.costs.names()
        first_cost = n_features - len(cost_names)
        for column, name in enumerate(self.names):
            if name in limits:
                cost_name, limit = limits[name]
                cost = cost_names.index(cost_name)
                columns[0, column] = -1.0
                columns[first_cost + cost, column] = self.cost_scale[cost] / limit
        return columns

    def features(self, params: Mapping[str, Any]) -> np.ndarray:
        """Intercept, then per decision the one-hot of its choice (all zero when the architecture does
        not have that decision: a conditional space did not ask it), the shared-choice counts and the
        counted costs."""
        costs = self.costs(params) if self.costs is not None else None
        one_hot = decision_one_hot(self.decisions, params)
        return self.design(one_hot[None], None if costs is None else costs[None])[0]

    def design(self, one_hot: np.ndarray, costs: np.ndarray | None = None) -> np.ndarray:
        """The features of many architectures at once from their one-hot decisions (rows laid out as
        `decisions`) and their counted costs (rows, in name order; needed when the model has costs)."""
        parts = [np.ones((len(one_hot), 1)), one_hot]
        if self.pooling is not None:
            parts.append(one_hot @ self.pooling)
        if self.cost_scale is not None:
            assert costs is not None, "a model fitted with counted costs predicts from them"
            parts.append(costs / self.cost_scale)
        return np.hstack(parts)

    def predict(self, params: Mapping[str, Any]) -> dict[str, float]:
        """Predicted constraint values (<= 0: feasible) of the architecture with these decisions."""
        values = self.features(params) @ self.coefficients
        return dict(zip(self.names, (float(v) for v in values), strict=True))

    def excess(self, params: Mapping[str, Any], z: float) -> float:
        """How far the prediction lies beyond ``z`` leave-one-out deviations (and `LIMIT_TOLERANCE`) over
        the limit, summed over the constraints the model predicts with skill (0: plausibly feasible, or not
        predictable)."""
        predicted = self.features(params) @ self.coefficients
        over = np.maximum(predicted - z * self.spread - LIMIT_TOLERANCE, 0.0)
        return float(np.sum(over[self.skill >= MIN_SKILL]))

    def log_feasible(self, candidates: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Per candidate, the log-probability that it is within every limit the model predicts with skill,
        each prediction's error taken as normal with its leave-one-out spread (0 when none has skill): the
        feasibility factor of constrained expected improvement (Gardner et al., ICML 2014), from this model,
        which learns from every profiled trial, the ones over budget included. Many candidates at once."""
        from scipy.special import log_ndtr  # scipy only when a strategy ranks by it (light imports)

        columns: dict[tuple[str, Any], int] = {}
        for name, choices in self.decisions.items():
            for choice in choices:
                columns[(name, choice)] = len(columns)
        one_hot = np.zeros((len(candidates), len(columns)))
        for row, params in enumerate(candidates):
            for name, value in params.items():
                if (column := columns.get((name, value))) is not None:
                    one_hot[row, column] = 1.0
        costs = (
            np.stack([self.costs(p) for p in candidates]) if self.costs is not None and candidates else None
        )
        skilled = self.skill >= MIN_SKILL
        predicted = (self.design(one_hot, costs) @ self.coefficients)[:, skilled] - LIMIT_TOLERANCE
        return np.sum(log_ndtr(-predicted / np.maximum(self.spread[skilled], 1e-12)), axis=1)

    def headroom(self, params: Mapping[str, Any]) -> float:
        """The largest predicted value of the constraints predicted with skill, less `LIMIT_TOLERANCE` (<= 0:
        within budget)."""
        predicted = (self.features(params) @ self.coefficients)[self.skill >= MIN_SKILL]
        return float(predicted.max()) - LIMIT_TOLERANCE if predicted.size else -math.inf


def constrained_decisions(
    trials: Sequence[FrozenTrial],
) -> tuple[list[FrozenTrial], tuple[str, ...], dict[str, tuple[Any, ...]]] | None:
    """What a model of the constraints on the decisions fits: the ``trials`` that have constraints, the
    constraints they all share (sorted), and the categorical decisions of more than one choice they
    answered, each with its choices in order; None when no trial has constraints or they share none."""
    trials = [t for t in trials if t.constraints]
    if not trials:
        return None
    names = tuple(sorted(set.intersection(*(set(t.constraints) for t in trials))))
    if not names:
        return None
    decisions: dict[str, tuple[Any, ...]] = {}
    for t in trials:
        for name, dist in t.distributions.items():
            if isinstance(dist, CategoricalDistribution) and len(dist.choices) > 1:
                decisions.setdefault(name, tuple(dist.choices))
    return trials, names, decisions


def decision_one_hot(decisions: Mapping[str, Sequence[Any]], params: Mapping[str, Any]) -> np.ndarray:
    """Per decision, the one-hot of its choice in ``params`` (all zero when the architecture does not have
    that decision: a conditional space did not ask it), laid out as ``decisions``."""
    parts = [np.zeros(0)]
    for name, choices in decisions.items():
        parts.append(np.array([name in params and params[name] == c for c in choices], dtype=float))
    return np.concatenate(parts)
