"""`SearchRun`: one search, from a `SearchConfig` to an Optuna study, in the background or in the foreground.

A run composes three parts and names no strategy: its study, opened by `nas_workbench.engine.opening` (the
budget settled, the strategy's sampler made, the record written or, on a resume, checked), the trial pipeline
that samples, builds, profiles and scores each trial (`nas_workbench.engine.pipeline`), and a producer that
decides where trials run (`nas_workbench.engine.producers`: in this process, in local worker processes, in
workers elsewhere, or the strategy's own, such as a supernet search). Every step is an event.

Trials are claimed from the study's plan (`nas_workbench.engine.scheduler`), so any number of processes
(this one, `nas-workbench worker` anywhere) can share one study without losing or repeating trials.
"""

from __future__ import annotations

import gc
import html
import logging
import os
import pkgutil
import socket
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from optuna.trial import FrozenTrial, TrialState

from nas_workbench import spaces, strategies
from nas_workbench.config import SearchConfig
from nas_workbench.engine import device_verdicts
from nas_workbench.engine import events as ev
from nas_workbench.engine.cancel import Cancelled
from nas_workbench.engine.device_verdicts import Finalists, Verification
from nas_workbench.engine.opening import open_study
from nas_workbench.engine.pipeline import Scorer, TrialPipeline
from nas_workbench.engine.preflight import Networks, prepare_machine
from nas_workbench.engine.producers import LocalProcesses, RunContext, TrialProducer, producer_for
from nas_workbench.engine.records import TrialResult, TrialResults, pareto_front, trial_results
from nas_workbench.engine.relative import ResolvedBudget
from nas_workbench.engine.scheduler import trials_done
from nas_workbench.engine.scorers import Evaluate, EvaluateScorer, TrainingScorer, TrialTimeoutError
from nas_workbench.engine.storage import StorageUnavailableError, open_storage
from nas_workbench.engine.storage_urls import masked_url
from nas_workbench.engine.user_evaluate import check_evaluate
from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.metrics import limit_text
from nas_workbench.profiling import prepare_profiler
from nas_workbench.profiling.targets import load_device
from nas_workbench.task import Task, load_task

__all__ = ["Evaluate", "SearchRun", "TrialTimeoutError", "search"]

logger = logging.getLogger("nas_workbench")

#: Trial states `SearchRun.results` shows: all but the plan's waiting trials, which are not trials yet.
_SHOWN = tuple(state for state in TrialState if state != TrialState.WAITING)


