"""The Workers control of the Run tab (where Start and Resume run the trials) and the status it reports.

Its value is the ``workers`` argument of `SearchRun.start`: None runs the trials in this kernel, N starts N
local `nas-workbench worker` processes, 0 only follows workers started elsewhere (a cluster job).

It is a run option, not a `SearchConfig` setting, as in the Python API: a study stores its config, and
every worker process rebuilds its own config from it, so a stored number of processes would reach each
worker (itself one process) and make resuming with more or fewer processes a change of the search. How
many processes work on a study is a choice of each launch; the search is the same.
"""

from __future__ import annotations

import html
import os
import shlex
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as W

from nas_workbench import strategies
from nas_workbench.config import SearchConfig
from nas_workbench.engine.storage_urls import masked_url
from nas_workbench.exceptions import ConfigError
from nas_workbench.ui._fields import DESCRIPTION_WIDTH, Field, labelled

if TYPE_CHECKING:
    from nas_workbench.engine.runner import SearchRun

__all__ = ["WorkerTally", "WorkersChoice"]

_STORAGE_HINT = "a SQLite file serves processes on this machine; PostgreSQL is the storage for many machines"

#: The choices: label, value, tooltip.
_MODES = (
    ("in this process", "here", "run the trials in this kernel, one at a time"),
    (
        "local processes",
        "local",
        "start N `nas-workbench worker` processes on this machine; their trials appear here live ("
        + _STORAGE_HINT
        + ")",
    ),
    (
        "follow external",
        "external",
        "run no trials here: follow `nas-workbench worker` processes started elsewhere (a Slurm array, a "
        "Kubernetes Job) on the same storage and study (" + _STORAGE_HINT + ")",
    ),
)


