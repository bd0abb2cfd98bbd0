"""Summaries and details of the workbench's studies, read from an Optuna storage for the side panel.

The panel polls the listing every 2 s while a search runs, so a listing must cost the same at 10 and at
100,000 trials. `StudySummaries` keeps a `StudyTally` per study and asks the database one aggregate
question per listing (trials per study and state, with the highest trial id and the latest start and
completion): a study whose answer did not change is served from its tally; one that changed reads only
the trials that finished since (completed at or after the latest completion it had seen, checked against
the count of finished trials). RUNNING trials are counted, never read. One lock per study: concurrent
listings wait for the reader instead of decoding the same trials again. A verification on the target
device (`StudyRecord.verified`) judges finished trials again: the study's tally is then made anew with its
verdicts (once per verification), and the row and details say what the device measured.

The study's settings are read by `nas_workbench.engine.study_record` and the trial records decoded by
`nas_workbench.engine.records` (the engine's own readers of what it stores). A retried attempt counts
once, as the engine counts it (`nas_workbench.engine.scheduler.plan`), and a worker counts as dead when
its trial's heartbeat was silent for longer than the study's own heartbeat interval allows
(`nas_workbench.engine.study_record.dead_worker_grace_s`). The engine and the spaces are imported on the first
request, not when the Jupyter server loads the extension: they load torch.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from nas_workbench import _compat
from nas_workbench.engine._bulk_read import dead_trials
from nas_workbench.engine.study_record import (
    StudyRecord,
    listed_stopped_itself,
    record_of,
    study_status,
)
from nas_workbench.engine.verified_view import verification_key, verified_summary
from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.trial_attrs import RETRY_HISTORY, stored_device

if TYPE_CHECKING:
    from nas_workbench._compat import FrozenStudy
    from nas_workbench.server.tally import StudyTally

__all__ = ["StudyNotFoundError", "StudySummaries"]


class StudyNotFoundError(NasWorkbenchError, LookupError):
    """The storage holds no study of that name."""


@dataclass(frozen=True)
class _StateCount:
    """The aggregate of one study's trials in one state (a change in any field means new trials)."""

    count: int
    last_id: int
    last_start: datetime.datetime | None
    last_complete: datetime.datetime | None
    first_start: datetime.datetime | None


#: A study's trials by state: the cheap change check of its tally.
_Counts = dict[TrialState, _StateCount]


@dataclass
class _Cached:
    counts: _Counts
    tally: StudyTally
    #: The verification the tally applies (`verified_view.verification_key`): another one makes a new tally.
    verified: tuple[str, int] | None = None