class SearchRun:
    """A search: its config, space, study and event stream.

    Use `run()` to search in the calling thread, or `start()` to search in a background thread (the
    notebook stays usable) and `stop()` / `wait()` to end it. A new `SearchRun` with the same storage and
    study name resumes the study up to ``n_trials``, on the same data. With ``workers=N`` both run the
    trials in N local worker processes instead, and ``workers=0`` only follows workers started elsewhere
    (a cluster job); every worker's trials arrive as this run's events. A strategy with its own producer
    (a supernet search) runs its trials its way whatever ``workers`` says.

    Args:
        config: The search settings (validated here).
        evaluate: Optional user evaluation replacing the built-in trainer.
        data: The data to search on, as `nas_workbench.load_task` takes it (arrays ``(x, y)``, a torch
            Dataset or DataLoader, a `Task`); None: scikit-learn's digits.
        producer: How trials are produced (`nas_workbench.engine.producers`); None: the strategy's own,
            else by the ``workers`` given to `run` / `start`.
        cancelled: Asked while the run opens, before each network profiled to settle the budget and
            before the study is created: once it answers True, `OpeningCancelled` is raised and no study
            is created (`nas_workbench.engine.cancel`; the widget's Stop while a run opens).
    """

    def __init__(
        self,
        config: SearchConfig,
        evaluate: Evaluate | None = None,
        *,
        data: Any = None,
        producer: TrialProducer | None = None,
        cancelled: Cancelled | None = None,
    ) -> None:
        self.config = config.validate()
        #: The config as given: ``config`` holds the same with relative limits resolved to absolute ones
        #: and ``strategy="auto"`` resolved to the advisor's recommendation (`strategies.auto_advice`).
        self.given_config = self.config
        #: Why "auto" resolved to the strategy it did (None: the config names its strategy).
        self.strategy_advice = strategies.auto_advice(self.config)
        if self.strategy_advice is not None:
            self.config = self.config.replace(strategy=self.strategy_advice.strategy)
            logger.info("strategy 'auto' resolved to %s", self.strategy_advice)
        self.space = spaces.get(config.space, **config.space_options)
        self.evaluate = check_evaluate(evaluate)
        self.data = data
        self.producer = producer
        self.storage_url = config.resolved_storage()
        self.study_name = config.resolved_study_name()
        self.storage = open_storage(
            self.storage_url, heartbeat_interval=config.heartbeat_interval, retries=config.retries
        )
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self._subscribers: list[ev.Emit] = []
        self._stop = threading.Event()
        self._running_producer: TrialProducer | None = None
        self._thread: threading.Thread | None = None
        self._task: Task | None = None
        self._pipeline: TrialPipeline | None = None
        #: Where latency comes from when the search targets another device (``target_device``).
        self.target_device = load_device(config.target_device) if config.target_device else None
        self.error: BaseException | None = None
        opened = open_study(
            self.given_config, self.config, self.space, self.storage, lambda: self.task, self.target_device,
            cancelled,
        )  # fmt: skip
        self.study = opened.study
        #: The config with relative limits resolved to absolute ones (`given_config`: as given).
        self.config = opened.config
        #: Relative budget limits and what they resolved to on this device (stored with the study).
        self.resolved_budget: dict[str, ResolvedBudget] = opened.resolved_budget

    def __repr__(self) -> str:
        """``SearchRun('bc-mlp': tpe (auto) on mlp, 20 of 20 trials, budget latency_ms <= 0.0338 ms (p50
        on this CPU), sqlite:///mlp.db)``: what a notebook cell shows for a run, read from its study."""
        config = self.config
        strategy = config.strategy + (" (auto)" if self.strategy_advice is not None else "")
        notes = {metric: resolved.note for metric, resolved in self.resolved_budget.items()}
        limits = ", ".join(
            f"{metric} <= {limit_text(metric, value, notes.get(metric))}"
            for metric, value in config.limits().items()
        )
        state = ", running" if self.running else ""
        return (
            f"SearchRun({self.study_name!r}: {strategy} on {config.space}, "
            f"{self.trials_done()} of {config.n_trials} trials{state}, budget {limits or 'none'}, "
            f"{masked_url(self.storage_url)})"
        )

    def _repr_html_(self) -> str:
        """The run's line and its Pareto front as a table (`TrialResults`)."""
        return f"<p>{html.escape(repr(self))}</p><p>Pareto front:</p>{self.pareto()._repr_html_()}"

    # -- set-up ----------------------------------------------------------------------------------------
    def _networks(self) -> Networks:
        """How this search builds and profiles networks (loads the data on first use)."""
        return Networks.of(self.config, self.task)

    @property
    def task(self) -> Task:
        """The data, loaded on first use."""
        if self._task is None:
            self._task = load_task("digits" if self.data is None else self.data, seed=self.config.seed)
        return self._task

    @property
    def pipeline(self) -> TrialPipeline:
        """The trial pipeline every trial of this process runs through (built on first use)."""
        if self._pipeline is None:
            self._pipeline = TrialPipeline(
                self.config, self.space, self._networks(), self._emit, study_name=self.study_name,
                worker=self.worker, target_device=self.target_device,
            )  # fmt: skip
        return self._pipeline

    def _scorer(self) -> Scorer:
        """Training at the configured fidelity, or the user's ``evaluate``."""
        if self.evaluate is not None:
            return EvaluateScorer(self.evaluate, self.config)
        return TrainingScorer(self.config, self.task, self._emit, self.study_name)

    # -- events ----------------------------------------------------------------------------------------
    def subscribe(self, callback: ev.Emit) -> Callable[[], None]:
        """Call ``callback(event)`` for every event, on the search thread; returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def _emit(self, event: ev.Event) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken display must not break the search
                logger.exception("event subscriber %r failed on %s", callback, event.kind)

    # -- control ---------------------------------------------------------------------------------------
    def run(self, workers: int | None = None) -> SearchRun:
        """Search in the calling thread until ``n_trials`` trials are done, the timeout, or `stop()`.

        Args:
            workers: None: trials run in this process. N: in N local worker processes. 0: in workers
                started elsewhere on the same storage; this run reports their trials.
        """
        self._stop.clear()
        self._running_producer = self._choose_producer(workers)
        self._search()
        if self.error is not None:
            raise self.error
        return self

    def start(self, workers: int | None = None) -> SearchRun:
        """Search in a background thread and return at once (``workers``: as for `run`)."""
        if self.running:
            raise NasWorkbenchError("this search is already running")
        self._stop.clear()
        self._running_producer = self._choose_producer(workers)
        prepare_profiler()  # Kineto must initialise here, on the caller's thread, not the search's
        self._thread = threading.Thread(
            target=self._search, name=f"nas-search-{self.study_name}", daemon=True
        )
        self._thread.start()
        return self

    def _choose_producer(self, workers: int | None) -> TrialProducer:
        """The run's producer, else the strategy's own (by its registered name), else the engine's."""
        if self.producer is not None:
            return self.producer
        own = strategies.get(self.config.strategy).producer
        return pkgutil.resolve_name(own)() if own else producer_for(workers)

    def stop(self, wait: bool = False) -> None:
        """Ask the search to end after the trial in progress (``wait``: block until it has)."""
        self._stop.set()
        if wait:
            self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a background search ends; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    @property
    def running(self) -> bool:
        """Whether a background search is in progress."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def worker_logs(self) -> list[Path]:
        """Where the local worker processes of the search in progress (or the last one) write their logs:
        empty while trials run in this process or in workers started elsewhere."""
        producer = self._running_producer
        return list(producer.log_paths) if isinstance(producer, LocalProcesses) else []

    # -- results ---------------------------------------------------------------------------------------
    def results(self) -> TrialResults:
        """Every trial of the study so far (by every process), read from the storage."""
        return trial_results(self.study, states=_SHOWN)

    def pareto(self) -> TrialResults:
        """The feasible, non-dominated trials (for one objective: the best ones)."""
        return pareto_front(self.results(), self.config.directions)

    def finalists(self, k: int = 5) -> Finalists:
        """The ``k`` trials to measure on the ``target_device`` before choosing, least sure first (the
        rule: `nas_workbench.profiling.device_verify`); give their latencies back to `verify`."""
        return device_verdicts.finalists(self.study, k)

    def verify(self, archs: Sequence[str], latency_ms: Sequence[float]) -> Verification:
        """Add ``archs`` measured on the ``target_device`` (``latency_ms``) to its profile, refitted and
        saved, and judge the study's trials again (`results`, `pareto` and exports then read the new
        verdicts; a resumed search uses the refitted profile). See `nas_workbench.engine.device_verdicts`."""
        return device_verdicts.verify(self.study, archs, latency_ms)

    def trials_done(self) -> int:
        """Finished trials (complete, pruned or failed) that count towards ``n_trials``: attempts whose
        worker died and that were retried do not (see `nas_workbench.engine.scheduler`)."""
        return trials_done(self.study.get_trials(deepcopy=False), self.config.n_trials)

    # -- the search ------------------------------------------------------------------------------------
    def _context(self) -> RunContext:
        """The part of this run its producer may use."""
        return RunContext(
            config=self.config, space=self.space, study=self.study, storage=self.storage,
            storage_url=self.storage_url, study_name=self.study_name, stop=self._stop, emit=self._emit,
            trial_finished=self._trial_finished, task=lambda: self.task, pipeline=lambda: self.pipeline,
            scorer=self._scorer, evaluate=self.evaluate,
            prepare_here=self._prepare_here,
        )  # fmt: skip

    def _prepare_here(self) -> None:
        """`prepare_machine`, each warning it raises emitted as a `RunWarning` too (a widget, whose run is
        a thread, never sees Python's warnings), then raised again as before (the CLI prints it). Python's
        warning filters are process-wide: another thread's warning raised meanwhile is emitted too."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # seen before in this process: still this run's to show
            try:
                prepare_machine(self.config, self._networks, self.target_device)
            finally:
                raised = list(caught)
        for warning in raised:
            message, category = str(warning.message), warning.category.__name__
            self._emit(ev.RunWarning(self.study_name, message=message, category=category))
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)

    def _search(self) -> None:
        config = self.config
        started = time.time()
        before = self.trials_done()
        self.error = None
        self._emit(
            ev.RunStarted(
                self.study_name,
                storage=masked_url(self.storage_url),  # events reach logs and displays
                n_trials=config.n_trials,
                trials_before=before,
                objectives=list(config.objectives),
                directions=config.directions,
                budget=config.limits(),
                config={**config.to_dict(), "storage": masked_url(self.storage_url)},
            )
        )
        reason = "completed"
        threads = torch.get_num_threads()  # the caller's (a kernel's) own setting, given back at the end
        try:
            assert self._running_producer is not None  # set by run() / start()
            exhausted = self._running_producer.produce(self._context())
            if not exhausted and self.trials_done() < config.n_trials:
                reason = "stopped" if self._stop.is_set() else "timeout"
        except KeyboardInterrupt as error:  # a stop by the user, not a failure; run() raises it again
            self.error = error
            reason = "stopped"
            logger.warning(
                "search %s interrupted: the trial in progress runs again when it resumes", self.study_name
            )
        except BaseException as error:  # report, then let run()/wait() callers see it
            self.error = error
            reason = "error"
            logger.error("search %s ended with an error: %s", self.study_name, error)
        torch.set_num_threads(threads)  # `prepare_machine` set the search's own for its trials
        try:  # not again for a whole retry window when the storage is what ended the run
            done = before if isinstance(self.error, StorageUnavailableError) else self.trials_done()
        except NasWorkbenchError:  # the storage is gone (the error says so): report what was known
            done = before
        self._emit(
            ev.RunFinished(
                self.study_name,
                reason=reason,
                trials_done=done,
                elapsed_s=time.time() - started,
                error=f"{type(self.error).__name__}: {self.error}" if reason == "error" else None,
            )
        )

    def _trial_finished(self, trial: FrozenTrial) -> None:
        if self._pipeline is not None:  # trials run here: the study holds this one's evaluation now
            self._pipeline.stored(trial.number)
        _release_memory()
        self._emit(TrialResult.from_frozen(trial).finished_event(self.study_name, self.worker))


def _release_memory() -> None:
    """Return a finished trial's GPU memory to the device (its tensors are gone; the cache is not)."""
    if torch.cuda.is_initialized():
        gc.collect()  # tensors held by reference cycles (a failed trial's traceback) go first
        torch.cuda.empty_cache()


def search(
    config: SearchConfig,
    evaluate: Evaluate | None = None,
    *,
    data: Any = None,
    producer: TrialProducer | None = None,
    cancelled: Cancelled | None = None,
) -> SearchRun:
    """Create a `SearchRun`, not started: ``run()`` blocks, ``start()`` runs in the background.

    ``evaluate`` (``evaluate(spec, model) -> {"accuracy": ..., ...}``) replaces the built-in training; the
    other arguments are `SearchRun`'s. A resumed study refuses data other than its own.
    """
    return SearchRun(config, evaluate=evaluate, data=data, producer=producer, cancelled=cancelled)
