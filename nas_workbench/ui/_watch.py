"""Follow a study that another process is running (a CLI search, workers on a shared storage).

A search started in the workbench streams its own events; a study opened from storage has no events to
subscribe to, so `StudyWatcher` reads it again from a background thread: after a change at once
(``min_interval``), and ever more rarely while nothing changes (doubling up to ``max_interval``), so an
idle study costs a query every half minute, never a tight loop. Each read is incremental: the Optuna
study's storage is cached per process (``optuna.storages._CachedStorage``), which fetches only the
trials that were unfinished or unknown at the previous read. Each read also compares the study's
verification on its target device (`verified_view.verification_key`, from its record): a verification
elsewhere (``nas-workbench device verify``) judged its trials again, and ``on_verified`` is called.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

import optuna
from optuna.trial import TrialState

from nas_workbench.engine.records import TrialResult
from nas_workbench.engine.study_record import read_record
from nas_workbench.engine.verified_view import verification_key

__all__ = ["StudyWatcher"]

logger = logging.getLogger("nas_workbench")

_UNFINISHED = (TrialState.RUNNING, TrialState.WAITING)


class StudyWatcher:
    """Deliver the trials of ``study`` that finish after it was loaded.

    Args:
        study: The study, as loaded (its storage caches finished trials).
        known: Numbers of the trials already shown.
        deliver: Called from the watcher's thread with newly finished trials (hand them to the UI's
            thread; see `Coalescer`).
        n_trials: The study's target; watching ends once it is reached and nothing runs.
        min_interval: Seconds between reads after a change.
        max_interval: Longest wait between reads while nothing changes.
        on_verified: Called from the watcher's thread when the study's trials were judged again by a
            verification on its target device since the previous read.
    """

    def __init__(
        self,
        study: optuna.Study,
        known: Iterable[int],
        deliver: Callable[[list[TrialResult]], None],
        n_trials: int | None = None,
        min_interval: float = 1.0,
        max_interval: float = 30.0,
        on_verified: Callable[[], None] | None = None,
    ) -> None:
        self.study = study
        self.deliver = deliver
        self.n_trials = n_trials
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.interval = min_interval
        self.on_verified = on_verified
        self._verified = verification_key(read_record(study))
        self._seen = set(known)
        self._running = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> list[TrialResult]:
        """Read the study once and return the trials that finished since the last read."""
        trials = self.study.get_trials(deepcopy=False)
        new = [t for t in trials if t.state.is_finished() and t.number not in self._seen]
        self._seen.update(t.number for t in new)
        self._running = any(t.state in _UNFINISHED for t in trials)
        record = read_record(self.study)
        verified = verification_key(record)
        if verified != self._verified and self.on_verified is not None:
            self.on_verified()
        self._verified = verified
        verdicts = record.verified.get("archs", {}) if record is not None else {}
        objectives = record.objectives if record is not None else ()
        results = (TrialResult.from_frozen(t) for t in new)  # a verified architecture repeated: its verdict
        return [r.rejudged(verdicts.get(r.arch), objectives) for r in results]

    @property
    def complete(self) -> bool:
        """Whether the study reached its target with nothing left running (as of the last read)."""
        return self.n_trials is not None and len(self._seen) >= self.n_trials and not self._running

    def start(self) -> StudyWatcher:
        """Watch in a daemon thread until `stop` or the study completes."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="nas-study-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (returns at once; a read in progress finishes on its own)."""
        self._stop.set()

    @property
    def watching(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def step(self) -> bool:
        """Read once, deliver what finished, set the wait before the next read; False once complete."""
        try:
            new = self.poll()
        except Exception:  # a storage hiccup (a database restarting): try again later
            logger.debug("reading study %s failed", self.study.study_name, exc_info=True)
            new = []
        if new:
            self.deliver(new)
            self.interval = self.min_interval
        else:
            self.interval = min(self.interval * 2, self.max_interval)
        return not self.complete

    def _watch(self) -> None:
        while not self._stop.wait(self.interval) and self.step():
            pass
