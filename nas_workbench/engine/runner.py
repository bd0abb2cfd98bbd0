"""`SearchRun`: one search, from a `SearchConfig` to an Optuna study, in the background or in the foreground.

Per trial: the strategy (an Optuna sampler) answers the space's questions → an `ArchSpec`; the space builds
the network; it is profiled cheapest first and, over budget, recorded as infeasible without training (the
sampler still learns from its constraints); otherwise it is trained at the configured fidelity (or handed
to the user's ``evaluate``) and its objective values are told to the study. Every step is an event.

Trials are claimed from the study's plan (`nas_workbench.engine.scheduler`), so any number of processes
(this one, `nas-workbench worker` anywhere) can share one study without losing or repeating trials.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.trial import FrozenTrial, TrialState

from nas_workbench import __version__, spaces, strategies
from nas_workbench.config import SearchConfig
from nas_workbench.engine import events as ev
from nas_workbench.engine.budget import (
    CHEAP_METRICS,
    constraint_values,
    metrics_to_profile,
    over_budget_reason,
    violations,
)
from nas_workbench.engine.feasibility import CHECKED_METRICS
from nas_workbench.engine.preflight import Networks, absolute, resolve_limits
from nas_workbench.engine.records import STUDY_ATTR, TrialResult, pareto_front, trial_results
from nas_workbench.engine.relative import ResolvedBudget
from nas_workbench.engine.scheduler import run_trials, trials_done
from nas_workbench.engine.storage import open_storage
from nas_workbench.engine.warm_start import warm_start_architectures
from nas_workbench.exceptions import ConfigError, NasWorkbenchError, ProfilingError
from nas_workbench.profiling import DeviceInfo, Measurement, prepare_profiler, profile, shared_use
from nas_workbench.profiling._device import resolve_device
from nas_workbench.profiling.drift import prepare_predictor
from nas_workbench.profiling.targets import load_device
from nas_workbench.spec import ArchSpec
from nas_workbench.task import Task, load_task

__all__ = ["Evaluate", "SearchRun", "search"]

logger = logging.getLogger("nas_workbench")

#: A user's evaluation: (spec, built model) → metrics, at least "accuracy" when it is an objective.
Evaluate = Callable[[ArchSpec, torch.nn.Module], Mapping[str, float]]
Subscriber = Callable[[ev.Event], None]

#: Profiles kept in memory, most recently used first: the architectures a sampler revisits.
_PROFILE_CACHE_SIZE = 1024

#: Trial states `SearchRun.results` shows: all but the plan's waiting trials, which are not trials yet.
_SHOWN = tuple(state for state in TrialState if state != TrialState.WAITING)

#: Settings of the study's record a resume may change.
_RESUMABLE = ("n_trials", "budget", "budget_resolved")


class TrialTimeoutError(NasWorkbenchError, TimeoutError):
    """A trial trained longer than ``trial_timeout``."""


class SearchRun:
    """A search: its config, space, study and event stream.

    Use `run()` to search in the calling thread, or `start()` to search in a background thread (the
    notebook stays usable) and `stop()` / `wait()` to end it. A new `SearchRun` with the same storage and
    study name resumes the study up to ``n_trials``. With ``workers=N`` both run the trials in N local
    worker processes instead, and ``workers=0`` only follows workers started elsewhere (a cluster job);
    every worker's trials arrive as this run's events (`nas_workbench.engine.workers`).

    Args:
        config: The search settings (validated here).
        evaluate: Optional user evaluation replacing the built-in trainer.
    """

    def __init__(self, config: SearchConfig, evaluate: Evaluate | None = None) -> None:
        self.config = config.validate()
        #: The config as given: ``config`` holds the same with relative limits resolved to absolute ones.
        self.given_config = self.config
        #: Relative budget limits and what they resolved to on this device (stored with the study).
        self.resolved_budget: dict[str, ResolvedBudget] = {}
        self.space = spaces.get(config.space, **config.space_options)
        self.evaluate = evaluate
        self.storage_url = config.resolved_storage()
        self.study_name = config.resolved_study_name()
        self.storage = open_storage(
            self.storage_url, heartbeat_interval=config.heartbeat_interval, retries=config.retries
        )
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self._subscribers: list[Subscriber] = []
        self._stop = threading.Event()
        self._workers: int | None = None
        self._thread: threading.Thread | None = None
        self._task: Task | None = None
        self._profile_cache: OrderedDict[str, tuple[dict[str, Measurement], DeviceInfo]] = OrderedDict()
        #: Where latency comes from when the search targets another device (``target_device``).
        self.target_device = load_device(config.target_device) if config.target_device else None
        self.error: BaseException | None = None
        #: Where the local worker processes of the search in progress (or the last one) write their logs:
        #: set once they start, empty while trials run in this process or in workers started elsewhere.
        self.worker_logs: list[Path] = []
        self.study = self._open_study()

    # -- set-up ----------------------------------------------------------------------------------------
    def _open_study(self) -> optuna.Study:
        try:
            study_id = self.storage.get_study_id_from_name(self.study_name)
        except KeyError:  # a new study: resolve relative limits on this device and refuse unmeetable ones
            self._settle_budget({}, check=True)
            new = True
        else:  # a resumed study keeps the limits it was resolved to
            stored = self.storage.get_study_user_attrs(study_id).get(STUDY_ATTR, {})
            self._settle_budget(stored.get("budget_resolved", {}), check=False)
            new = False
        config = self.config
        sampler = strategies.make_sampler(
            config.strategy,
            seed=config.seed,
            space=self.space,
            directions=tuple(config.directions),
            costs=self._counted_costs,
            **config.strategy_options,
        )
        if config.fixed_choices:
            with warnings.catch_warnings():  # "experimental" since Optuna 2.4, unchanged: noise per search
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                sampler = optuna.samplers.PartialFixedSampler(config.fixed_choices, sampler)
        seeds = [self.space.parse(text) for text in config.initial_architectures]
        if new:  # a bad warm start is refused before the study exists
            seeds += warm_start_architectures(config, self.space, self.storage)
        study = optuna.create_study(
            storage=self.storage,
            study_name=self.study_name,
            directions=config.directions,
            sampler=sampler,
            load_if_exists=True,
        )
        meta = study.user_attrs.get(STUDY_ATTR)
        if meta is None:
            # The architectures to try first (given, then the warm start's) open the plan; the record
            # comes last, since workers wait for it before they claim trials.
            for spec in seeds:
                study.enqueue_trial(dict(spec.choices), skip_if_exists=True)
            study.set_user_attr(STUDY_ATTR, self._study_meta())
        elif meta.get("objectives") != self._study_meta()["objectives"] or meta.get("space") != config.space:
            raise ConfigError(
                "study_name",
                self.study_name,
                f"a new name: the stored study searches {meta.get('space')!r} for "
                f"{[o['metric'] for o in meta.get('objectives', [])]}; "
                "resume it with the same space and objectives",
            )
        else:  # a resume may plan more (or fewer) trials, or change a limit
            current = self._study_meta()
            changed = {k: current[k] for k in _RESUMABLE if meta.get(k) != current[k]}
            if changed:
                study.set_user_attr(STUDY_ATTR, {**meta, **changed})
        return study

    def _settle_budget(self, stored: Mapping[str, Mapping[str, Any]], check: bool) -> None:
        """Turn relative limits ("p30", "1.5x fastest") into absolute ones in ``self.config`` (those
        ``stored`` with a resumed study, else resolved on this device), then, with ``check``, raise
        `InfeasibleBudgetError` when no architecture meets a limit (`nas_workbench.engine.preflight`)."""
        self.resolved_budget = resolve_limits(self.config, self.space, self._networks, stored)
        self.config = absolute(self.config, self.resolved_budget)
        # This machine's latency says nothing of a target device's: its profile judges latency per trial.
        budget = self.config.budget
        local = {m: v for m, v in budget.items() if not (m == "latency_ms" and self.target_device)}
        if check and set(local) & set(CHECKED_METRICS):
            self._networks().check(self.space, local, self.config.fixed_choices)

    def _counted_costs(self, spec: ArchSpec) -> dict[str, float]:
        """What the strategy may know of a candidate before it is trained or timed, to predict whether it
        fits the budget: its parameter count (one network build, no forward pass) and, when the search
        targets another device, the latency that device's profile predicts (what the trial is judged by)."""
        costs = {"params": self._networks().value(self.space, "params")(spec)}
        if self.target_device is not None:
            costs["latency_ms"] = self.target_device.predict(spec).value
        return costs

    def _networks(self) -> Networks:
        """How this search builds and profiles networks (loads the data on first use)."""
        return Networks.of(self.config, self.task)

    def _study_meta(self) -> dict[str, Any]:
        config = self.config
        return {
            "version": __version__,
            "config": self.given_config.to_dict(),
            "objectives": [
                {"metric": m, "direction": d}
                for m, d in zip(config.objectives, config.directions, strict=True)
            ],
            "budget": dict(config.budget),
            "budget_resolved": {m: r.to_dict() for m, r in self.resolved_budget.items()},
            "n_trials": config.n_trials,
            "space": config.space,
            "strategy": config.strategy,
        }

    @property
    def task(self) -> Task:
        """The data, loaded on first use."""
        if self._task is None:
            self._task = load_task(self.config.dataset, seed=self.config.seed)
        return self._task

    # -- events ----------------------------------------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
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
        self._workers, self.worker_logs = workers, []
        self._search()
        if self.error is not None:
            raise self.error
        return self

    def start(self, workers: int | None = None) -> SearchRun:
        """Search in a background thread and return at once (``workers``: as for `run`)."""
        if self.running:
            raise NasWorkbenchError("this search is already running")
        self._stop.clear()
        self._workers, self.worker_logs = workers, []
        prepare_profiler()  # Kineto must initialise here, on the caller's thread, not the search's
        self._thread = threading.Thread(
            target=self._search, name=f"nas-search-{self.study_name}", daemon=True
        )
        self._thread.start()
        return self

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

    # -- results ---------------------------------------------------------------------------------------
    def results(self) -> list[TrialResult]:
        """Every trial of the study so far (by every process), read from the storage."""
        return trial_results(self.study, states=_SHOWN)

    def pareto(self) -> list[TrialResult]:
        """The feasible, non-dominated trials (for one objective: the best ones)."""
        return pareto_front(self.results(), self.config.directions)

    def trials_done(self) -> int:
        """Finished trials (complete, pruned or failed) that count towards ``n_trials``: attempts whose
        worker died and that were retried do not (see `nas_workbench.engine.scheduler`)."""
        return trials_done(self.study.get_trials(deepcopy=False), self.config.n_trials)

    # -- the search ------------------------------------------------------------------------------------
    def _search(self) -> None:
        config = self.config
        started = time.time()
        before = self.trials_done()
        self.error = None
        self._emit(
            ev.RunStarted(
                self.study_name,
                storage=self.storage_url,
                n_trials=config.n_trials,
                trials_before=before,
                objectives=list(config.objectives),
                directions=config.directions,
                budget=dict(config.budget),
                config=config.to_dict(),
            )
        )
        reason = "completed"
        try:
            if self._workers != 0:  # trials run on this machine
                try:
                    resolve_device(config.device)
                except ProfilingError as error:  # checked here: the study may come from another machine
                    raise ConfigError(
                        "device", config.device, f"a device this machine has ({error})"
                    ) from None
            if config.threads is not None:
                torch.set_num_threads(config.threads)
            remaining = config.n_trials - before
            gradient = strategies.get(config.strategy).relaxation
            wanted = metrics_to_profile(config.objectives, config.budget, config.profile_metrics)
            # a target device's profile predicts latency: this machine's lookup table is not used
            local_latency = "latency_ms" in wanted and not self.target_device
            predicts = config.profiling_method == "proxy" and local_latency
            if predicts and not gradient and self._workers != 0:
                # the lookup table calibrated (automatically if need be) and its drift re-timed
                shape, batch = self._networks().input_shape, config.latency_batch_size
                prepare_predictor(config.device, config.threads, shape, batch, config.space)
            exhausted = False  # the strategy ended the search: a grid that tried every architecture
            if gradient:  # a gradient-based strategy trains a supernet and picks every architecture itself
                from nas_workbench.strategies.dnas.search import run_search

                reason = run_search(self)
            elif self._workers is not None:
                from nas_workbench.engine.workers import start_local_workers, supervise

                pool = start_local_workers(self, self._workers) if self._workers else None
                self.worker_logs = pool.log_paths if pool is not None else []
                exhausted = supervise(self, pool, stop=self._stop, on_trial=self._trial_finished)
            else:
                if remaining > 0:
                    self.task  # noqa: B018 - load the data before the first trial's clock starts
                # also waits for other processes' trials, to retry any whose process dies
                exhausted = run_trials(
                    self.study,
                    self.storage,
                    self._objective,
                    config.n_trials,
                    heartbeat_interval=config.heartbeat_interval,
                    stop=self._stop,
                    timeout=config.timeout,
                    after_trial=self._trial_finished,
                )
            if not gradient and not exhausted and self.trials_done() < config.n_trials:
                reason = "stopped" if self._stop.is_set() else "timeout"
        except BaseException as error:  # report, then let run()/wait() callers see it
            self.error = error
            reason = "error"
            logger.error("search %s ended with an error: %s", self.study_name, error)
        try:
            done = self.trials_done()
        except NasWorkbenchError:  # the storage is gone (the error says so): report what was known
            done = before
        self._emit(
            ev.RunFinished(
                self.study_name,
                reason=reason,
                trials_done=done,
                elapsed_s=time.time() - started,
                error=None if self.error is None else f"{type(self.error).__name__}: {self.error}",
            )
        )

    def _trial_finished(self, trial: FrozenTrial) -> None:
        _release_memory()
        result = TrialResult.from_frozen(trial)
        self._emit(
            ev.TrialFinished(
                self.study_name,
                number=result.number,
                status=result.status,
                values=list(result.values) if result.values is not None else None,
                metrics={k: dict(v) for k, v in result.metrics.items()},
                spec=dict(result.spec),
                arch=result.arch,
                summary=result.summary,
                reason=result.reason,
                duration_s=result.duration_s or 0.0,
                worker=result.worker or self.worker,
            )
        )

    def _objective(self, trial: optuna.Trial) -> list[float]:
        try:
            return self._evaluate_trial(trial)
        except optuna.TrialPruned:
            raise
        except Exception as error:
            trial.set_user_attr("status", "failed")
            trial.set_user_attr("reason", f"{type(error).__name__}: {error}")
            logger.warning("trial %d failed: %s: %s", trial.number, type(error).__name__, error)
            raise

    def _evaluate_trial(self, trial: optuna.Trial) -> list[float]:
        config, space, task = self.config, self.space, self.task
        started = time.perf_counter()
        spec = space.sample(trial)
        arch, summary = space.format(spec), space.summary(spec)
        for key, value in {
            "spec": spec.to_dict(),
            "arch": arch,
            "summary": summary,
            "worker": self.worker,
        }.items():
            trial.set_user_attr(key, value)
        self._emit(
            ev.TrialStarted(
                self.study_name, number=trial.number, spec=spec.to_dict(), arch=arch, summary=summary
            )
        )

        torch.manual_seed(config.seed * 1_000_003 + trial.number)
        input_shape = self._networks().input_shape
        model = space.build(
            spec, input_shape, task.num_classes, width_multiplier=config.fidelity.width_multiplier
        )

        measurements, device = self._profile(spec, model, input_shape)
        trial.set_user_attr("device", device.to_dict())
        over = violations(measurements, config.budget)
        profiled = time.perf_counter()
        for name, value in constraint_values(measurements, config.budget).items():
            trial.set_constraint(name, value)
        self._emit(
            ev.TrialProfiled(
                self.study_name,
                number=trial.number,
                metrics={k: m.to_dict() for k, m in measurements.items()},
                violations=over,
            )
        )

        trial.set_user_attr("metrics", {k: m.to_dict() for k, m in measurements.items()})
        told = measurements  # what the study is told; the recorded metrics never hold a placeholder
        if over:
            trial.set_user_attr("status", "infeasible")
            trial.set_user_attr("reason", over_budget_reason(measurements, config.budget, over))
            # not trained: the study is told the worst accuracy, the record keeps no accuracy at all
            told = {**measurements, "accuracy": _score_measurement("accuracy", 0.0, False)}
        else:
            scores = self._score(trial, spec, model, measurements)
            measurements.update(
                {
                    name: _score_measurement(name, value, self.evaluate is not None)
                    for name, value in scores.items()
                }
            )
            trial.set_user_attr("metrics", {k: m.to_dict() for k, m in measurements.items()})
        trial.set_user_attr(
            "timings", {"profile_s": profiled - started, "evaluate_s": time.perf_counter() - profiled}
        )
        trial.set_user_attr("status", "infeasible" if over else "ok")
        return [self._objective_value(name, told) for name in config.objectives]

    def _profile(
        self, spec: ArchSpec, model: torch.nn.Module, input_shape: tuple[int, ...]
    ) -> tuple[dict[str, Measurement], DeviceInfo]:
        """Profile cheapest first; a network already over a counted budget is not measured further,
        except for metrics that are objectives. Complete profiles are cached per architecture."""
        config = self.config
        if spec.id in self._profile_cache:
            self._profile_cache.move_to_end(spec.id)
            measurements, device = self._profile_cache[spec.id]
            return dict(measurements), device
        wanted = metrics_to_profile(config.objectives, config.budget, config.profile_metrics)
        kwargs = {
            "input_shape": input_shape,
            "device": config.device,
            "method": config.profiling_method,
            "batch_size": config.latency_batch_size,
            "threads": config.threads,
            "space": spec.space,  # the lookup table keeps a fitted correction per space
        }
        counted = profile(model, metrics=[m for m in wanted if m in CHEAP_METRICS], **kwargs)
        measurements, device = dict(counted.measurements), counted.device
        if self.target_device is not None and "latency_ms" in wanted:  # predicted for it, not measured here
            measurements["latency_ms"] = self.target_device.predict(spec)
        rest = [m for m in wanted if m not in CHEAP_METRICS and m not in measurements]
        if violations(measurements, config.budget):
            rest = [m for m in rest if m in config.objectives]
        if rest:
            measured = profile(model, metrics=rest, **kwargs)
            measurements.update(measured.measurements)
            device = measured.device
        if set(wanted) <= set(measurements):
            self._profile_cache[spec.id] = (dict(measurements), device)
            if len(self._profile_cache) > _PROFILE_CACHE_SIZE:  # a long search must not grow
                self._profile_cache.popitem(last=False)
        return measurements, device

    def _score(
        self,
        trial: optuna.Trial,
        spec: ArchSpec,
        model: torch.nn.Module,
        measurements: dict[str, Measurement],
    ) -> dict[str, float]:
        """Accuracy (and anything else the evaluation gives) of a feasible network; a pruned trial keeps
        its hardware figures and last accuracy in ``metrics`` so plots can show it."""
        if self.evaluate is not None:
            limit = self.config.trial_timeout
            with shared_use():  # another process's latency measurement waits until this is done
                started = time.monotonic()
                scores = {k: float(v) for k, v in dict(self.evaluate(spec, model)).items()}
                took = time.monotonic() - started
            if limit is not None and took > limit:
                raise TrialTimeoutError(f"evaluate took {took:.1f} s, over trial_timeout={limit:g} s")
            if "accuracy" in self.config.objectives and "accuracy" not in scores:
                raise ConfigError("evaluate", sorted(scores), "a mapping with an 'accuracy' entry")
            return scores
        from nas_workbench.estimation.trainer import train

        with shared_use():  # another process's latency measurement waits until this is done
            result = train(
                model,
                self.task,
                self.config.fidelity,
                seed=self.config.seed * 1_000_003 + trial.number,
                device=self.config.device,
                on_epoch=self._epoch_callback(trial),
            )
        if result.stopped_early:
            trial.set_user_attr("status", "pruned")
            trial.set_user_attr(
                "reason", f"stopped early at epoch {result.epochs} (accuracy {result.accuracy:.4f})"
            )
            pruned_at = {**measurements, "accuracy": _score_measurement("accuracy", result.accuracy, False)}
            trial.set_user_attr("metrics", {k: m.to_dict() for k, m in pruned_at.items()})
            raise optuna.TrialPruned(f"pruned at epoch {result.epochs}")
        return {"accuracy": result.accuracy, "test_accuracy": result.test_accuracy}

    def _epoch_callback(self, trial: optuna.Trial) -> Callable[[int, float], bool]:
        """Report each epoch, enforce the trial timeout, and ask the pruner whether to stop."""
        from nas_workbench.engine.pruning import make_pruner

        pruner = make_pruner(self.config.pruner, **self.config.pruner_options)
        deadline = None if self.config.trial_timeout is None else time.monotonic() + self.config.trial_timeout

        def on_epoch(epoch: int, accuracy: float) -> bool:
            self._emit(ev.TrialReported(self.study_name, number=trial.number, epoch=epoch, accuracy=accuracy))
            if deadline is not None and time.monotonic() > deadline:
                raise TrialTimeoutError(
                    f"trial exceeded trial_timeout={self.config.trial_timeout:g} s at epoch {epoch}"
                )
            return pruner is not None and pruner.report(trial, epoch, accuracy)

        return on_epoch

    @staticmethod
    def _objective_value(name: str, measurements: Mapping[str, Measurement]) -> float:
        if name not in measurements:
            raise NasWorkbenchError(f"objective {name!r} was not measured")
        value = measurements[name].value
        if value != value:  # NaN: Optuna would fail the trial with a vaguer message
            raise FloatingPointError(f"objective {name!r} is NaN")
        return value


def _release_memory() -> None:
    """Return a finished trial's GPU memory to the device (its tensors are gone; the cache is not)."""
    if torch.cuda.is_initialized():
        gc.collect()  # tensors held by reference cycles (a failed trial's traceback) go first
        torch.cuda.empty_cache()


def _score_measurement(name: str, value: float, user: bool) -> Measurement:
    """Wrap an evaluation score (accuracy or a user metric) as a labelled `Measurement`."""
    unit = "fraction" if name.endswith("accuracy") else ""
    source = (
        "user evaluate()"
        if user
        else "trainer (validation split)"
        if name == "accuracy"
        else "trainer (test split)"
    )
    return Measurement(value=float(value), unit=unit, method="measured", source=source)


def search(config: SearchConfig, evaluate: Evaluate | None = None) -> SearchRun:
    """Create a `SearchRun`, not started: ``run()`` blocks, ``start()`` runs in the background."""
    return SearchRun(config, evaluate=evaluate)
