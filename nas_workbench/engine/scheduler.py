"""Sharing one study's trials among any number of processes: exactly ``n_trials``, none lost or run twice.

**The plan.** A study's plan is its first ``n_trials`` trials by number, leaving out attempts that were
replaced by a retry. Trial numbers are given out atomically by the storage, so every process agrees on the
plan whatever it raced with. A process works by *claiming* a WAITING trial of the plan (one atomic state
change, WAITING → RUNNING: the one Optuna's ``enqueue_trial`` relies on); when the plan has no waiting
trial and fewer than ``n_trials`` trials, it adds a waiting one (``enqueue_trial``) and tries again. Two
processes that add one at the same moment leave a spare beyond the plan, which nobody claims (a later,
larger ``n_trials`` uses it); architectures to try first are simply the plan's first waiting trials.
So workers on any number of machines finish with exactly ``n_trials`` counted trials, and resuming
(a kernel restart, a new worker) needs nothing but the same storage and study name.

**Dead processes.** A claimed trial's heartbeat is recorded *before* it turns RUNNING and then every
``heartbeat_interval`` seconds, so a process killed at any moment leaves a trial whose heartbeat goes
stale. Every process of the study fails stale trials (Optuna's ``fail_stale_trials``) before each claim
and while it waits for the others, and the storage's callback re-runs the trial's architecture as a new
waiting trial when ``retries`` allows (see `nas_workbench.engine.storage`).

**How a retried trial counts.** The retry *replaces* the dead attempt: the dead one stays in the study,
failed (its reason says its worker stopped), but no longer counts towards ``n_trials``, and its retry takes
its place in the plan. Without retries (or once they are used up) the dead attempt counts as a failed
trial. A process whose plan has nothing left to claim waits while trials of the plan are running (their
process may die and their retry needs a taker), then returns.

**An interrupted trial.** A trial the process was interrupted in (Ctrl-C in a terminal, an exit) is failed
with the reason and its architecture queued again in its place, as a dead worker's is (whatever
``retries`` says: the interruption is the user's, not the architecture's), so the resumed search runs it
and the interrupted attempt does not count towards ``n_trials``.

**A storage that stays away.** Every storage call of a trial's bookkeeping (the claim, its records, the
final tell) rides out a lost connection by retrying for the storage's window
(`nas_workbench.engine.storage`), the trial and its finished evaluation waiting in memory meanwhile. A
storage still unreachable after the window is no fault of the trial: `StorageUnavailableError` is not
recorded as the trial's failure (nothing could be recorded anyway) but ends the process, whose heartbeat
stops; the trial, still running in the storage, goes stale and is retried by the next process of the
study, its retry replacing it in the plan. After an outage shorter than the window, every running trial's
heartbeat looks old: a process that saw the outage fails none for a grace period, while their processes
get through again and beat. An evaluation that a cut-off attempt had finished was kept on the machine's
disk, and its retry takes it (`nas_workbench.engine.unstored`).

**A study that stops itself.** As in Optuna's own loop, a sampler or callback may end the search with
``Study.stop()`` at a trial boundary: the "grid" strategy's BruteForceSampler does once every architecture
has been tried. `run_trials` then returns True, however many trials the plan still has room for, and the
run records it in the study (`nas_workbench.engine.study_record.mark_stopped_itself`), so that a process
watching workers elsewhere (`nas_workbench.engine.producers.follow`) knows the plan is done too.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import FrozenTrial, TrialState

from nas_workbench._compat import (
    clear_stop,
    inside_optimize_loop,
    start_waiting_trial,
    stop_requested,
    uncached_storage,
)
from nas_workbench.engine.storage import ResilientRDBStorage, StorageUnavailableError
from nas_workbench.trial_attrs import fail_reason, record, replaced_attempts

__all__ = [
    "FINISHED",
    "claim",
    "fail_dead_trials",
    "plan",
    "replaced",
    "run_trials",
    "trials_done",
]

logger = logging.getLogger("nas_workbench")

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

Objective = Callable[[optuna.Trial], Sequence[float]]


def replaced(trials: Iterable[FrozenTrial]) -> set[int]:
    """Numbers of the attempts that a retry replaced (their worker died and the trial was re-run)."""
    return {number for t in trials for number in replaced_attempts(t)}


def plan(trials: Sequence[FrozenTrial], n_trials: int) -> list[FrozenTrial]:
    """The trials that count towards ``n_trials``: the first ones by number, replaced attempts left out."""
    gone = replaced(trials)
    return [t for t in sorted(trials, key=lambda t: t.number) if t.number not in gone][:n_trials]


def trials_done(trials: Sequence[FrozenTrial], n_trials: int) -> int:
    """Finished trials (complete, pruned or failed) of the plan."""
    return sum(t.state in FINISHED for t in plan(trials, n_trials))


def fail_dead_trials(study: optuna.Study) -> None:
    """Fail the running trials of ``study`` whose process stopped beating (retried as `retries` allows);
    not while the storage is settling after an outage this process saw (`ResilientRDBStorage.settling`):
    their processes may be alive, waiting for their own retries to get through."""
    storage = uncached_storage(study)
    if isinstance(storage, ResilientRDBStorage) and storage.settling():
        return
    with warnings.catch_warnings():  # "experimental" since Optuna 2.9, used by its own optimize loop
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fail_stale_trials(study)


def claim(study: optuna.Study, storage: RDBStorage, n_trials: int) -> tuple[optuna.Trial, int] | None:
    """Claim a waiting trial of the plan for this process, adding one when the plan has room.

    Returns:
        The claimed trial (RUNNING, heartbeat recorded) and its storage id, or None when the plan has
        nothing left to claim.
    """
    study_id = storage.get_study_id_from_name(study.study_name)
    while True:
        planned = plan(study.get_trials(deepcopy=False), n_trials)
        for frozen in planned:
            if frozen.state != TrialState.WAITING:
                continue
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, frozen.number)
            storage.record_heartbeat(trial_id)  # first, so that dying right after the claim leaves a trace
            # `Study.ask` itself would create a trial beyond the plan when another process takes the last
            # waiting one first
            trial = start_waiting_trial(study, storage, trial_id)
            if trial is not None:
                return trial, trial_id
        if len(planned) >= n_trials:
            return None
        study.enqueue_trial({})


class _Heartbeat:
    """Records a trial's heartbeat every ``interval`` seconds while the block runs."""

    def __init__(self, storage: RDBStorage, trial_id: int, interval: float) -> None:
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"nas-heartbeat-{trial_id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception as error:  # already retried for the storage's window: the trial may go stale
                logger.warning("trial heartbeat failed: %s", error)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval)  # a beat stuck retrying a lost storage is left behind


