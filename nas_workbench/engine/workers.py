"""Workers: processes, on this machine or any other, that run trials of one shared study.

A worker needs only the storage URL and the study name: the study records the config it was created with
(study user attribute ``nas_workbench`` → ``config``), and the worker rebuilds the `SearchConfig` from it::

    nas-workbench worker --storage postgresql://user@db/nas --study chain-tpe-seed0

Trials are claimed from the study's plan (`nas_workbench.engine.scheduler`), so any number of workers,
started and killed in any order, finish the study with exactly ``n_trials`` trials. Studies on data given
from Python (not "digits") need the data in each worker too: ``--dataset module:function`` (a function
returning what `SearchConfig.dataset` accepts) or ``--dataset task.pt`` (a `Task` saved with
``torch.save``); ``--evaluate module:function`` replaces the built-in training, as ``evaluate=`` does.

From Python, ``run.start(workers=4)`` starts four local worker processes (`LocalWorkers`) and turns every
trial they finish into the run's events, so the notebook shows them live; ``run.start(workers=0)`` only
watches, while workers started elsewhere (a Slurm array, a Kubernetes Job) do the work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pkgutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import torch

from nas_workbench.config import DEFAULT_RUNS_DIR, SearchConfig
from nas_workbench.engine.records import STUDY_ATTR
from nas_workbench.engine.scheduler import FINISHED, plan, stopped_itself
from nas_workbench.engine.storage import masked_url, open_storage
from nas_workbench.engine.streams import HISTORY_ENV, WORKER_INDEX_ENV
from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.task import Task

if TYPE_CHECKING:
    from nas_workbench.engine.runner import Evaluate, SearchRun

__all__ = [
    "LocalWorkers",
    "callable_name",
    "config_from_study",
    "load_callable",
    "load_dataset",
    "run_worker",
    "start_local_workers",
    "supervise",
]

logger = logging.getLogger("nas_workbench")

#: Seconds a worker waits for a study that is being created to record its config.
STUDY_WAIT_S = 30.0


# -- naming user code ------------------------------------------------------------------------------------
def load_callable(reference: str, field: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` (``field`` names the option in errors)."""
    module_name, _, name = reference.partition(":")
    if not module_name or not name:
        raise ConfigError(field, reference, "'module:function', e.g. 'my_project.evaluation:evaluate'")
    try:
        target: Any = pkgutil.resolve_name(reference)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(
            field, reference, f"a function importable here ({type(error).__name__}: {error})"
        ) from None
    if not callable(target):
        raise ConfigError(field, reference, "a callable")
    return target


def callable_name(function: Callable[..., Any], field: str) -> str:
    """The ``"module:function"`` another process imports ``function`` by.

    Raises:
        ConfigError: ``function`` has no importable name (defined in a notebook, a lambda, a closure).
    """
    module, qualname = getattr(function, "__module__", None), getattr(function, "__qualname__", "")
    if module in (None, "__main__") or "<" in qualname:
        raise ConfigError(
            field,
            getattr(function, "__name__", repr(function)),
            "a function worker processes can import by name: define it in a module (a .py file next to "
            "the notebook, say) and import it from there",
        )
    reference = f"{module}:{qualname}"
    if load_callable(reference, field) is not function:
        raise ConfigError(field, reference, "a module-level function")
    return reference


def load_dataset(reference: str) -> Any:
    """The data a ``--dataset`` option names: a file saved with ``torch.save`` or ``module:function``."""
    if reference.endswith((".pt", ".pth")):
        try:
            return torch.load(reference, weights_only=False)  # our own Task file, written by `_data_file`
        except OSError as error:
            raise ConfigError("--dataset", reference, f"a readable file ({error.strerror})") from None
        except Exception as error:  # truncated or not written by torch.save: unpickling fails many ways
            raise ConfigError(
                "--dataset", reference, f"a file written by torch.save ({type(error).__name__}: {error})"
            ) from None
    return load_callable(reference, "--dataset")()


