"""Whether the proxy-guided search's zero-cost scores are worth their time, weighed against its trainings.

A lazy pool scores ``score_batch`` candidates before each trial, so its estimators' time is paid inside the
search, next to the trainings they are meant to save. When a training takes minutes a batch of synflow
scores (a fraction of a second each) is free; at a low fidelity it is not: on digits at 2 epochs synflow
and FLOPs take 44 ms a candidate, about 0.9 s a batch of 20, as long as the training itself, while the
parameter count (a counted cost) takes 4.4 ms and ranks the chain networks as well. A search judged at
equal wall time then trains half as many networks for the same ranking.

`PricedScores` wraps the scores estimator, times every call, and once the trials have a measured training
time (the engine's ``timings["evaluate_s"]``) drops the scores for the rest of the search when a batch of
them costs more than ``share`` of the median training: later candidates get no scores and the ranking
gives those columns no weight (the counted costs, cheap, stay). The decision is taken once, on measured
seconds, so the same seed gives the same architectures only while the measured ratio stays on the same side
of ``share``; with no training time measured (a tabular benchmark, a sampler driven without the engine)
the scores are always kept.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from optuna.trial import TrialState

from nas_workbench.trial_attrs import attr

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from nas_workbench.spec import ArchSpec
    from nas_workbench.strategies.pool import Estimator

__all__ = ["PricedScores", "training_seconds"]

#: The trial record where the engine keeps its timings (`nas_workbench.trial_attrs`).
TIMINGS = "timings"


def training_seconds(trials: list[FrozenTrial]) -> float:
    """The median seconds the complete ``trials`` spent training and evaluating (the engine's
    ``timings["evaluate_s"]``); NaN when none recorded it."""
    seconds = [
        float(timings["evaluate_s"])
        for t in trials
        if t.state == TrialState.COMPLETE
        and isinstance(timings := attr(t, TIMINGS), dict)
        and isinstance(timings.get("evaluate_s"), int | float)
    ]
    return float(np.median(seconds)) if seconds else math.nan


class PricedScores:
    """A scores estimator, timed, that is dropped once a batch of its scores costs more than ``share`` of a
    training (`weigh`).

    Args:
        scores: The zero-cost scores (`SamplerContext.scores`).
        share: Most a batch of scorings may cost, as a share of the median trial's training seconds; 0:
            never dropped.
    """

    def __init__(self, scores: Estimator, share: float) -> None:
        self.scores = scores
        self.share = share
        #: Seconds spent in the scores, and how many candidates they were computed for.
        self.seconds = 0.0
        self.calls = 0
        #: Whether the scores were dropped (then every call gives no value).
        self.dropped = False
        #: The score names seen (the columns the ranking mutes once they are dropped).
        self.names: set[str] = set()

    def __call__(self, spec: ArchSpec) -> Mapping[str, float]:
        if self.dropped:
            return {}
        started = time.perf_counter()
        values = self.scores(spec)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        self.names.update(values)
        return values

    def save(self) -> None:
        """Keep the scores computed so far (the wrapped estimator's cache, when it has one)."""
        if callable(save := getattr(self.scores, "save", None)):
            save()

    def muted(self) -> frozenset[str]:
        """The score names the ranking gives no weight: every one seen once the scores are dropped (later
        candidates have no values of theirs), else none."""
        return frozenset(self.names) if self.dropped else frozenset()

    def weigh(self, trials: list[FrozenTrial], batch: int) -> bool:
        """Drop the scores, for good, when ``batch`` of them cost more than ``share`` of the median
        training of ``trials`` (measured); whether they are dropped."""
        if self.dropped or not self.share or not self.calls:
            return self.dropped
        training = training_seconds(trials)
        if math.isfinite(training):
            self.dropped = batch * self.seconds / self.calls > self.share * training
        return self.dropped