class StudySummaries:
    """The side panel's view of one storage: a row per study and one study's details, kept current.

    Args:
        storage: An Optuna RDB storage (the server opens every storage as one).
    """

    def __init__(self, storage: RDBStorage) -> None:
        self.storage = storage
        self._cached: dict[int, _Cached] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def rows(self) -> list[dict[str, Any]]:
        """One summary row per study, most recently updated first."""
        counts, retries = self._counts(), self._retries()
        rows = [
            self._row(study, counts.get(_compat.study_id(study), {}), retries.get(_compat.study_id(study), 0))
            for study in self.storage.get_all_studies()
        ]
        return sorted(rows, key=lambda row: row["last_update"] or 0.0, reverse=True)

    def details(self, name: str) -> dict[str, Any]:
        """The summary of study ``name`` plus its settings, Pareto front and best architecture."""
        study = next((s for s in self.storage.get_all_studies() if s.study_name == name), None)
        if study is None:
            raise StudyNotFoundError(f"no study named {name!r} in this storage")
        study_id = _compat.study_id(study)
        counts = self._counts(study_id).get(study_id, {})
        record = record_of(study)
        row = self._row(study, counts, self._retries(study_id).get(study_id, 0), record)
        tally = self._cached[study_id].tally
        best = _best(tally.front)
        if best is not None:
            best["device"] = stored_device(tally.front_trials[best["number"]])
            best["architecture"] = _architecture(best["spec"])
        unfinished = {_STATUS[s]: c.count for s, c in counts.items() if s in _STATUS and c.count}
        return {
            **row,
            "budget": dict(record.budget),
            "config": dict(record.config),
            "counts": {**tally.statuses, **unfinished},
            "pareto": [r.to_dict() for r in tally.front],
            "best": best,
            "verified": verified_summary(record, tally.measured.values()),
        }

    def _counts(self, study_id: int | None = None) -> dict[int, _Counts]:
        """Trials per study and state in one aggregate query (of one study when ``study_id`` is given)."""
        models = _compat.rdb_models()
        trials = models.TrialModel.__table__.c
        query = sqlalchemy.select(
            trials.study_id,
            trials.state,
            sqlalchemy.func.count(),
            sqlalchemy.func.max(trials.trial_id),
            sqlalchemy.func.max(trials.datetime_start),
            sqlalchemy.func.max(trials.datetime_complete),
            sqlalchemy.func.min(trials.datetime_start),
        ).group_by(trials.study_id, trials.state)
        if study_id is not None:
            query = query.where(trials.study_id == study_id)
        counts: dict[int, _Counts] = {}
        with self.storage.engine.connect() as connection:
            for study, state, *aggregates in connection.execute(query):
                counts.setdefault(study, {})[state] = _StateCount(*aggregates)
        return counts

    def _retries(self, study_id: int | None = None) -> dict[int, int]:
        """Per study, how many attempts a retry replaced (each retry carries Optuna's `RETRY_HISTORY`):
        they do not count towards ``n_trials``."""
        models = _compat.rdb_models()
        trials, attrs = models.TrialModel.__table__, models.TrialSystemAttributeModel.__table__
        query = (
            sqlalchemy.select(trials.c.study_id, sqlalchemy.func.count())
            .join_from(trials, attrs, attrs.c.trial_id == trials.c.trial_id)
            .where(attrs.c.key == RETRY_HISTORY)
            .group_by(trials.c.study_id)
        )
        if study_id is not None:
            query = query.where(trials.c.study_id == study_id)
        with self.storage.engine.connect() as connection:
            return {study: count for study, count in connection.execute(query)}

    def _row(
        self, study: FrozenStudy, counts: _Counts, retries: int, record: StudyRecord | None = None
    ) -> dict[str, Any]:
        """The panel's row for one study, its tally brought up to date first (``record``: the study's,
        when already read)."""
        record = record_of(study) if record is None else record
        tally = self._tally(study, counts, record)
        total = record.n_trials or None
        finished = sum(c.count for s, c in counts.items() if s in _FINISHED) - retries
        done = finished if total is None else min(finished, total)
        running_count = counts[TrialState.RUNNING].count if TrialState.RUNNING in counts else 0
        dead = len(dead_trials(self.storage, _compat.study_id(study), record)) if running_count else 0
        running = running_count - dead
        last_failed = tally.last is not None and tally.last[1] == TrialState.FAIL
        return {
            "name": study.study_name,
            "space": record.space,
            "strategy": record.strategy,
            "objectives": [
                {"metric": m, "direction": d}
                for m, d in zip(record.objectives, record.directions, strict=True)
            ],
            "status": study_status(done, total, running, dead, last_failed, listed_stopped_itself(study)),
            "trials": {"done": done, "total": total, "running": running},
            "best_accuracy": tally.best_accuracy,
            "pareto_size": len(tally.front),
            "feasible": {"count": tally.feasible, "evaluated": tally.evaluated},
            "last_update": _last_update(counts.values()),
            "verified": _verified_row(record, tally),
        }

    def _tally(self, study: FrozenStudy, counts: _Counts, record: StudyRecord) -> StudyTally:
        """The study's tally, with the trials finished since ``counts`` last changed added; made anew, from
        every trial, when the study was recreated or verified on its target device since."""
        study_id = _compat.study_id(study)
        verified = verification_key(record)
        with self._guard:
            lock = self._locks.setdefault(study_id, threading.Lock())
        with lock:  # one reader per study: a concurrent listing waits, then finds the tally current
            cached = self._cached.get(study_id)
            if cached is not None and cached.counts == counts and cached.verified == verified:
                return cached.tally
            if cached is None or _recreated(cached.counts, counts) or cached.verified != verified:
                from nas_workbench.server.tally import StudyTally

                verdicts = record.verified.get("archs", {})
                tally = StudyTally(list(record.directions), verdicts, list(record.objectives))
                cached = _Cached({}, tally, verified)
            self._add_finished(study_id, cached, counts)
            cached.counts = counts
            self._cached[study_id] = cached
            return cached.tally

    def _add_finished(self, study_id: int, cached: _Cached, counts: _Counts) -> None:
        """Read and add the trials finished since the tally's counts; all unseen finished ones if that
        misses some (a worker whose clock is behind records earlier completion times)."""
        models = _compat.rdb_models()
        from nas_workbench.engine._bulk_read import read_rdb_trials

        trials = models.TrialModel.__table__.c
        finished = sqlalchemy.select(trials.trial_id).where(
            trials.study_id == study_id, trials.state.in_(_FINISHED)
        )
        seen = [c.last_complete for s, c in cached.counts.items() if s in _FINISHED and c.last_complete]
        if seen:
            finished_since = finished.where(
                sqlalchemy.or_(trials.datetime_complete >= max(seen), trials.datetime_complete.is_(None))
            )
        else:
            finished_since = finished
        expected = sum(c.count for s, c in counts.items() if s in _FINISHED)
        for query in (finished_since, finished):
            with self.storage.engine.connect() as connection:
                ids = set(connection.execute(query).scalars()) - cached.tally.trial_ids
            if ids:
                cached.tally.add(read_rdb_trials(self.storage, study_id, _FINISHED, ids))
            if len(cached.tally.trial_ids) >= expected:
                return


