"""Constraints that are an exact sum of per-decision costs, verified on the trials' own constraints.

The feasibility model (`feasibility_model`) is a ridge regression: it must not chase a device's
measurement noise, and its penalty keeps even an exactly additive latency a little off (on NAS-Bench-201's
FPGA and Eyeriss tables, whose latencies a linear model of the edge operations reproduces to 1e-15 of the
budget, its worst leave-one-out error was 1-5% of the limit after 20-30 trials). Whether a constraint is
exact is a separate question, asked of a plain least-squares fit: every trial is held out in turn (its
leave-one-out residual, from the fit's leverage), and when the worst of them is within `EXACT_TOLERANCE`
of the limit, with `MIN_VERIFIED` trials beyond the costs fitted, and the trials determine every cost, each
candidate's constraint is that fit's prediction: a cost known before proposing, as a target device's
predicted latency is. Two fits are tried, the fewer features first: one cost per choice wherever it is
made (the counts of each shared choice, `shared_choices`: the edges of a cell run the same operations on
tensors of one shape, and on NAS-Bench-201's FPGA and Eyeriss the latency is exactly such a sum, so the
counts of the five operations determine it after a handful of trials, where one cost per edge and
operation waited 33-65 of TPE's trials until its indicators were all told apart), then one per decision and
choice.

A decision the search holds at one value (``SearchConfig.fixed_choices``) has one choice here: no trial
tells its other choices' costs apart, and none needs to be known, since every candidate makes the held
one (the strategy draws them from `spaces.with_fixed`); its cost is a constant, part of the intercept.
Counted with all its choices, it kept the fit from ever being exact unless its costs were shared with
other decisions (a fixed NAS-Bench-201 edge under a latency that differed by edge: TPE for all 60 trials).
An architecture making another choice there is still not predicted (NaN: its feature is outside what the
trials span).

Measured on NAS-Bench-201's 15 device budgets (TPE's trials, 10 seeds, `benchmarks/strategies/README.md`,
"The default hands over to proxy-guided search once the latency is exact"): the worst leave-one-out error
of this fit was at most 3e-13 of the limit on the FPGA and Eyeriss, and never below 0.075 of it on the
Pixel 2, Pixel 3 and Raspberry Pi 4 once it had 3 trials or more beyond the costs it fits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial

from nas_workbench.strategies.cost_features import shared_choices
from nas_workbench.strategies.feasibility_model import constrained_decisions, decision_one_hot

__all__ = ["EXACT_TOLERANCE", "MAX_LEVERAGE", "MIN_VERIFIED", "ExactConstraints"]

#: Worst leave-one-out error, as a fraction of the limit, of a constraint taken as exact: the tolerance
#: within which the feasibility model already counts a prediction as at the limit
#: (`feasibility_model.LIMIT_TOLERANCE`), far above the worst error measured on exactly additive latencies
#: and 75 times below the best on measured ones (module docstring).
EXACT_TOLERANCE = 1e-3
#: Trials beyond the costs fitted (the fit's residual degrees of freedom) before a constraint can be taken
#: as exact. With one, the leave-one-out residuals are all one number: on the Pixel 2 (30th percentile) a
#: one-hot fit of 26 trials (25 costs) held them all within 1.8% of the limit. With k, a measured
#: latency (at the limit its residuals spread by 19% of it or more on these devices) passes only if k
#: independent residuals all fall within the tolerance, a chance of about (0.004)^k: 1e-12 at 5; and from
#: 3 on no fit of TPE's trials on the phones or the Raspberry Pi 4 came within 7.5% of the limit.
MIN_VERIFIED = 5
#: A trial whose leverage is above this is all but the only witness of some choice: held out, nothing
#: predicts it, so it verifies nothing (its residual divided by 1 - leverage would be noise).
MAX_LEVERAGE = 0.99
#: A candidate's features this close to what the trials span (relative) count as determined by them.
_SPANNED = 1e-6


@dataclass(frozen=True)
class ExactConstraints:
    """Every constraint of a study as an exact sum of per-choice costs (see the module docstring).

    Attributes:
        decisions: Decision name → its choices, in the order of the one-hot features.
        names: The constraints, in column order of ``coefficients``.
        family: (one-hot features, fitted features): the fitted features of the one-hot decisions.
        coefficients: (1 + fitted features, constraints): intercept, then one cost per fitted feature.
        span: (1 + fitted features, the same): the projection onto what the trials' features span; a
            candidate whose features it leaves unchanged is determined by the trials.
        worst: Per constraint, the worst leave-one-out residual of the trials held out.
        verified: How many trials the fit has beyond the costs it fits (its residual degrees of freedom):
            how many independent checks of it the trials are.
    """

    decisions: Mapping[str, tuple[Any, ...]]
    names: tuple[str, ...]
    family: np.ndarray
    coefficients: np.ndarray
    span: np.ndarray
    worst: np.ndarray
    verified: int

    @classmethod
    def fit(
        cls,
        trials: Sequence[FrozenTrial],
        tolerance: float = EXACT_TOLERANCE,
        min_verified: int = MIN_VERIFIED,
        fixed: Mapping[str, Any] | None = None,
    ) -> ExactConstraints | None:
        """The exact fit of the constraints of ``trials`` (those that have some), or None unless every
        constraint they share is exact: every fitted feature's cost determined, ``min_verified`` trials
        more than the costs fitted, and each trial held out (leverage below `MAX_LEVERAGE`) predicted
        within ``tolerance`` (of the limit) by the others. The
        shared-choice counts are tried first, then the one-hot decisions (module docstring). ``fixed``:
        decisions every candidate makes at that value, whose other choices need no cost."""
        found = constrained_decisions(trials)
        if found is None or len(found[0]) < min_verified or not found[2]:
            return None
        trials, names, decisions = found
        held = fixed or {}
        decisions = {
            name: (held[name],) if name in held and held[name] in choices else choices
            for name, choices in decisions.items()
        }
        one_hot = np.stack([decision_one_hot(decisions, t.params) for t in trials])
        y = np.array([[t.constraints[n] for n in names] for t in trials])
        for family, rank in _families(decisions):
            x = np.hstack([np.ones((len(trials), 1)), one_hot @ family])
            fitted = int(np.linalg.matrix_rank(x))
            if fitted < rank:
                continue  # some feature is never told apart from the others: its cost is not known
            if len(trials) - fitted < min_verified:
                continue  # too few trials beyond the costs fitted to check them
            solve = np.linalg.pinv(x)  # the least-squares fit of least norm (collinear indicators)
            coefficients = solve @ y
            leverage = np.einsum("ij,ji->i", x, solve)
            held = leverage < MAX_LEVERAGE
            residuals = (y - x @ coefficients)[held] / (1.0 - leverage[held])[:, None]
            worst = np.max(np.abs(residuals), axis=0, initial=0.0)
            if np.all(worst <= tolerance):
                span = solve @ x
                return cls(decisions, names, family, coefficients, span, worst, len(trials) - fitted)
        return None

    def predict(self, params: Mapping[str, Any]) -> dict[str, float]:
        """Each constraint's value (``(cost - limit) / limit``, <= 0: within budget) of the architecture
        with these decisions; NaN for all when its features are not determined by the trials (a choice
        no trial made, in a space whose architectures do not all answer every decision)."""
        features = np.concatenate([np.ones(1), decision_one_hot(self.decisions, params) @ self.family])
        if np.linalg.norm(features @ self.span - features) > _SPANNED * np.linalg.norm(features):
            return dict.fromkeys(self.names, float("nan"))
        values = features @ self.coefficients
        return dict(zip(self.names, (float(v) for v in values), strict=True))


def _families(decisions: Mapping[str, tuple[Any, ...]]) -> list[tuple[np.ndarray, int]]:
    """The fits tried, fewer features first, each as (one-hot → its features, the rank its features reach
    once every cost is determined): the counts of each shared choice with the one-hot of the decisions that
    share no choices (when some do), then the one-hot alone. Each block of features (a decision's one-hot,
    a shared set's counts) sums to a constant, the intercept's column: one fewer rank per block."""
    one_hot = np.eye(sum(len(choices) for choices in decisions.values()))
    families = [(one_hot, 1 + sum(len(choices) - 1 for choices in decisions.values()))]
    pooling = shared_choices(decisions)
    if pooling.shape[1]:
        shared = pooling.sum(axis=1) > 0  # the one-hot features some shared count takes in
        groups = {choices for choices in decisions.values() if list(decisions.values()).count(choices) > 1}
        alone = [c for c in decisions.values() if c not in groups]
        rank = 1 + sum(len(c) - 1 for c in groups) + sum(len(c) - 1 for c in alone)
        families.insert(0, (np.hstack([pooling, one_hot[:, ~shared]]), rank))
    return families
