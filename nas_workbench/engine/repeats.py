"""A repeated architecture is not trained again in a study: its stored result is reused.

A sampler may propose an architecture the study already holds: in a small space, in the start-up trials
of a resumed search, or from two workers. Following Optuna's pattern for duplicated samples (its FAQ,
"How to ignore duplicated samples"), the repeat is told the stored trial's objective values and
constraints, gets its records (metrics, status, device) with ``repeat_of`` naming the original, and costs
no profiling or training. It counts towards ``n_trials`` like any trial, so a space smaller than
``n_trials`` ends the search instead of asking again forever, and the sampler learns from it as from the
original. A repeat of a pruned trial is pruned at once; of one over budget, recorded over budget again
(`nas_workbench.engine.budget.OverBudget`). A failed trial is not reused: its failure may
have been transient. Two workers that draw one architecture at the same moment: the later trial waits for
the earlier one and reuses its result (only later trials wait, so no two wait on each other; an earlier
trial whose worker died is failed by the heartbeat check, and the later one then trains). An earlier trial
that has not yet recorded its architecture (its sampler is still choosing) is waited for too, up to
``SAMPLING_GRACE_S``: otherwise a later twin that looks in that moment trains the same architecture again.
``SearchConfig.repeats = True`` trains every proposal (to measure noise).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime

import optuna
from optuna.trial import FrozenTrial, TrialState

from nas_workbench.engine.budget import OverBudget
from nas_workbench.engine.scheduler import fail_dead_trials
from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.spec import ArchSpec
from nas_workbench.trial_attrs import attr, record, records, stored_spec

__all__ = ["RepeatIndex"]

logger = logging.getLogger("nas_workbench")

#: The trial records a repeat takes from its original (``spec``, ``arch``, ``summary`` and ``worker`` are
#: its own already).
COPIED = ("metrics", "status", "reason", "device", "timings")

#: Seconds between looks at a running twin's state.
TWIN_POLL_S = 0.2

#: Seconds a trial waits, at most, for an earlier running trial to record which architecture it drew (a
#: sampler's choice takes milliseconds; a proxy-guided pool's first scoring takes seconds).
SAMPLING_GRACE_S = 60.0

#: States of the trials whose result a repeat takes (a failed trial's failure may have been transient).
_REUSABLE = (TrialState.COMPLETE, TrialState.PRUNED)


class RepeatIndex:
    """The finished trials of one study by architecture id, indexed incrementally: each look-up indexes
    only the trials finished since the last one."""

    def __init__(self) -> None:
        self._by_architecture: dict[str, FrozenTrial] = {}
        self._seen: set[int] = set()

    def original(self, trials: Iterable[FrozenTrial], spec: ArchSpec) -> FrozenTrial | None:
        """The earliest completed or pruned trial of ``trials`` (a study's, read whole) or of those indexed
        before with architecture ``spec``, if any."""
        for trial in trials:
            if trial.number in self._seen or trial.state not in _REUSABLE:
                continue
            self._seen.add(trial.number)
            architecture = _architecture_id(trial)
            known = self._by_architecture.get(architecture) if architecture else None
            if architecture and (known is None or trial.number < known.number):
                self._by_architecture[architecture] = trial
        return self._by_architecture.get(spec.id)

    def reuse(self, trial: optuna.Trial, spec: ArchSpec) -> list[float] | None:
        """The stored objective values when ``trial`` repeats a completed trial (its records copied onto
        ``trial``); None for a new architecture. Raises `optuna.TrialPruned` for a repeat of a pruned one
        (`OverBudget` for one over budget). Reads the study once (more only while an earlier twin runs)."""
        trials = _after_earlier_twins(trial.study, spec, trial.number)
        original = self.original(trials, spec)
        if original is None or original.number == trial.number:
            return None
        record(trial, repeat_of=original.number, **records(original, COPIED))
        for name, value in original.constraints.items():
            trial.set_constraint(name, value)
        logger.info("trial %d repeats trial %d: its result is reused", trial.number, original.number)
        if original.state == TrialState.PRUNED and attr(original, "status") == "infeasible":
            raise OverBudget(attr(original, "reason", f"a repeat of trial {original.number}"))
        if original.state == TrialState.PRUNED:
            record(trial, reason=f"a repeat of trial {original.number}, which was pruned")
            raise optuna.TrialPruned(f"a repeat of trial {original.number}")
        return list(original.values)


def _after_earlier_twins(study: optuna.Study, spec: ArchSpec, number: int) -> list[FrozenTrial]:
    """The study's trials, read once no trial numbered below ``number`` may be running architecture
    ``spec`` (it records ``spec``, or one that has recorded none yet is still sampling), failing the trials
    of dead workers meanwhile (this process may be the only one left to notice)."""
    while True:
        trials = study.get_trials(deepcopy=False)
        if not any(t.number < number and _may_run(t, spec) for t in trials):
            return trials
        time.sleep(TWIN_POLL_S)
        fail_dead_trials(study)


def _may_run(trial: FrozenTrial, spec: ArchSpec) -> bool:
    """Whether ``trial`` is running ``spec``, or running and still choosing its architecture (for at most
    ``SAMPLING_GRACE_S``: a trial of another kind, which never records one, is not waited for forever;
    the age is taken both ways, as another machine's clock may run ahead)."""
    if trial.state != TrialState.RUNNING:
        return False
    architecture = _architecture_id(trial)
    if architecture is not None:
        return architecture == spec.id
    started = trial.datetime_start
    return started is not None and abs((datetime.now() - started).total_seconds()) < SAMPLING_GRACE_S


def _architecture_id(trial: FrozenTrial) -> str | None:
    """The id of the architecture a trial recorded (None for a trial with no valid record)."""
    stored = stored_spec(trial)
    if stored is None:
        return None
    try:
        return ArchSpec.from_dict(stored).id
    except (NasWorkbenchError, TypeError, ValueError):
        return None
