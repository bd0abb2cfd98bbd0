"""The retraining stage of a differentiable search: the likeliest architectures trained standalone, then,
while the retraining budget allows, the best of them trained again with further seeds, or the next
likeliest architectures (``retrain_distinct``).

A supernet search ends with a ranking, not an accuracy: its architectures are trained from scratch, each a
full trial of the study (``retrain_top`` of them, the likeliest first), and the best on validation is the
search's result. One training's validation score is noisy (on digits one architecture spreads over 0.8-2.8
points across seeds, benchmarks/dnas/README.md), and a black-box search's best trial is the luckiest of
its many trainings; DARTS and its successors report the best (or the mean) of several trainings of the
architecture they found. So when time is left, the best retrained architecture is trained again, each
time with a new seed (a trial's training seed follows its number), and every training is a trial: the
result is the best single training on validation, chosen the way a black-box search chooses, with its own
test accuracy, and the spread of the repeats is in the study for anyone to see. With ``retrain_distinct``
the budget goes to the next likeliest architectures instead, one training each: a black-box search's best
is the best of many distinct architectures' trainings, and repeating one architecture measures its spread
but did not raise the best (benchmarks/dnas/README.md).

How much time is left is the ``retrain_budget``: the retraining stage (the ``retrain_top`` trainings and
the further ones) may take that multiple of the search's own wall time (set-up, supernet epochs and the
trials logging them, the landing). A further training starts only while it is expected to end within the
budget and before the run's ``timeout`` (expected: the longest training so far of the architecture
repeated, or of all retrained ones), so the stage ends near the budget and never far past it, and at
most `options.MAX_REPEATS` further trainings run; the ``retrain_top`` trainings always run. A ratio of
wall times, not seconds: a loaded machine slows the search and the trainings alike, so the number of
repeats depends little on the load; the ``timeout``, a user's time budget in seconds, ends the run on
time. With the user's own ``evaluate`` (which may train nothing, or train
deterministically) no repeat runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nas_workbench.engine.pipeline import Scorer
from nas_workbench.engine.producers import RunContext
from nas_workbench.engine.records import TrialResult, trial_results
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.dnas import options
from nas_workbench.trial_attrs import DNAS_ATTR

__all__ = ["Retraining", "best_retrained"]

#: Runs a study's waiting trials with an objective of the given scorer (the search's own runner).
RunWaiting = Callable[[Scorer], None]


def best_retrained(results: Sequence[TrialResult]) -> TrialResult | None:
    """The trained trial of ``results`` with the best validation accuracy (within budget, completed, its
    accuracy measured; the earliest on ties); None when there is none."""
    trained = [
        r
        for r in results
        if r.status == "ok" and r.feasible and r.value("accuracy") is not None and not r.estimated_accuracy
    ]
    return max(trained, key=lambda r: (r.value("accuracy"), -r.number), default=None)


class Retraining:
    """Trains a search's final architectures as full trials of the run's study, then repeats the best one
    with new seeds, or trains the next likeliest ones, within ``budget`` times the search's wall time (see
    the module's docs).

    Args:
        run: The search's run (its study, stop flag, evaluate function).
        scorer: How a final architecture is trained (the run's own scorer, or fine-tuning).
        run_waiting: Runs the study's waiting trials with a scorer (heartbeats, failures, events).
        budget: The retraining stage's wall time as a multiple of the search's (0: no repeats).
        search_seconds: The search's wall time until the retraining began.
        must_end: Whether the run was stopped or is out of time.
        deadline: When the run's ``timeout`` passes (`time.monotonic`), None without one: no further
            training starts that is expected to end after it.
    """

    def __init__(
        self,
        run: RunContext,
        scorer: Scorer,
        run_waiting: RunWaiting,
        budget: float,
        search_seconds: float,
        must_end: Callable[[], bool],
        deadline: float | None = None,
    ) -> None:
        self.run = run
        self.scorer = scorer
        self.run_waiting = run_waiting
        self.budget_s = budget * search_seconds
        self.must_end = must_end
        self.deadline = deadline

    def retrain(
        self, candidates: Sequence[tuple[ArchSpec, Mapping[str, Any]]], count: int | None = None
    ) -> list[TrialResult]:
        """Train the first ``count`` (None: all) of the ``candidates``' architectures (the likeliest first,
        ``rank`` 1), each trial recording its candidate's info and rank, then, while the budget allows,
        the best of them again (recording the best's info, rank and ``repeat_of``, the trial number it
        repeats) or, when more candidates are given than ``count``, the next of them. The retrained
        trials, in trial-number order."""
        started = time.perf_counter()
        first = len(self.run.study.get_trials(deepcopy=False))
        count = len(candidates) if count is None else count
        for rank, (spec, info) in enumerate(candidates[:count], start=1):
            self._enqueue(spec, {**info, "rank": rank})
        self.run_waiting(self.scorer)
        best = best_retrained(self._retrained(first))
        if best is None or (self.run.evaluate is not None and count == len(candidates)):
            return self._retrained(first)  # evaluate() may train nothing: a repeat tells nothing new
        if count < len(candidates):  # the next likeliest architectures, one training each
            ranked = [(spec, {**info, "rank": rank}) for rank, (spec, info) in enumerate(candidates, start=1)]
            more, alike = ranked[count:], self._retrained(first)
        else:  # the best again, each time with its trial's new seed
            rank = [r.number for r in self._retrained(first)].index(best.number) + 1
            spec, info = candidates[rank - 1]
            more = [(spec, {**info, "rank": rank, "repeat_of": best.number})] * options.MAX_REPEATS
            alike = [best]
        longest = max(r.duration_s or 0.0 for r in alike)  # what the next training is expected to take
        for spec, info in more[: options.MAX_REPEATS]:
            if self.must_end() or time.perf_counter() - started + longest > self.budget_s:
                break
            if self.deadline is not None and time.monotonic() + longest > self.deadline:
                break
            self._enqueue(spec, info)
            self.run_waiting(self.scorer)
            trained = self._retrained(first)[-1]
            longest = max(longest, trained.duration_s or 0.0)
            if trained.status != "ok":  # failed, or stopped: no more trainings
                break
        return self._retrained(first)

    def _enqueue(self, spec: ArchSpec, info: Mapping[str, Any]) -> None:
        self.run.study.enqueue_trial(dict(spec.choices), user_attrs={DNAS_ATTR: dict(info)})

    def _retrained(self, first: int) -> list[TrialResult]:
        return [r for r in trial_results(self.run.study) if r.number >= first]