# -- one worker -----------------------------------------------------------------------------------------
def config_from_study(
    storage: str, study_name: str, dataset: Any = None, wait_s: float = STUDY_WAIT_S
) -> SearchConfig:
    """Rebuild the `SearchConfig` of a stored study, to run more of its trials in this process.

    Args:
        storage: The storage URL as this process reaches it (it replaces the stored one).
        study_name: The study.
        dataset: The data, for a study whose data was given from Python (None: the stored "digits").
        wait_s: How long to wait for a study that exists but is still being set up.

    Raises:
        NasWorkbenchError: No such study, a study the workbench did not create, or missing data.
    """
    opened = open_storage(storage)
    try:
        study = optuna.load_study(study_name=study_name, storage=opened)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(opened)]
        raise NasWorkbenchError(
            f"no study {study_name!r} in {masked_url(storage)}; studies there: {names or 'none'}. Create it "
            "first (nw.search(config) in a notebook, or pass --config to the worker)"
        ) from None
    deadline = time.monotonic() + wait_s
    while (meta := study.user_attrs.get(STUDY_ATTR)) is None:
        if time.monotonic() > deadline:
            raise NasWorkbenchError(
                f"study {study_name!r} has no nas-workbench settings (it was made by other code, or its "
                "creation was interrupted): workers cannot join it"
            )
        time.sleep(0.5)
    data = {**meta["config"], "storage": storage, "study_name": study_name, "n_trials": meta["n_trials"]}
    stored_dataset = data.pop("dataset")
    if stored_dataset != "digits" and dataset is None:
        raise NasWorkbenchError(
            f"study {study_name!r} searches on data given from Python ({stored_dataset}); each worker needs "
            "it too: pass --dataset module:function (a function returning arrays (x, y), a torch Dataset "
            "or DataLoader, or a Task) or --dataset FILE.pt (a Task saved with torch.save)"
        )
    config = SearchConfig.from_dict(data)
    return config if dataset is None else config.replace(dataset=dataset)


def run_worker(
    storage: str,
    study_name: str,
    *,
    config: SearchConfig | None = None,
    evaluate: Evaluate | None = None,
    dataset: Any = None,
    subscribe: Callable[[Any], None] | None = None,
    started: Callable[[SearchRun], None] | None = None,
) -> SearchRun:
    """Run trials of study ``study_name`` in this process until its plan is done (or `stop()`).

    Args:
        storage: The storage URL.
        study_name: The study.
        config: Create the study from this config when it does not exist yet (several workers may race
            to: one creates it, the others join); None: join an existing study with its stored config.
        evaluate: The user's evaluation, as ``nw.search(config, evaluate=...)`` takes it.
        dataset: The data for a study on data given from Python.
        subscribe: Called with every event of this worker.
        started: Called with the run before it starts (to install a signal handler that stops it).

    Returns:
        The finished run.
    """
    from nas_workbench.engine.runner import SearchRun

    if config is not None:
        config = config.replace(storage=storage, study_name=study_name)
        if dataset is not None:
            config = config.replace(dataset=dataset)
    else:
        config = config_from_study(storage, study_name, dataset)
    run = SearchRun(config, evaluate=evaluate)
    if subscribe is not None:
        run.subscribe(subscribe)
    if started is not None:
        started(run)
    return run.run()