def _run_one(
    study: optuna.Study, storage: RDBStorage, claimed: tuple[optuna.Trial, int], objective: Objective,
    interval: float,
) -> FrozenTrial:  # fmt: skip
    """Run ``objective`` on a claimed trial and tell the study its outcome, as `Study.optimize` would."""
    trial, trial_id = claimed
    values: Sequence[float] | None = None
    state: TrialState | None = None
    with _Heartbeat(storage, trial_id, interval):
        try:
            values = objective(trial)
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except StorageUnavailableError:  # not the trial's fault, and nothing can be recorded: see above
            raise
        except Exception:  # the objective recorded why; the search goes on
            state = TrialState.FAIL
        except BaseException as error:  # KeyboardInterrupt, SystemExit: record the trial, then stop
            _interrupted(study, storage, claimed, error)
            raise
    with inside_optimize_loop(study):  # the loop of `run_trials` plays the part of Optuna's
        frozen = study.tell(trial, values, state=state, skip_if_finished=True)
    if frozen.state == TrialState.FAIL and state is None and values is not None:
        logger.warning("trial %d failed: %s", trial.number, fail_reason(frozen) or values)
    return frozen


def _interrupted(
    study: optuna.Study, storage: RDBStorage, claimed: tuple[optuna.Trial, int], error: BaseException
) -> None:
    """Fail a trial the process was interrupted in (Ctrl-C, an exit) with the reason, after queueing its
    architecture again in its place, as a dead worker's retry is (see the module's docs): the interruption
    is no fault of the architecture, so the resumed search runs it and the attempt does not count."""
    trial, trial_id = claimed
    with warnings.catch_warnings():  # "experimental" in Optuna 5 but long-standing (as `open_storage` says)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = RetryHeartbeatStaleTrialCallback()
    retry(study, storage.get_trial(trial_id))  # before the reason is recorded, which it would copy
    record(
        trial, status="failed", reason=f"interrupted ({type(error).__name__}): re-run when the search resumes"
    )
    with inside_optimize_loop(study):  # a trial may complete a grid, whose sampler stops the study
        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)


def run_trials(
    study: optuna.Study,
    storage: RDBStorage,
    objective: Objective,
    n_trials: int,
    *,
    heartbeat_interval: float,
    stop: threading.Event,
    timeout: float | None = None,
    after_trial: Callable[[FrozenTrial], None] | None = None,
) -> bool:
    """Claim and run trials of the plan until none is left, ``stop`` is set, ``timeout`` passes or the
    study stops itself (``Study.stop()``, see the module's docs).

    Stops only at trial boundaries. While the plan has nothing to claim but trials of other processes are
    running, waits for them (failing any whose process died, so their retries can be claimed here).

    Args:
        study: The study, opened on ``storage``.
        storage: The storage the study was opened on (the uncached RDB storage, for the atomic claim).
        objective: Returns the trial's objective values, raises `optuna.TrialPruned` or fails.
        n_trials: The size of the plan.
        heartbeat_interval: Seconds between heartbeats (and between checks while waiting).
        stop: Set by another thread to end the loop at the next trial boundary.
        timeout: Seconds after which no new trial is claimed.
        after_trial: Called with each finished trial.

    Returns:
        True when the study stopped itself (a "grid" search that has tried every architecture).

    Raises:
        CompatibilityError: This Optuna is outside the versions whose optimize-loop internals were checked.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    clear_stop(study)
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        fail_dead_trials(study)
        claimed = claim(study, storage, n_trials)
        if claimed is None:
            planned = plan(study.get_trials(deepcopy=False), n_trials)
            if not any(t.state == TrialState.RUNNING for t in planned):
                return False
            stop.wait(min(heartbeat_interval, 1.0))
            continue
        frozen = _run_one(study, storage, claimed, objective, heartbeat_interval)
        if after_trial is not None:
            after_trial(frozen)
        if stop_requested(study):
            return True
    return False
