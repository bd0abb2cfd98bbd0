"""Running totals of a study's finished trials: what the side panel's row and details are made of.

A finished Optuna trial never changes again (COMPLETE, PRUNED and FAIL are final states), so the totals
are a fold: each finished trial is added once, when it is first seen, and never read again. Adding a batch
costs the batch plus the current Pareto front, whatever the study's size; only the trial ids seen are
kept (a few MB at 100,000 trials), and the front's trials themselves.

A verification on the target device judges finished trials again (`StudyRecord.verified`): the tally is
made with those ``verdicts`` and applies them to each trial it adds, as `records.trial_results` does; the
summaries make a new tally when the verification changes (`verified_view.verification_key`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from nas_workbench import _compat
from nas_workbench.engine.records import TrialResult, pareto_front
from nas_workbench.engine.verified_view import measured_on_device

__all__ = ["StudyTally"]


@dataclass
class StudyTally:
    """The totals of the finished trials added so far.

    Attributes:
        directions: "maximize" / "minimize" per objective, for the Pareto front.
        trial_ids: Ids of the trials added (a trial is never counted twice).
        statuses: Trials per workbench status ("ok", "infeasible", "pruned", "failed").
        feasible: Trials trained within every budget.
        evaluated: Trials profiled to the end, within budget or not (status "ok" or "infeasible").
        best_accuracy: The best validation accuracy of a feasible trial.
        front: The Pareto front of the feasible trials, as `pareto_front` gives it for all of them.
        front_trials: The front's stored trials by number, for what a `TrialResult` leaves out (device).
        last: Number and state of the highest-numbered finished trial: a search whose last trial failed
            has stopped on an error.
        verdicts: The verification's verdict per architecture (`StudyRecord.verified`'s ``archs``).
        objectives: The study's objectives, which the verdicts' latency replaces as a value (`rejudged`).
        measured: The trials whose latency the verification measured on the device, by number (what
            `verified_view.verified_summary` reads).
    """

    directions: Sequence[str]
    verdicts: Mapping[str, Any] = field(default_factory=dict)
    objectives: Sequence[str] = ()
    measured: dict[int, TrialResult] = field(default_factory=dict)
    trial_ids: set[int] = field(default_factory=set)
    statuses: Counter[str] = field(default_factory=Counter)
    feasible: int = 0
    evaluated: int = 0
    best_accuracy: float | None = None
    front: list[TrialResult] = field(default_factory=list)
    front_trials: dict[int, FrozenTrial] = field(default_factory=dict)
    last: tuple[int, TrialState] | None = None

    def add(self, trials: Iterable[FrozenTrial]) -> None:
        """Fold in the finished trials of ``trials`` not added before (others are ignored)."""
        candidates: dict[int, tuple[TrialResult, FrozenTrial]] = {}
        for trial in trials:
            if not trial.state.is_finished() or _compat.trial_id(trial) in self.trial_ids:
                continue
            self.trial_ids.add(_compat.trial_id(trial))
            result = TrialResult.from_frozen(trial)
            if result.arch in self.verdicts:
                result = result.rejudged(self.verdicts[result.arch], self.objectives)
                if measured_on_device(result.metrics.get("latency_ms")):
                    self.measured[result.number] = result
            self.statuses[result.status] += 1
            self.evaluated += result.status in ("ok", "infeasible")
            if self.last is None or trial.number > self.last[0]:
                self.last = (trial.number, trial.state)
            if result.status != "ok" or not result.feasible:
                continue
            self.feasible += 1
            accuracy = result.value("accuracy")
            if accuracy is not None and (self.best_accuracy is None or accuracy > self.best_accuracy):
                self.best_accuracy = accuracy
            candidates[trial.number] = (result, trial)
        if candidates:
            self._extend_front(candidates)

    def _extend_front(self, candidates: dict[int, tuple[TrialResult, FrozenTrial]]) -> None:
        """The front of the old front and ``candidates``: a point off the old front is dominated by (or
        equal to) a point on it, so it stays off. Trial-number order keeps the earliest of equal points,
        as a front computed from every trial does."""
        pool = {result.number: (result, self.front_trials[result.number]) for result in self.front}
        pool.update(candidates)
        ordered = [pool[number][0] for number in sorted(pool)]
        self.front = pareto_front(ordered, self.directions)
        self.front_trials = {result.number: pool[result.number][1] for result in self.front}
