"""`Workbench`: the notebook UI. A configuration form, Start / Stop / Resume, progress and live plots.

Threads: the search runs in its own thread (`SearchRun.start`), so the kernel stays free and a cell can
run while it searches. Its events, and the trials a `StudyWatcher` or a loading thread reads from
storage, go through a `Coalescer` to the kernel's event loop, which alone touches widgets and Bokeh
documents, a batch at a time. Every item carries the number of the session (run, load or watch) that
produced it, so a late event of a stopped run never lands in the plots of the next one.

Errors never reach the output as tracebacks: a bad setting is shown under its field, anything else as
a message above the plots.
"""

from __future__ import annotations

import asyncio
import functools
import html
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as W
import optuna

from nas_workbench.config import SearchConfig, default_storage
from nas_workbench.engine import events as ev
from nas_workbench.engine.budget import metrics_to_profile
from nas_workbench.engine.records import TrialResult, study_meta, trial_results
from nas_workbench.engine.runner import Evaluate, SearchRun, open_storage, search
from nas_workbench.engine.workers import callable_name
from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.export import FORMATS, export_trial
from nas_workbench.ui._bokehjs import loader_bundle
from nas_workbench.ui._dispatch import Coalescer
from nas_workbench.ui._status import best_text, eta_seconds, progress_text
from nas_workbench.ui._watch import StudyWatcher
from nas_workbench.ui._workers import WorkerTally
from nas_workbench.ui.archview import ArchPanel
from nas_workbench.ui.form import ConfigForm
from nas_workbench.ui.plots import PlotPanel
from nas_workbench.viz import DnasHistory, TrialTable
from nas_workbench.viz._state import stored_budget

__all__ = ["Workbench"]

logger = logging.getLogger("nas_workbench")


@dataclass(frozen=True)
class _Loading:
    """A loading thread's progress: step ``step`` of 3, and what it is doing."""

    step: int
    text: str


@dataclass(frozen=True)
class _Loaded:
    """A study read from storage, ready to show."""

    table: TrialTable
    config: SearchConfig
    running: bool
    then: Callable[[], None] | None
    dnas: DnasHistory | None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _guarded(method: Callable[..., None]) -> Callable[..., None]:
    """Run a button's action, turning any error into a message in the workbench (never a traceback)."""

    @functools.wraps(method)
    def guarded(self: Workbench, *args: Any) -> None:
        try:
            method(self, *args)
        except ConfigError as error:
            self.form.show_error(error)
            self._set_running(False)
        except NasWorkbenchError as error:
            self._say(str(error), error=True)
            self._set_running(False)
        except Exception as error:  # a bug or a broken storage: say what, keep the notebook clean
            logger.debug("workbench action %s failed", method.__name__, exc_info=True)
            self._say(f"Unexpected error: {type(error).__name__}: {error}", error=True)
            self._set_running(False)

    return guarded


