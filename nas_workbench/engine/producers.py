"""How a search's trials are produced: a small protocol, and the engine's own producers.

A `TrialProducer` runs (or follows) a study's trials until its plan of ``n_trials`` is done, the run is
stopped or times out. `SearchRun` picks one and hands it a `RunContext`, the public part of the run a
producer may use; it never names a strategy. The engine's producers:

- `InProcess`: claims the plan's trials in this process, through the run's `TrialPipeline`;
- `LocalProcesses`: starts ``n`` `nas-workbench worker` processes on this machine and follows them;
- `ExternalWorkers`: follows workers started elsewhere (a Slurm array, a Kubernetes Job).

A strategy may bring its own producer (`nas_workbench.strategies.Strategy.producer`), which then runs
whatever the run was asked: the "dnas" strategy's trains one supernet and logs the architectures it
derives as trials (`nas_workbench.strategies.dnas.search.SupernetProducer`). Every producer's trials end
as the run's `TrialFinished` events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import optuna
import torch
from optuna.trial import FrozenTrial

from nas_workbench import spaces
from nas_workbench.config import DEFAULT_RUNS_DIR, SearchConfig
from nas_workbench.engine.callables import callable_name
from nas_workbench.engine.events import Emit
from nas_workbench.engine.local_workers import LocalWorkers
from nas_workbench.engine.pipeline import Scorer, TrialPipeline
from nas_workbench.engine.scheduler import FINISHED, Objective, plan, run_trials, trials_done
from nas_workbench.engine.study_record import mark_stopped_itself, stopped_itself
from nas_workbench.exceptions import NasWorkbenchError

if TYPE_CHECKING:
    from nas_workbench.engine.scorers import Evaluate
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.task import Task

logger = logging.getLogger("nas_workbench")

__all__ = ["ExternalWorkers", "InProcess", "LocalProcesses", "RunContext", "TrialProducer", "producer_for"]


@dataclass(frozen=True)
class RunContext:
    """What a producer may use of the run it produces trials for.

    Attributes:
        config: The search's settings, relative limits resolved.
        space: The search space.
        study: The study, opened on ``storage``.
        storage: The run's storage (heartbeats and retries set up).
        storage_url: Its URL, as this process reaches it.
        study_name: The study's name.
        stop: Set when the run is asked to stop: end at the next trial boundary.
        emit: Sends an event to the run's subscribers.
        trial_finished: Turns a finished trial into the run's `TrialFinished` event.
        task: The data (loaded on first call).
        pipeline: The run's trial pipeline (built on first call; loads the data).
        scorer: The run's own scorer: training at the configured fidelity, or the user's ``evaluate``.
        evaluate: The user's evaluation, if any (worker processes import it by name).
        prepare_here: Readies this machine to run trials: checks the device and prepares the latency
            predictor when the search predicts latency.
    """

    config: SearchConfig
    space: SearchSpace
    study: optuna.Study
    storage: optuna.storages.RDBStorage
    storage_url: str
    study_name: str
    stop: threading.Event
    emit: Emit
    trial_finished: Callable[[FrozenTrial], None]
    task: Callable[[], Task]
    pipeline: Callable[[], TrialPipeline]
    scorer: Callable[[], Scorer]
    evaluate: Evaluate | None
    prepare_here: Callable[[], None]

    def trials_done(self) -> int:
        """Finished trials that count towards ``n_trials`` (a retried attempt counts once)."""
        return trials_done(self.study.get_trials(deepcopy=False), self.config.n_trials)

    def run_trials(self, objective: Objective, n_trials: int, timeout: float | None = None) -> bool:
        """Claim and run trials of the plan of ``n_trials`` in this process (`scheduler.run_trials`, with
        the run's heartbeats, stop and events); True when the study stopped itself, which is then
        recorded in the study for every process following it."""
        stopped = run_trials(
            self.study,
            self.storage,
            objective,
            n_trials,
            heartbeat_interval=self.config.heartbeat_interval,
            stop=self.stop,
            timeout=timeout,
            after_trial=self.trial_finished,
        )
        if stopped:
            mark_stopped_itself(self.storage, self.study_name)
        return stopped


class TrialProducer(Protocol):
    """Produces a run's trials."""

    def produce(self, run: RunContext) -> bool:
        """Run or follow the trials of ``run``'s plan until it is done, ``run.stop`` is set or the run's
        timeout passes; True when the strategy ended the search itself, however many trials were left
        (a grid that tried every architecture, a supernet search that is complete)."""
        ...


class InProcess:
    """Trials run in this process, one at a time."""

    def produce(self, run: RunContext) -> bool:
        run.prepare_here()
        if run.trials_done() < run.config.n_trials:
            run.task()  # load the data before the first trial's clock starts
        # also waits for other processes' trials, to retry any whose process dies
        objective = run.pipeline().objective(run.scorer())
        return run.run_trials(objective, run.config.n_trials, timeout=run.config.timeout)


class ExternalWorkers:
    """Trials run in workers started elsewhere on the same storage; this run reports them."""

    def produce(self, run: RunContext) -> bool:
        return follow(run, None)


class LocalProcesses:
    """Trials run in ``n`` local worker processes, with the run's evaluation, data and device.

    Attributes:
        log_paths: Where the processes write their logs (set once they start).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.log_paths: list[Path] = []

    def produce(self, run: RunContext) -> bool:
        spaces.importable_reference(run.config.space)  # the workers import it by the study's record
        evaluate = callable_name(run.evaluate, "evaluate") if run.evaluate is not None else None
        run.prepare_here()  # a calibrated lookup table is shared with the processes through the cache
        pool = LocalWorkers(
            run.storage_url, run.study_name, self.n, evaluate=evaluate, dataset=_data_file(run),
            device=run.config.device, history=run.trials_done(),  # sampler streams of their own
        ).start()  # fmt: skip
        self.log_paths = pool.log_paths
        return follow(run, pool)


def producer_for(workers: int | None) -> TrialProducer:
    """The engine's producer for ``workers``: None in this process, N in N local processes, 0 elsewhere."""
    if workers is None:
        return InProcess()
    return LocalProcesses(workers) if workers else ExternalWorkers()


def _data_file(run: RunContext) -> str | None:
    """Where local workers find the run's data: None for digits, else the `Task` saved once for them."""
    if run.task().name == "digits":  # a worker's default; were it other data, the worker refuses it
        return None
    path = Path(DEFAULT_RUNS_DIR) / f"{run.study_name}.task.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(run.task(), path)
    return str(path)


def follow(run: RunContext, pool: LocalWorkers | None) -> bool:
    """Follow ``run``'s search by the local workers of ``pool`` (None: by processes started elsewhere) and
    pass every trial they finish to ``run.trial_finished``, once, until the study's plan is done, the study
    stopped itself or ``run.stop`` is set (then local workers finish their trials and exit).

    Returns:
        True when the study stopped itself (a "grid" search that has tried every architecture), however
        many trials its plan has room for.

    Raises:
        NasWorkbenchError: A worker process failed before the plan was done; the message has its exit
            code and last log line (or the signal that killed it).
    """
    config, stop = run.config, run.stop
    seen = {t.number for t in run.study.get_trials(deepcopy=False, states=FINISHED)}

    def report_new() -> list[FrozenTrial]:
        trials = run.study.get_trials(deepcopy=False)
        for trial in trials:
            if trial.state in FINISHED and trial.number not in seen:
                seen.add(trial.number)
                run.trial_finished(trial)
        return trials

    deadline = None if config.timeout is None else time.monotonic() + config.timeout
    try:
        while True:
            trials = report_new()
            exhausted = stopped_itself(run.storage, run.study_name)
            ending = exhausted or stop.is_set() or (deadline is not None and time.monotonic() > deadline)
            if pool is not None:
                if not pool.running:
                    break
                if ending:
                    pool.stop()  # each finishes its trial; the loop reports them, then sees them exit
            else:
                planned = plan(trials, config.n_trials)
                if ending or (len(planned) >= config.n_trials and all(t.state in FINISHED for t in planned)):
                    break
            stop.wait(0.5)
    finally:
        if pool is not None:
            pool.close()
            report_new()
    failures = pool.failures() if pool is not None else []
    if failures and trials_done(run.study.get_trials(deepcopy=False), config.n_trials) >= config.n_trials:
        # the others completed the plan (retrying the dead worker's trial): a finished search, not an error
        logger.warning("search %s finished; on the way %s", run.study_name, "; ".join(failures))
    elif failures:
        raise NasWorkbenchError("local workers failed: " + "; ".join(failures))
    return stopped_itself(run.storage, run.study_name)  # the last worker may have recorded it on its way out
