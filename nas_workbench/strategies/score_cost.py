"""Whether the proxy-guided search's zero-cost scores are worth their time, weighed against its trainings.

A lazy pool scores ``score_batch`` candidates before each trial, and a pool that climbs scores its
``mutations`` too, so its estimators' time is paid inside the search, next to the trainings they are meant
to save. When a training takes minutes a batch of synflow scores (a fraction of a second each) is free; at
a low fidelity it is not: on digits at 2 epochs synflow and FLOPs take 44 ms a candidate, as long as the
training itself for the 20 scored before a trial, while the parameter count (a counted cost) takes 4.4 ms
and ranks the chain networks as well. A search judged at equal wall time then trains half as many
networks for the same ranking.

`PricedScores` wraps the scores estimator and buys the scores only once they are priced against a training:

- **Withheld until a trial has completed** (when the search has counted costs to rank by): before any
  training is measured nothing says what the scores are worth, so the first trial ranks its candidates by
  the counted costs alone (the parameter count, a target device's predicted latency: needed for the budget
  anyway, and cheaper). On digits the first trial used to wait 1.6 s for its candidates' scores against
  TPE's 0.08 s.
- **Priced** once a trial has completed: a few candidates (`PROBES`) are scored, each call timed, and a
  scoring's price is the median call (the first call also pays the scorer's one-off set-up). When the
  trials record no training time (a tabular benchmark, a sampler driven without the engine's timings) the
  scores are kept.
- **Kept** while the candidates a trial scores cost at most ``share`` of the median trial's training (the
  engine's ``timings["evaluate_s"]``): the candidates ranked without them are then scored too
  (`CandidatePool.fill`), so every candidate ranks by every estimator.
- **Dropped**, for the rest of the search, once they cost more: later candidates get no scores and the
  ranking gives those columns no weight (the counted costs stay). The decision is taken on measured
  seconds, so the same seed gives the same architectures only while the measured ratio stays on the same
  side of ``share``.
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
    from nas_workbench.strategies.pool import CandidatePool, Estimator

__all__ = ["PROBES", "PricedScores", "training_seconds"]

#: The trial record where the engine keeps its timings (`nas_workbench.trial_attrs`).
TIMINGS = "timings"
#: Candidates scored to price withheld scores (their median call: the first also pays the set-up).
PROBES = 3


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
    """A scores estimator, timed, withheld until priced against a measured training and dropped once the
    candidates a trial scores cost more than ``share`` of a training (`weigh`).

    Args:
        scores: The zero-cost scores (`SamplerContext.scores`).
        share: Most the scorings of a trial may cost, as a share of the median trial's training seconds;
            0: never dropped (nor withheld).
        withheld: Give no scores until a trial has completed and they are priced (a search with counted
            costs to rank its first candidates by); False: scored from the first candidate.
    """

    def __init__(self, scores: Estimator, share: float, withheld: bool = False) -> None:
        self.scores = scores
        self.share = share
        #: Whether the scores are withheld until a trial completes (then priced, `weigh`).
        self.withheld = withheld and share > 0
        #: Seconds spent in the scores, and how many candidates they were computed for.
        self.seconds = 0.0
        self.calls = 0
        #: Whether the scores were dropped (then every call gives no value).
        self.dropped = False
        #: The score names seen (the columns the ranking mutes once they are dropped).
        self.names: set[str] = set()
        self._times: list[float] = []
        self._probed: dict[str, Mapping[str, float]] = {}  # the probes' values, for `CandidatePool.fill`

    def __call__(self, spec: ArchSpec) -> Mapping[str, float]:
        if self.dropped or self.withheld:
            return {}
        return self._probed.pop(spec.to_json(), None) or self._timed(spec)

    def _timed(self, spec: ArchSpec) -> Mapping[str, float]:
        started = time.perf_counter()
        values = self.scores(spec)
        self._times.append(time.perf_counter() - started)
        self.seconds += self._times[-1]
        self.calls += 1
        self.names.update(values)
        return values

    def price(self) -> float:
        """Seconds a scoring costs: the median call so far (NaN before any)."""
        return float(np.median(self._times)) if self._times else math.nan

    def save(self) -> None:
        """Keep the scores computed so far (the wrapped estimator's cache, when it has one)."""
        if callable(save := getattr(self.scores, "save", None)):
            save()

    def muted(self) -> frozenset[str]:
        """The score names the ranking gives no weight: every one seen once the scores are dropped (later
        candidates have no values of theirs), else none."""
        return frozenset(self.names) if self.dropped else frozenset()

    def weigh(self, trials: list[FrozenTrial], scored: int, pool: CandidatePool) -> bool:
        """Price withheld scores once one of ``trials`` has completed (scoring `PROBES` of ``pool``'s
        candidates), then drop them, for good, when the ``scored`` candidates a trial scores cost more than
        ``share`` of the median training of ``trials`` (measured); when they are no longer withheld and
        not dropped, ``pool``'s candidates scored without them get them. Whether they are dropped."""
        if self.dropped or not self.share:
            return self.dropped
        if self.withheld and not any(t.state == TrialState.COMPLETE for t in trials):
            return False  # nothing measured yet: the counted costs rank alone
        training = training_seconds(trials)
        if self.withheld and math.isfinite(training):
            self._probed = {spec.to_json(): self._timed(spec) for spec in pool.specs[:PROBES]}
        if self._times and math.isfinite(training):
            self.dropped = scored * self.price() > self.share * training
        if self.withheld and not self.dropped:
            self.withheld = False
            pool.fill(self)
        self._probed = {}
        return self.dropped
