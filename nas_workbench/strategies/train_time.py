"""A candidate's expected training seconds, learnt from the trials' own, and a ranking per second of it.

The proxy-guided search spends trainings on the candidates its estimators rank highest; the estimators
(parameters, FLOPs, synflow) all grow with a network's size, so its first trials are the largest networks,
which train the slowest. When the search is judged at equal wall time (digits at 2 epochs, against TPE's
random start-up), a network twice as good per second of training is worth more than one a little better
in the ranking. `per_second` therefore divides each candidate's place in the ranking by the seconds its
training is expected to take, so that of two equally ranked candidates the cheaper trains first.

`expected_seconds` predicts those seconds from a counted cost (FLOPs, else parameters) by a line fitted to
the trained trials: seconds = a + b·cost, with b ≥ 0 (a larger network never trains faster) and a at
least a tenth of the median trial's seconds (data loading and evaluation cost something even for the
smallest network). Before two trials of different costs are trained, the line is 1 + cost / the median
cost, in units of nothing: only the ratios between candidates matter for a ranking, and this one assumes
that a median candidate's training takes as long as the fixed cost every trial pays.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from optuna.trial import TrialState

from nas_workbench.trial_attrs import attr

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = ["COST_NAMES", "TIMINGS", "expected_seconds", "per_second", "share_of_median", "trained_seconds"]

#: The trial record where the engine keeps its timings (``evaluate_s``: the training's seconds;
#: `nas_workbench.trial_attrs`).
TIMINGS = "timings"
#: The counted costs a training time is predicted from, in order of preference (FLOPs follow the work).
COST_NAMES = ("flops", "params")
#: The least fixed cost of a training, as a share of the median trained trial's seconds.
_LEAST_FIXED = 0.1


def trained_seconds(trial: FrozenTrial) -> float:
    """Seconds a finished trial spent training and evaluating (the engine's ``timings["evaluate_s"]``, else
    its whole duration; NaN when it has neither)."""
    timings = attr(trial, TIMINGS)
    if isinstance(timings, dict) and isinstance(timings.get("evaluate_s"), int | float):
        return float(timings["evaluate_s"])
    return trial.duration.total_seconds() if trial.duration is not None else math.nan


def expected_seconds(cost: np.ndarray, trained_cost: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Per candidate of ``cost``, its expected training seconds: the line a + b·cost fitted to the trained
    candidates' ``trained_cost`` and ``seconds`` (b ≥ 0; a at least `_LEAST_FIXED` of their median), or,
    before two different costs are trained, 1 + cost / the median of ``cost`` (relative units)."""
    finite = np.isfinite(trained_cost) & np.isfinite(seconds)
    x, y = trained_cost[finite], seconds[finite]
    if len(np.unique(x)) < 2:
        scale = float(np.nanmedian(cost)) if np.any(np.isfinite(cost)) else 0.0
        return 1.0 + np.nan_to_num(cost, nan=0.0) / scale if scale > 0 else np.ones(len(cost))
    slope, intercept = np.polyfit(x, y, 1)
    if slope < 0:  # a larger network does not train faster: the trials' spread is noise
        slope, intercept = 0.0, float(np.mean(y))
    least = _LEAST_FIXED * float(np.median(y))
    if intercept < least:  # refit the slope through the least fixed cost
        intercept = least
        slope = max(float(np.dot(x, y - least) / np.dot(x, x)), 0.0) if np.dot(x, x) > 0 else 0.0
    return intercept + slope * np.nan_to_num(cost, nan=float(np.nanmedian(cost)))


def per_second(score: np.ndarray, allowed: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Each ``allowed`` candidate's place in the ``score`` ranking among them (a percentile in (0, 1]: its
    scale does not depend on the trust's) per expected second of training; 0 elsewhere."""
    from scipy.stats import rankdata  # slow to import; a workbench imports the strategies at start

    rate = np.zeros(len(score))
    if allowed.any():
        place = rankdata(score[allowed]) / int(allowed.sum())
        rate[allowed] = place / seconds[allowed]
    return rate


def share_of_median(trials: list[FrozenTrial], share: float) -> float:
    """``share`` of the median complete trial's duration: how long the proxy-guided search's next batch of
    scorings may take (no limit: ``share`` 0, or no trial complete)."""
    durations = [t.duration.total_seconds() for t in trials if t.state == TrialState.COMPLETE and t.duration]
    return (share or math.inf) * float(np.median(durations)) if durations else math.inf
