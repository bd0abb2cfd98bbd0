"""Worker processes on this machine: ``n`` `nas-workbench worker` processes working on one study."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from nas_workbench.config import DEFAULT_RUNS_DIR
from nas_workbench.engine.streams import HISTORY_ENV, WORKER_INDEX_ENV
from nas_workbench.exceptions import ConfigError

__all__ = ["LocalWorkers"]


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
            command += ["--data", self.dataset]
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
        """One line per worker that exited with an error: its exit code and the last line of its log, or
        the signal that killed it (its log's last line then says nothing about why: "trial 6: ok").

        A worker `stop` reached while it was still starting, before it handles SIGTERM, ends by the
        signal: asked to stop, it did not fail.
        """
        lines = []
        for index, process in enumerate(self.processes):
            code = process.poll()
            if code is None or code == 0 or (self._stopping and code == -signal.SIGTERM):
                continue
            if code < 0:
                name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
                lines.append(f"worker {index} (pid {process.pid}) was killed by {name}")
            else:
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