class Workbench(W.VBox):
    """The NAS Workbench widget: configure, run and watch a search, inspect and export architectures.

    Display it as a cell's last expression (or with ``display``), which also loads BokehJS from the
    Jupyter server.

    Args:
        config: Settings shown in the form at first (default: `SearchConfig()`).
        evaluate: Optional evaluation replacing training, passed to `nas_workbench.search`.
        namespace: Where the dataset field looks for data (default: the kernel's variables).
        workers: Where Start and Resume run the trials at first (the Run tab's "workers" choice), as
            ``SearchRun.start(workers=...)`` takes it: None in this kernel, N in N local worker
            processes, 0 in workers started elsewhere, which the workbench follows.
    """

    #: Seconds between two updates of the plots while trials stream in, up to `points_per_interval`
    #: points; with more, the interval grows in proportion (to at most `max_update_interval`), since
    #: every update redraws every point: the browser's share of time spent drawing stays the same.
    update_interval = 0.25
    points_per_interval = 500
    max_update_interval = 2.0

    def __init__(
        self,
        config: SearchConfig | None = None,
        *,
        evaluate: Evaluate | None = None,
        namespace: Mapping[str, Any] | None = None,
        workers: int | None = None,
    ) -> None:
        # Optuna's INFO lines ("Trial 3 finished with values ...") come from the search thread and land
        # in whichever cell runs as red stderr blocks; the workbench shows every trial itself
        if optuna.logging.get_verbosity() == optuna.logging.INFO:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.evaluate = evaluate
        self.run: SearchRun | None = None
        self.study: optuna.Study | None = None
        self.watcher: StudyWatcher | None = None
        self._loop = _running_loop()
        self._coalescer: Coalescer[tuple[int, Any]] | None = None
        self._session = 0
        self._unsubscribe: Callable[[], None] | None = None
        self._total = 0
        self._run_started = 0.0
        self._run_done = 0
        self._tally: WorkerTally | None = None  # the workers of a run with workers, for the status line

        self.form = ConfigForm(config, namespace)
        self.form.workers.write(workers)
        self.start_button = W.Button(
            description="Start",
            icon="play",
            button_style="success",
            tooltip="start a new search with these settings",
        )
        self.stop_button = W.Button(
            description="Stop",
            icon="stop",
            button_style="danger",
            disabled=True,
            tooltip="stop after the trial in progress",
        )
        self.resume_button = W.Button(
            description="Resume",
            icon="forward",
            tooltip="continue the study named in the Run tab up to its number of trials",
        )
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.resume_button.on_click(lambda _: self.resume())
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="260px"))
        self.progress_label = W.HTML(layout=W.Layout(flex="0 0 auto"))
        self.status = W.HTML()
        self.message = W.HTML()
        self.plots = PlotPanel(on_select=self._select)
        self.arch = ArchPanel(on_export=self._export)
        shown = self.form.validate() or SearchConfig()
        self.plots.reset(TrialTable(shown.objectives, shown.directions), shown.budget, _recorded(shown))
        super().__init__(
            children=[
                W.HTML("<h3 style='margin:4px 0'>NAS Workbench</h3>"),
                self.form.widget,
                self.form.message,
                W.HBox(
                    [
                        self.start_button,
                        self.stop_button,
                        self.resume_button,
                        self.progress,
                        self.progress_label,
                    ],
                    layout=W.Layout(align_items="center"),
                ),
                self.status,
                self.message,
                self.plots.box,
                self.arch.widget,
            ]
        )
        self.add_class("nas-workbench")

    # -- opening a stored study ------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        study_name: str,
        storage: str | None = None,
        *,
        evaluate: Evaluate | None = None,
        namespace: Mapping[str, Any] | None = None,
        workers: int | None = None,
    ) -> Workbench:
        """A workbench showing study ``study_name`` of ``storage`` (default: ``runs/nas_workbench.db``).

        Its settings fill the form and its trials the plots (read in the background, with a progress
        indicator); a study still running elsewhere keeps updating. Resume continues it here (``workers``:
        where, as for `Workbench`).
        """
        url = storage or default_storage()
        problem = None
        try:
            study = optuna.load_study(study_name=study_name, storage=open_storage(url))
            config = _stored_config(study, url)
        except KeyError:
            study, config = None, None
            problem = (
                f"There is no study {study_name!r} in {url}: check the study name and storage (Run tab), "
                "or press Start to create it."
            )
        except NasWorkbenchError as error:
            study, config = None, None
            problem = str(error)
        workbench = cls(
            config or SearchConfig(storage=url, study_name=study_name),
            evaluate=evaluate,
            namespace=namespace,
            workers=workers,
        )
        if problem is not None:
            workbench._say(problem, error=True)
        elif study is not None and config is not None:
            workbench._open(study, config)
        return workbench

    def _open(
        self, study: optuna.Study, config: SearchConfig, then: Callable[[], None] | None = None
    ) -> None:
        """Read ``study`` in a background thread; show it when read; then call ``then`` (on the loop)."""
        post = self._poster()
        self._stop_watching()
        self._session += 1
        session = self._session
        self.study = study
        name = study.study_name
        self._show_loading(_Loading(1, f"Opening study {name!r}…"))

        def read() -> None:
            try:
                post((session, _Loading(2, f"Reading the trials of {name!r} from the storage…")))
                results = trial_results(study)
                post((session, _Loading(3, f"Preparing the plots of {len(results):,} trials…")))
                table = TrialTable(config.objectives, config.directions)
                table.extend(results)
                running = any(r.status in ("running", "waiting") for r in results)
                dnas = DnasHistory.from_study(study) if config.strategy == "dnas" else None
                post((session, _Loaded(table, config, running, then, dnas)))
            except Exception as error:
                logger.debug("loading study %s failed", name, exc_info=True)
                post((session, _Failure(f"Could not read study {name!r}: {type(error).__name__}: {error}")))

        threading.Thread(target=read, name=f"nas-load-{name}", daemon=True).start()

    # -- actions ---------------------------------------------------------------------------------------
    @_guarded
    def start(self) -> None:
        """Start a new search with the form's settings (as the Start button does)."""
        new = self._new_run()
        if new is None:
            return
        run, workers = new
        done = run.trials_done()
        if done:
            raise NasWorkbenchError(
                f"Study {run.study_name!r} already holds {done} trials in {run.storage_url}: press Resume to "
                "continue it, or choose another study name (Run tab) to start afresh."
            )
        config = run.config  # relative limits resolved on this device
        notes = {m: r.note for m, r in run.resolved_budget.items()}
        self.plots.reset(
            TrialTable(config.objectives, config.directions), config.budget, _recorded(config), notes
        )
        self.plots.show_dnas(DnasHistory() if config.strategy == "dnas" else None)
        self.arch.show(None)
        self._launch(run, workers)

    @_guarded
    def resume(self) -> None:
        """Continue the study named in the form up to its number of trials (as the Resume button does)."""
        new = self._new_run()
        if new is None:
            return
        run, workers = new
        done, target = run.trials_done(), run.config.n_trials
        if done >= target:
            self._open(run.study, run.config)
            raise NasWorkbenchError(
                f"Study {run.study_name!r} already has {done} of {target} trials: raise the number of trials "
                "(Run tab) to search further."
            )
        self._set_running(True)
        self._open(run.study, run.config, then=lambda: self._launch(run, workers))

    @_guarded
    def stop(self) -> None:
        """Stop the search after the trial in progress (as the Stop button does)."""
        if self.run is not None and self.run.running:
            self.run.stop()
            self.stop_button.disabled = True
            self.status.value = "<i>Stopping after the trial in progress…</i>"

    def _new_run(self) -> tuple[SearchRun, int | None] | None:
        """The run the form describes and its ``workers`` (None when a setting is wrong, shown there)."""
        config = self.form.validate()
        if config is None:
            return None
        workers = self.form.workers.for_run(config)
        if workers is not None and self.evaluate is not None:  # before the study exists: say what to do
            callable_name(self.evaluate, "evaluate")
        if self._loop is None:
            self._loop = _running_loop()
        if self._loop is None:
            raise NasWorkbenchError("The workbench needs a running event loop: use it in a Jupyter notebook.")
        self._say("")
        self.status.value = f"<i>Opening study {html.escape(config.resolved_study_name())}…</i>"
        return search(config, evaluate=self.evaluate), workers

    def _launch(self, run: SearchRun, workers: int | None) -> None:
        """Subscribe to ``run``'s events and start it in its background thread (``workers``: as
        `SearchRun.start` takes it)."""
        self._stop_watching()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._session += 1
        session, put = self._session, self._poster()
        self._unsubscribe = run.subscribe(lambda event: put((session, event)))
        self.run, self.study = run, run.study
        self._tally = None if workers is None else WorkerTally(run, workers)
        self._set_running(True)
        run.start(workers=workers)

    def _export(self, fmt: str, result: TrialResult, train: bool, folder: str) -> None:
        """Write one export in a background thread (training may take a while); report on the loop."""
        study, post = self.study, self._poster()
        if study is None:
            self.arch.show_message("No study to export from.", error=True)
            return
        task = self.run.task if self.run is not None and self.run.config.dataset != "digits" else None
        suffix = FORMATS[fmt]
        stem = "report" if fmt == "notebook" else f"trial{result.number}"
        path = Path(folder) / f"{study.study_name}-{stem}{suffix}"
        session = self._session
        self.arch.set_busy(True)
        self.arch.show_message(
            f"Exporting {fmt} to {path}…"
            + (" (training first)" if train and fmt not in ("spec", "notebook") else "")
        )

        def work() -> None:
            try:
                written = export_trial(study, result.number, fmt, path, task=task, train=train)
                outcome = _Exported(f"Wrote {written}", False)
            except Exception as error:  # shown next to the buttons, whatever it is
                logger.debug("export failed", exc_info=True)
                outcome = _Exported(f"Export failed: {type(error).__name__}: {error}", True)
            post((session, outcome))

        threading.Thread(target=work, name="nas-export", daemon=True).start()

    # -- updates on the kernel's loop -------------------------------------------------------------------
    def _poster(self) -> Callable[[tuple[int, Any]], None]:
        if self._loop is None:
            self._loop = _running_loop()
        if self._loop is None:
            raise NasWorkbenchError("The workbench needs a running event loop: use it in a Jupyter notebook.")
        if self._coalescer is None:
            self._coalescer = Coalescer(self._loop, self._apply, self.update_interval, self._failed)
        return self._coalescer.put

    def _failed(self, error: Exception) -> None:
        self._say(f"Updating the display failed: {type(error).__name__}: {error}", error=True)

    def _apply(self, batch: list[tuple[int, Any]]) -> None:
        results: list[TrialResult] = []
        dnas: list[ev.Event] = []
        finished: ev.RunFinished | None = None
        for session, item in batch:
            if isinstance(item, _Exported):  # an export belongs to no run: always report it
                self.arch.set_busy(False)
                self.arch.show_message(item.text, error=item.error)
            elif session != self._session:
                continue
            elif isinstance(item, ev.TrialFinished):
                results.append(TrialResult.from_event(item))
                dnas.append(item)
                self._run_done += 1
                if self._tally is not None:
                    self._tally.add(item.number, item.worker)
                    self.status.value = self._tally.status()
            elif isinstance(item, ev.ArchitectureWeights):
                dnas.append(item)
            elif isinstance(item, list):
                results.extend(item)
            elif isinstance(item, ev.RunStarted):
                self._total, self._run_started, self._run_done = item.n_trials, item.time, 0
                self.progress.max = max(1, item.n_trials)
                if self._tally is not None:
                    self.status.value = self._tally.status()
            elif isinstance(item, ev.TrialStarted):
                self.status.value = f"Trial {item.number}: <code>{html.escape(item.summary)}</code>"
            elif isinstance(item, ev.TrialReported):
                self.status.value = (
                    f"Trial {item.number}: epoch {item.epoch}, validation accuracy {item.accuracy:.4f}"
                )
            elif isinstance(item, ev.RunFinished):
                finished = item
            elif isinstance(item, _Loading):
                self._show_loading(item)
            elif isinstance(item, _Loaded):
                self._show_loaded(item)
            elif isinstance(item, _Failure):
                self._say(item.text, error=True)
                self._set_running(False)
        if results:
            self.plots.add(results)
            self._show_progress()
            if self._coalescer is not None:
                scale = self.plots.points / self.points_per_interval
                self._coalescer.interval = min(
                    self.max_update_interval, self.update_interval * max(1.0, scale)
                )
        if dnas:
            self.plots.add_dnas(dnas)
        if finished is not None:
            self._finish(finished)

    def _show_progress(self) -> None:
        table = self.plots.table
        done = len(table.results)
        total = max(self._total, done)
        eta = None
        if self.run is not None and self.run.running:
            eta = eta_seconds(self._run_done, time.time() - self._run_started, total - done)
        self.progress.max, self.progress.value = max(1, total), done
        self.progress.bar_style = "success" if done >= total else ""
        text = html.escape(progress_text(done, total, eta, best_text(table)))
        self.progress_label.value = f'<span style="white-space:nowrap">{text}</span>'  # one line

    def _show_loading(self, item: _Loading) -> None:
        self.progress.max, self.progress.value, self.progress.bar_style = 3, item.step, "info"
        self.progress_label.value = ""
        self.status.value = f"<i>{html.escape(item.text)}</i>"

    def _show_loaded(self, item: _Loaded) -> None:
        config = item.config
        budget, notes = (
            stored_budget(study_meta(self.study)) if self.study is not None else (config.budget, {})
        )
        self.plots.reset(item.table, budget, _recorded(config), notes)
        self.plots.show_dnas(item.dnas)
        self._total = config.n_trials
        self.progress.bar_style = ""
        self._show_progress()
        self.status.value = ""
        study = self.study
        if item.then is not None:
            item.then()
        elif study is not None and (item.running or len(item.table.results) < config.n_trials):
            self._watch(study, item.table, config.n_trials)

    def _watch(self, study: optuna.Study, table: TrialTable, n_trials: int) -> None:
        """Follow a study another process is running; its new trials stream in like a live run's."""
        session, put = self._session, self._poster()
        self.watcher = StudyWatcher(
            study, table.rows_by_number, lambda new: put((session, new)), n_trials
        ).start()
        self.status.value = (
            "<i>Following this study as other processes run it (read again after each change, "
            "at most every 30 s when idle).</i>"
        )

    def _stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _finish(self, event: ev.RunFinished) -> None:
        total = self._total
        texts = {
            "completed": f"Search complete: {event.trials_done} trials in {event.elapsed_s:.0f} s.",
            "stopped": f"Stopped after {event.trials_done} of {total} trials: Resume continues the study.",
            "timeout": f"Time limit reached after {event.trials_done} of {total} trials: Resume continues.",
        }
        workers = "" if self._tally is None else " " + self._tally.summary(event.reason)
        if event.reason == "error":
            self._say(f"The search stopped on an error: {event.error}{workers}", error=True)
        else:
            self._say(texts.get(event.reason, f"Search ended ({event.reason}).") + workers)
        self.status.value = ""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._show_progress()
        self.plots.refresh()  # the saved notebook shows the final plots
        self._set_running(False)

    def _select(self, result: TrialResult | None) -> None:
        self.arch.show(result)

    # -- small helpers ---------------------------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        self.start_button.disabled = self.resume_button.disabled = running
        self.stop_button.disabled = not running
        self.form.set_disabled(running)

    def _say(self, text: str, error: bool = False) -> None:
        if not text:
            self.message.value = ""
            return
        style = "color:#b00020" if error else "color:#1b5e20"
        self.message.value = (
            f'<div style="{style};margin:4px 0">{"&#9888; " if error else ""}{html.escape(text)}</div>'
        )

    @property
    def searching(self) -> bool:
        """Whether a search started here is running."""
        return self.run is not None and self.run.running

    def close(self) -> None:
        """Stop following the study and close the widget (a running search goes on; use `stop`)."""
        self._stop_watching()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        super().close()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(loader_bundle(("bokeh", "bokeh-widgets")), raw=True)  # widgets: the α heat map's slider
        display(self._repr_mimebundle_(), raw=True)


@dataclass(frozen=True)
class _Failure:
    """A background step failed; ``text`` says what."""

    text: str


@dataclass(frozen=True)
class _Exported:
    """An export ended: ``text`` says where it wrote, or why it failed."""

    text: str
    error: bool


def _recorded(config: SearchConfig) -> list[str]:
    return metrics_to_profile(config.objectives, config.budget, config.profile_metrics)


def _stored_config(study: optuna.Study, url: str) -> SearchConfig:
    """The config a study was created with, pointing at ``url`` (data from Python reads as digits)."""
    meta = study_meta(study)
    if not meta.get("config"):
        raise NasWorkbenchError(
            f"Study {study.study_name!r} was not created by NAS Workbench (no settings stored)."
        )
    data = {**meta["config"], "storage": url, "study_name": study.study_name}
    if not isinstance(data.get("dataset"), str) or data["dataset"] != "digits":
        data["dataset"] = "digits"  # the data came from Python: the user picks it in the form to resume
    return SearchConfig.from_dict(data)