#: The final states of an Optuna trial (a trial in one never changes again).
_FINISHED = [state for state in TrialState if state.is_finished()]

#: The workbench status of an unfinished trial.
_STATUS = {TrialState.RUNNING: "running", TrialState.WAITING: "waiting"}


def _architecture(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The renderer's payload of a stored spec (None for a missing or malformed one)."""
    from nas_workbench._mime import arch_payload

    try:
        return arch_payload(spec) if spec else None
    except NasWorkbenchError:
        return None


def _recreated(before: _Counts, now: _Counts) -> bool:
    """Whether the study was deleted and created again under its id (SQLite gives a deleted study's id,
    and its trials' ids, to the next ones): fewer finished trials, or another first start."""

    def finished(counts: _Counts) -> int:
        return sum(c.count for s, c in counts.items() if s.is_finished())

    def first(counts: _Counts) -> datetime.datetime | None:
        return min((c.first_start for c in counts.values() if c.first_start is not None), default=None)

    return finished(now) < finished(before) or first(before) not in (None, first(now))


def _last_update(counts: Iterable[_StateCount]) -> float | None:
    """Epoch seconds of the latest trial start or completion (Optuna stores naive UTC datetimes)."""
    stamps = [d for c in counts for d in (c.last_start, c.last_complete) if d is not None]
    return max(stamps).replace(tzinfo=datetime.timezone.utc).timestamp() if stamps else None


def _verified_row(record: StudyRecord, tally: StudyTally) -> dict[str, Any] | None:
    """The row's word on a verification on the target device: its ``device``, ``measurements`` (a new
    verification changes it: the panel reads the details again) and how many trials it measured
    ``within`` and ``over`` the budget; None before any."""
    summary = verified_summary(record, tally.measured.values())
    if summary is None:
        return None
    return {key: summary[key] for key in ("device", "measurements", "within", "over")}


def _best(front: Sequence[Any]) -> dict[str, Any] | None:
    """The front's most accurate architecture (the front's first when accuracy is not measured)."""
    if not front:
        return None
    scored = [r for r in front if r.value("accuracy") is not None]
    best = max(scored, key=lambda r: r.value("accuracy")) if scored else front[0]
    return best.to_dict()