# -- local worker processes ------------------------------------------------------------------------------
class LocalWorkers:
    """``n`` `nas-workbench worker` processes on this machine, working on one study.

    Each writes its log to ``log_dir/<study>-worker<i>.log``. On a machine with several GPUs and a CUDA
    study, worker ``i`` sees GPU ``i mod count`` only. Measurements of latency, memory and energy never
    overlap training or another measurement: the profiler's machine-wide lock serialises them
    (`nas_workbench.profiling.measurement_lock`), so figures measured by parallel workers stay valid.

    Args:
        storage: The storage URL (a SQLite file works for processes on one machine).
        study_name: The study, which must exist.
        n: How many processes.
        evaluate: ``"module:function"`` of the user's evaluation, or None.
        dataset: ``"module:function"`` or a ``.pt`` file with the data, for data given from Python.
        device: The study's device (to spread CUDA workers over GPUs).
        log_dir: Where the logs go (default: the runs folder).
        history: Trials done when the search's run began: with its index, what each worker's sampler
            stream is derived from (`nas_workbench.engine.streams`).
    """

    def __init__(
        self,
        storage: str,
        study_name: str,
        n: int,
        *,
        evaluate: str | None = None,
        dataset: str | None = None,
        device: str = "cpu",
        log_dir: str | os.PathLike[str] | None = None,
        history: int = 0,
    ) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError("workers", n, "a whole number of worker processes >= 1")
        self.storage, self.study_name, self.n = storage, study_name, n
        self.evaluate, self.dataset, self.device = evaluate, dataset, device
        self.log_dir = Path(log_dir if log_dir is not None else DEFAULT_RUNS_DIR)
        self.history = history
        self.processes: list[subprocess.Popen[bytes]] = []
        self._stopping = False

    def command(self) -> list[str]:
        """The command line each worker runs."""
        command = [sys.executable, "-m", "nas_workbench.cli", "worker", "--storage", self.storage,
                   "--study", self.study_name]  # fmt: skip
        if self.evaluate:
            command += ["--evaluate", self.evaluate]
        if self.dataset:
            command += ["--dataset", self.dataset]
        return command

    def log_path(self, index: int) -> Path:
        """Where worker ``index`` writes its log."""
        return self.log_dir / f"{self.study_name}-worker{index}.log"

    @property
    def log_paths(self) -> list[Path]:
        """Where the workers write their logs, in order."""
        return [self.log_path(index) for index in range(self.n)]

    def start(self) -> LocalWorkers:
        """Start the processes and return at once."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        # Whatever this process can import (the notebook's folder, its modules), the workers can too.
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p or os.curdir) for p in sys.path)
        gpus = (
            torch.cuda.device_count() if self.device.startswith("cuda") and torch.cuda.is_available() else 0
        )
        env[HISTORY_ENV] = str(self.history)
        for index in range(self.n):
            env[WORKER_INDEX_ENV] = str(index)
            if gpus > 1 and self.device == "cuda":
                env["CUDA_VISIBLE_DEVICES"] = str(index % gpus)
            with self.log_path(index).open("ab") as log:
                self.processes.append(
                    subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=dict(env))
                )
        return self

    @property
    def running(self) -> int:
        """How many of the processes are still running."""
        return sum(process.poll() is None for process in self.processes)

    def stop(self) -> None:
        """Ask every worker to finish its trial and exit (SIGTERM)."""
        self._stopping = True
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """End every worker at once (SIGKILL); their trials in progress are failed and retried later."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()

    def wait(self, timeout: float | None = None) -> list[int | None]:
        """Wait for the processes to exit; their exit codes (None: still running at ``timeout``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for process in self.processes:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(remaining)
        return [process.poll() for process in self.processes]

    def failures(self) -> list[str]:
        """One line per worker that exited with an error: its exit code and the last line of its log.

        A worker `stop` reached while it was still starting, before it handles SIGTERM, ends by the
        signal: asked to stop, it did not fail.
        """
        lines = []
        for index, process in enumerate(self.processes):
            code = process.poll()
            if code not in (None, 0) and not (self._stopping and code == -signal.SIGTERM):
                tail = self.log_path(index).read_text(errors="replace").strip().splitlines()[-1:] or [""]
                lines.append(f"worker {index} (pid {process.pid}) exited with {code}: {tail[0]}")
        return lines

    def close(self, grace_s: float = 30.0) -> None:
        """Stop the workers, waiting ``grace_s`` for their trials to finish before killing them."""
        self.stop()
        if None in self.wait(timeout=grace_s):
            self.kill()
            self.wait()

    def __enter__(self) -> LocalWorkers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- watching every worker from the run that started them ------------------------------------------------
def _data_file(run: SearchRun) -> str | None:
    """Where local workers find the run's data: None for digits, else the `Task` saved once for them."""
    if isinstance(run.config.dataset, str):
        return None
    path = Path(DEFAULT_RUNS_DIR) / f"{run.study_name}.task.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    task: Task = run.task
    torch.save(task, path)
    return str(path)


def start_local_workers(run: SearchRun, workers: int, history: int = 0) -> LocalWorkers:
    """Start ``workers`` local processes on ``run``'s study, with its evaluation, data and device, and
    sampler streams of their own (``history``: the trials done when the run began).

    Raises:
        ConfigError: A bad number of workers, or an evaluation the processes cannot import by name.
    """
    evaluate = callable_name(run.evaluate, "evaluate") if run.evaluate is not None else None
    return LocalWorkers(
        run.storage_url, run.study_name, workers, evaluate=evaluate, dataset=_data_file(run),
        device=run.config.device, history=history,
    ).start()  # fmt: skip


def supervise(
    run: SearchRun,
    pool: LocalWorkers | None,
    *,
    stop: threading.Event,
    on_trial: Callable[[optuna.trial.FrozenTrial], None],
) -> bool:
    """Follow ``run``'s search by the local workers of ``pool`` (None: by processes started elsewhere) and
    pass every trial they finish to ``on_trial``, once, until the study's plan is done, the study stopped
    itself or ``stop`` is set (then local workers finish their trials and exit).

    Returns:
        True when the study stopped itself (a "grid" search that has tried every architecture), however
        many trials its plan has room for.

    Raises:
        NasWorkbenchError: A worker process failed; the message has its exit code and last log line.
    """
    config = run.config
    seen = {t.number for t in run.study.get_trials(deepcopy=False, states=FINISHED)}

    def report_new() -> list[optuna.trial.FrozenTrial]:
        trials = run.study.get_trials(deepcopy=False)
        for trial in trials:
            if trial.state in FINISHED and trial.number not in seen:
                seen.add(trial.number)
                on_trial(trial)
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
    if failures:
        raise NasWorkbenchError("local workers failed: " + "; ".join(failures))
    return stopped_itself(run.storage, run.study_name)  # the last worker may have recorded it on its way out
