"""Budget limits a strategy knows only through a prediction: a cost named ``predicted_<metric>``.

Besides the counted costs that judge a constraint exactly (`exact_limits`), the engine may tell a strategy
a *predicted* cost of each candidate: with a latency budget on this machine, the latency this machine's
lookup table predicts (`nas_workbench.engine.local_costs`), named ``predicted_latency_ms`` so that no
constraint is named like it and `exact_limits` never judges it. The trial's constraint stays the measured
latency, which the prediction only approximates (a fitted correction, a drift factor of the moment).

Before any trial the constraint is taken as ``predicted / limit - 1`` with a spread of `PRIOR_SPREAD`
(`FeasibilityModel.with_prior`): a candidate predicted far over budget is not proposed from the first
trial, yet one predicted near the limit still is. From `PRIOR_MIN_TRIALS` profiled trials on, the
feasibility model takes the prediction as a feature and fits its ridge regression as a correction of that
prior (`FeasibilityModel.fit`'s ``prior``): it learns ``measured ≈ a·predicted + b`` (refined by the
decisions) as far as the trials show it, and trials that all cost alike (a warm start's, at the limit)
keep the prior where a free fit of them would call every candidate feasible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["PREFIX", "PRIOR_MIN_TRIALS", "PRIOR_SPREAD", "predicted_limits", "predicted_name"]

#: What a predicted cost's name starts with, before the metric its constraint is named after.
PREFIX = "predicted_"

#: The spread, relative to the limit, of a constraint taken from its predicted cost before the trials
#: teach the model better: the ±10% within which the engine's trust rule wants most of its predictor's
#: held-out predictions (`nas_workbench.engine.local_costs.TRUSTED_WITHIN_10PCT`). With the filter's
#: ``feasibility_z`` of 0.5, a candidate predicted more than 5% over the limit counts as far over budget.
PRIOR_SPREAD = 0.1


#: Profiled trials from which the model fits its correction of the prior (`FeasibilityModel.fit`'s
#: ``prior``), where a fit of its own waits for ``min_trials`` (10): anchored at the prediction, a fit of
#: three trials moves it only as far as they show (a machine busier than when the table was calibrated:
#: the first warm-start candidates, predicted at the limit, measured over it).
PRIOR_MIN_TRIALS = 3


def predicted_name(metric: str) -> str:
    """The name of ``metric``'s predicted cost: ``"predicted_latency_ms"``."""
    return PREFIX + metric


def predicted_limits(
    cost_names: Iterable[str], given: Mapping[str, float] | None
) -> dict[str, tuple[str, float]]:
    """Per constraint with a predicted cost among ``cost_names`` and a limit ``given`` (the engine's), the
    cost and the limit: ``{"latency_ms": ("predicted_latency_ms", 0.72)}``. A sampler used alone with
    Optuna is given no limits: it learns the relation from the trials alone (the feature)."""
    limits: dict[str, tuple[str, float]] = {}
    for name in cost_names:
        metric = name[len(PREFIX) :]
        if name.startswith(PREFIX) and given and metric in given:
            limits[metric] = (name, float(given[metric]))
    return limits