class WorkersChoice:
    """Where Start and Resume run the trials: in this process, in N local worker processes, or in workers
    started elsewhere, with a line under it that explains the choice for the current settings.

    Args:
        on_change: Called whenever the choice changes (the form re-validates and updates the explanation).
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        style = {"description_width": DESCRIPTION_WIDTH}
        self.mode = W.ToggleButtons(
            options=[(label, value) for label, value, _ in _MODES],
            tooltips=[tooltip for _, _, tooltip in _MODES],
            value="here",
            style={"button_width": "auto"},
        )
        count = W.IntText(
            value=2,
            description="worker processes",
            tooltip="how many `nas-workbench worker` processes to start on this machine",
            style=style,
            layout=W.Layout(width="260px"),
        )
        #: The number of local processes; a bad number is shown under it, like any setting's error.
        self.count = Field("workers", count, self._read_count, lambda n: setattr(count, "value", n))
        self.note = W.HTML(layout=W.Layout(margin=f"0 0 4px {DESCRIPTION_WIDTH}"))
        #: What the form places in the Run tab.
        where = "where Start and Resume run the trials"
        self.box = W.VBox([labelled("workers", where, self.mode), self.count.box, self.note])
        self.mode.observe(lambda _: self._show_count(), names="value")
        self.mode.observe(lambda _: on_change(), names="value")
        count.observe(lambda _: on_change(), names="value")
        self._show_count()

    def _show_count(self) -> None:
        self.count.box.layout.display = "" if self.mode.value == "local" else "none"

    def _read_count(self) -> int:
        n = self.count.widget.value
        if n < 1:
            raise ConfigError("workers", n, "a whole number of local worker processes >= 1")
        return int(n)

    def read(self) -> int | None:
        """The ``workers`` argument the choice stands for: None, N >= 1 or 0 (`ConfigError` for a bad N)."""
        mode = self.mode.value
        return None if mode == "here" else 0 if mode == "external" else self.count.read()

    def write(self, workers: int | None) -> None:
        """Show ``workers`` as `read` returns it."""
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
            raise ConfigError(
                "workers",
                workers,
                "None (trials in this process), 0 (follow workers started elsewhere) or a number of local "
                "worker processes >= 1",
            )
        if workers:
            self.count.write(workers)
        self.mode.value = "here" if workers is None else "local" if workers else "external"

    def for_run(self, config: SearchConfig) -> int | None:
        """The ``workers`` to start a search of ``config`` with: `read`, except for a strategy that produces
        its own trials (a supernet search, in this process), as `SearchRun` does whatever it is given."""
        workers = self.read()
        return None if strategies.get(strategies.resolved_strategy(config)).producer else workers

    def explain(self, config: SearchConfig | None) -> None:
        """Say under the control what the choice does with ``config`` (None: the form is invalid)."""
        mode = self.mode.value
        if mode == "here":
            self.note.value = "<i>Trials run in this kernel, one at a time.</i>"
            return
        if config is None:
            self.note.value = ""
            return
        if strategies.get(strategy := strategies.resolved_strategy(config)).producer:
            self.note.value = (
                f"<i>The {html.escape(strategy)} strategy produces its own trials in this kernel "
                "(it trains one supernet): they run here whatever this setting.</i>"
            )
            return
        sqlite = config.resolved_storage().startswith("sqlite")
        if mode == "local":
            n = self.count.widget.value
            text = (
                f"Start and Resume launch {n} <code>nas-workbench worker</code> processes on this machine "
                f"({os.cpu_count()} CPU cores); their trials appear here as they finish. An evaluate "
                "function must be importable by them (defined in a .py module, not in the notebook)."
            )
            if sqlite and n > 1:
                text += (
                    " They share the SQLite file, which is fine on one machine; for workers on several "
                    "machines use a PostgreSQL storage."
                )
        else:
            command = (  # quoted: a study name may hold spaces, a URL shell characters
                f"nas-workbench worker --storage {shlex.quote(masked_url(config.resolved_storage()))} "
                f"--study {shlex.quote(config.resolved_study_name())}"
            )
            text = (
                "Nothing runs here: start workers on any machine that reaches the storage, e.g. "
                f"<code>{html.escape(command)}</code> (in a Slurm array or a Kubernetes Job); their trials "
                "appear here as they finish."
            )
            text += " Data of your own (not digits) goes to each worker with --data (and --label)."
            if sqlite:
                text += (
                    " A SQLite file is shared only by processes on this machine: use a PostgreSQL storage "
                    "for workers on other machines."
                )
        self.note.value = f"<i>{text}</i>"

    def set_disabled(self, disabled: bool) -> None:
        """Freeze the choice while a search runs."""
        self.mode.disabled = self.count.widget.disabled = disabled


class WorkerTally:
    """The workers of one run and the trials each has finished: the status line while they search.

    Args:
        run: The run, started (or about to be) with ``workers``.
        workers: The run's ``workers``: N local processes, or 0 for workers started elsewhere.
    """

    def __init__(self, run: SearchRun, workers: int) -> None:
        self.run, self.workers = run, workers
        self.trials: Counter[str] = Counter()
        self.last: tuple[int, str] | None = None

    @property
    def logs(self) -> list[str]:
        """Where the run's local workers write their logs (none until they start, none for workers
        started elsewhere): the paths the run's own pool uses."""
        return [str(path) for path in self.run.worker_logs]

    def add(self, number: int, worker: str) -> None:
        """Count trial ``number``, finished by ``worker`` ("host:pid")."""
        self.trials[worker] += 1
        self.last = (number, worker)

    def _done(self) -> str:
        total, by = sum(self.trials.values()), len(self.trials)
        if not total:
            who = (
                f"the {self.workers} local worker processes" if self.workers else "workers started elsewhere"
            )
            return f"no trials finished by {who}"
        if self.workers:
            return f"{total} trials finished by {by} of the {self.workers} local worker processes"
        return f"{total} trials finished by {by} worker{'' if by == 1 else 's'} started elsewhere"

    def status(self) -> str:
        """The status line (HTML): who runs the trials, how many have finished some, the last one."""
        logs = self.logs
        if self.workers and logs:
            shown = logs if len(logs) <= 2 else [logs[0], "…", logs[-1]]
            text = f"{self.workers} local worker processes run the trials (logs: {', '.join(shown)})"
        elif self.workers:
            text = f"Starting {self.workers} local worker processes"
        else:
            text = "Following workers started elsewhere"
        if self.last is None:
            text += "; waiting for the first trial to finish…"
        else:
            number, worker = self.last
            text += f"; {self._done()} so far, the last: trial {number} ({worker})."
        return f"<i>{html.escape(text)}</i>"

    def summary(self, reason: str) -> str:
        """A sentence for the end of the run (``reason`` as in `RunFinished`)."""
        done = self._done()
        text = f"{done[:1].upper()}{done[1:]}."
        if reason == "error" and (logs := self.logs):
            text += f" Their logs: {', '.join(logs)}."
        if reason == "stopped" and not self.workers:
            text += " The workers started elsewhere go on; Resume follows them again."
        return text
