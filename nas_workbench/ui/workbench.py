"""`Workbench`: the notebook UI. A configuration form, Start / Stop / Resume, progress and live plots.

Threads: the search runs in its own thread (`SearchRun.start`), so the kernel stays free and a cell can
run while it searches. Its events, and the trials a `StudyWatcher` or a loading thread reads from
storage, go through a `Coalescer` to the kernel's event loop, which alone touches widgets and Bokeh
documents, a batch at a time. Every item carries the number of the session (run, load or watch) that
produced it, so a late event of a stopped run never lands in the plots of the next one.

Errors never reach the output as tracebacks: a bad setting is shown under its field, others above.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import optuna

from nas_workbench.config import SearchConfig, default_storage
from nas_workbench.engine.callables import callable_name
from nas_workbench.engine.records import TrialResult
from nas_workbench.engine.study_record import record_of
from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.ui._controller import (
    Post,
    complete_hint,
    export_in_background,
    may_hold_studies,
    open_in_background,
    open_stored,
    read_in_background,
    resume_hint,
)
from nas_workbench.ui._controls import HEADER, RunControls, guarded
from nas_workbench.ui._dispatch import Coalescer, running_loop
from nas_workbench.ui._model import Changes, Loaded, Loading, Message, Opened, WorkbenchModel
from nas_workbench.ui._options import WorkbenchOptions
from nas_workbench.ui._status import FOLLOWING
from nas_workbench.ui._verdicts import follow_verdicts, rejudged
from nas_workbench.ui._watch import StudyWatcher
from nas_workbench.ui._workers import WorkerTally
from nas_workbench.ui.archview import ArchPanel
from nas_workbench.ui.form import ConfigForm
from nas_workbench.ui.plots import PlotPanel, recorded_metrics
from nas_workbench.viz import TrialTable
from nas_workbench.viz._state import stored_budget

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.12

    from nas_workbench.engine.runner import SearchRun

__all__ = ["Workbench", "WorkbenchOptions"]

logger = logging.getLogger("nas_workbench")


class Workbench(W.VBox):
    """The NAS Workbench widget: configure, run and watch a search, inspect and export architectures.

    Display it as a cell's last expression (or with ``display``), which also loads BokehJS from the
    Jupyter server. When the study the config names already holds trials (a notebook re-run after a
    kernel restart), they are shown at once and Resume continues it.

    Args:
        config: Settings shown in the form at first (default: `SearchConfig()`).
        **options: ``evaluate``, ``data``, ``namespace``, ``workers``: see `WorkbenchOptions`.
    """

    def __init__(self, config: SearchConfig | None = None, **options: Unpack[WorkbenchOptions]) -> None:
        unknown = sorted(set(options) - WorkbenchOptions.__optional_keys__)
        if unknown:
            raise TypeError(f"Workbench() got an unexpected keyword argument {unknown[0]!r}")
        # Optuna's INFO lines ("Trial 3 finished with values ...") come from the search thread and land
        # in whichever cell runs as red stderr blocks; the workbench shows every trial itself
        if optuna.logging.get_verbosity() == optuna.logging.INFO:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.evaluate = options.get("evaluate")
        self.run: SearchRun | None = None
        self._opening = False  # Start or Resume is opening its run in the background
        self.study: optuna.Study | None = None
        self.watcher: StudyWatcher | None = None
        self.model = WorkbenchModel()
        self._loop = running_loop()
        self._coalescer: Coalescer[tuple[int, Any]] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        shown = lambda: None if self.study is None else (self.study, self.plots.table)  # noqa: E731
        self._unfollow = follow_verdicts(shown, lambda item: self._poster()((self.model.session, item)))

        self.form = ConfigForm(config, options.get("namespace"))
        self.form.datasets.write(options.get("data"))
        self.form.workers.write(options.get("workers"))
        self.controls = RunControls(self.start, self.stop, self.resume)
        self.start_button, self.stop_button = self.controls.start, self.controls.stop
        self.resume_button, self.progress = self.controls.resume, self.controls.progress
        self.progress_label, self.status = self.controls.progress_label, self.controls.status
        self.message = self.controls.message
        self.arch = ArchPanel(on_export=self._export)
        self.plots = PlotPanel(on_select=self.arch.show)  # the trial tapped in a plot (None clears it)
        self.form.budget.follow(self.plots.follow_budget)  # the budget lines follow the form's edits
        self.plots.reset_for(self.form.validate() or SearchConfig())
        super().__init__(
            children=[
                W.HTML(HEADER),
                self.form.widget,
                self.form.message,
                self.controls.row,
                self.status,
                self.message,
                self.plots.box,
                self.arch.widget,
            ]
        )
        self.add_class("nas-workbench")
        if config is not None and self._loop is not None:
            self._show_existing(config)

    # -- opening a stored study ------------------------------------------------------------------------
    @classmethod
    def load(
        cls, study_name: str, storage: str | None = None, **options: Unpack[WorkbenchOptions]
    ) -> Workbench:
        """A workbench showing study ``study_name`` of ``storage`` (default: ``runs/nas_workbench.db``).

        Its settings fill the form and its trials the plots (read in the background); a study running
        elsewhere keeps updating. Resume continues it here (``options``: as `Workbench` takes them).
        """
        url = storage or default_storage()
        study, config, problem = open_stored(study_name, url)
        workbench = cls(**options)
        workbench.form.write(config or SearchConfig(storage=url, study_name=study_name))
        if problem is not None:
            workbench._say(Message(problem, error=True))
        elif study is not None and config is not None:
            workbench._open(study, config)
        return workbench

    def _show_existing(self, config: SearchConfig) -> None:
        """Show the trials of the study ``config`` names when its storage already holds it (looked up in
        the background: a remote storage may take a while to answer)."""
        try:
            config = config.validate()
        except NasWorkbenchError:  # shown under its field
            return
        if may_hold_studies(config.resolved_storage()):  # checked here: Start may create it next
            read_in_background(None, config, self._poster(), self.model.next_session())

    def _open(
        self, study: optuna.Study, config: SearchConfig, then: Callable[[], None] | None = None
    ) -> None:
        """Read ``study`` in a background thread; show it when read; then call ``then`` (on the loop)."""
        post = self._poster()
        self._stop_watching()
        self.study = study
        self.controls.show_loading(Loading(1, f"Opening study {study.study_name!r}…"))
        read_in_background(study, config, post, self.model.next_session(), then)

    # -- actions ---------------------------------------------------------------------------------------
    @guarded
    def start(self) -> None:
        """Start a new search with the form's settings (as the Start button does)."""
        self._with_new_run(self._start)

    def _start(self, run: SearchRun, workers: int | None) -> None:
        done = run.trials_done()
        if done:  # shown, since opening this run cancelled the reading of what the study holds
            self._open(run.study, run.config)
            raise NasWorkbenchError(
                f"Study {run.study_name!r} already holds {done} trials in {run.storage_url}: press Resume to "
                "continue it, or choose another study name (Run tab) to start afresh."
            )
        config = run.config  # relative limits resolved on this device
        self.plots.reset_for(config, {m: r.note for m, r in run.resolved_budget.items()})
        self.plots.new_histories(config.strategy, config.directions[0])
        self.arch.show(None)
        self._launch(run, workers)

    @guarded
    def resume(self) -> None:
        """Continue the study named in the form up to its number of trials (as the Resume button does)."""
        self._with_new_run(self._resume)

    def _resume(self, run: SearchRun, workers: int | None) -> None:
        done, target = run.trials_done(), run.config.n_trials
        if done >= target:
            self._open(run.study, run.config)
            raise NasWorkbenchError(
                f"Study {run.study_name!r} already has {done} of {target} trials: raise the number of trials "
                "(Run tab) to search further."
            )
        self._set_running(True)
        self._open(run.study, run.config, then=lambda: self._launch(run, workers))

    @guarded
    def stop(self) -> None:
        """Stop the search after the trial in progress (as the Stop button does)."""
        if self._opening:  # not started yet, and now never: what its opening posts is dropped
            self.model.next_session()
            self._opened(Opened())  # idle again, as if opened with nothing to do
            self.status.value = ""
            self._say(Message("Stopped before the search started: no trial ran."))
        elif self.run is not None and self.run.running:
            self.run.stop()
            self.stop_button.disabled = True
            self.status.value = "<i>Stopping after the trial in progress…</i>"

    def _with_new_run(self, action: Callable[[SearchRun, int | None], None]) -> None:
        """Open the run the form describes (unless a setting is wrong: shown under its field), then call
        ``action`` with it and its ``workers``. Opening reads the data and may resolve a relative limit by
        profiling networks (tens of seconds): a thread does it, the kernel stays free meanwhile."""
        from nas_workbench.engine import preflight, runner  # the engine's run side: loaded at the first run

        config = self.form.validate()
        if config is None:
            return
        workers = self.form.workers.for_run(config)
        if workers is not None and self.evaluate is not None:  # before the study exists: say what to do
            callable_name(self.evaluate, "evaluate")
        post = self._poster()  # needs the kernel's loop: refuse now, before a study exists
        self._say(None)
        opening = preflight.opening_text(config)  # then each step as it begins (`_controller.Opening`)
        self.status.value = f"<i>{html.escape(opening)}…</i>"
        self._opening = True
        self._set_running(True)  # Stop cancels the opening
        data, evaluate = self.form.datasets.read(), self.evaluate
        session = self.model.next_session()  # Stop and close start another, which cancels this opening
        moved_on = lambda: self.model.session != session  # noqa: E731
        open_in_background(
            lambda: runner.search(config, evaluate=evaluate, data=data, cancelled=moved_on),
            lambda run: action(run, workers), post, session, opening,
        )  # fmt: skip

    @guarded
    def _opened(self, opened: Opened) -> None:
        """Start or resume the run opened in the background, or show why it could not be opened."""
        self._opening = False
        self._set_running(False)  # the run sets it again as it starts
        if opened.error is not None:
            raise opened.error
        if opened.then is not None:
            opened.then()

    def _launch(self, run: SearchRun, workers: int | None) -> None:
        """Follow ``run``'s events and start it in its thread (``workers``: as `SearchRun.start` takes it)."""
        self._stop_watching()
        if self._unsubscribe is not None:
            self._unsubscribe()
        session, put = self.model.next_session(), self._poster()
        self._unsubscribe = run.subscribe(lambda event: put((session, event)))
        self.run, self.study = run, run.study
        self._set_running(True)
        opening = self.model.begin_run(run, None if workers is None else WorkerTally(run, workers))
        if opening is not None:  # what "auto" runs and why, what the trials will be, for as long as it runs
            self._say(opening)
        self.plots.image.prepare()  # its final plots are drawn from a callback: start the renderer now
        run.start(workers=workers)

    def _export(self, fmt: str, result: TrialResult, train: bool, folder: str) -> None:
        """Write one export in a background thread; the outcome shows next to the export buttons."""
        study = self.study
        if study is None:
            self.arch.show_message("No study to export from.", error=True)
            return
        data = self.form.datasets.read()
        task = self.run.task if self.run is not None and data is not None and self.run.data is data else data
        path = self.arch.begin_export(study.study_name, fmt, result.number, train, folder)
        export_in_background(study, result.number, fmt, path, task, train, self._poster(), self.model.session)

    # -- drawing, on the kernel's loop -------------------------------------------------------------------
    def _poster(self) -> Post:
        if self._loop is None:
            self._loop = running_loop()
        if self._loop is None:
            raise NasWorkbenchError("The workbench needs a running event loop: use it in a Jupyter notebook.")
        if self._coalescer is None:
            self._coalescer = Coalescer(self._loop, self._apply, on_error=self._failed)
        return self._coalescer.put

    def _failed(self, error: Exception) -> None:
        self._say(Message(f"Updating the display failed: {type(error).__name__}: {error}", error=True))

    def _apply(self, batch: list[tuple[int, Any]]) -> None:
        """Reduce ``batch`` in the model, then draw what changed."""
        self._draw(self.model.reduce(batch))

    def _draw(self, changes: Changes) -> None:
        for exported in changes.exported:
            self.arch.set_busy(False)
            self.arch.show_message(exported.text, error=exported.error)
        if changes.status is not None:
            self.status.value = changes.status
        if changes.loading is not None:
            self.controls.show_loading(changes.loading)
        if changes.loaded is not None:
            self._show_loaded(changes.loaded)
        if changes.rejudged is not None:
            self.plots.redraw(changes.rejudged.table)
        if changes.results:
            self.plots.add(changes.results, self.study)
            self._show_progress()
            if self._coalescer is not None:
                self._coalescer.pace(self.plots.points)
        if changes.dnas:
            self.plots.add_dnas(changes.dnas)
        if changes.message is not None:
            self._say(changes.message)
        if changes.opened is not None:
            self._opened(changes.opened)
        if changes.failed:
            self._set_running(False)
        if changes.finished is not None:
            self._finish()

    def _show_progress(self) -> None:
        self.controls.show_progress(self.model.progress(self.plots.table, self.searching))

    def _show_loaded(self, item: Loaded) -> None:
        config, study = item.config, item.study
        self.study = study
        budget, notes = stored_budget(record_of(study))
        self.plots.reset(item.table, budget, recorded_metrics(config), notes)
        self.plots.show_histories(item.dnas, item.proxy)
        self._show_progress()
        done = len(item.table.results)
        said = [item.verified] if item.verified else []  # why a trained trial is drawn judged over budget
        if item.then is not None:
            item.then()  # a resumed run: what it says replaces this
        elif item.complete and not item.running and done < config.n_trials:
            said.insert(0, complete_hint(study.study_name, config, item.table.results))
        elif item.running or done < config.n_trials:
            self._watch(study, item.table, config.n_trials)
            if not item.running:
                given = self.form.datasets.read() is not None
                said.insert(0, resume_hint(record_of(study), study.study_name, done, config.n_trials, given))
        if said and item.then is None:
            self._say(Message(" ".join(said)))

    def _watch(self, study: optuna.Study, table: TrialTable, n_trials: int) -> None:
        """Follow a study another process is running; its new trials stream in like a live run's."""
        session, put = self.model.session, self._poster()
        new = lambda trials: put((session, trials))  # noqa: E731
        verified = lambda: put((session, rejudged(study, table)))  # noqa: E731 (verified elsewhere)
        self.watcher = StudyWatcher(study, table.rows_by_number, new, n_trials, on_verified=verified).start()
        self.status.value = f"<i>{FOLLOWING}</i>"

    def _stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _finish(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._set_running(False)  # first: refreshing takes a while, Start looked disabled meanwhile
        self._show_progress()
        self.plots.refresh()  # the saved notebook shows the final plots (and their static image)

    # -- small helpers ---------------------------------------------------------------------------------
    def report(self, error: Exception) -> None:
        """Show an action's error (a setting's under its field, else above the plots); idle, no status."""
        self.status.value = ""
        if isinstance(error, ConfigError):
            self.form.show_error(error)
        elif isinstance(error, NasWorkbenchError):
            self._say(Message(str(error), error=True))
        else:  # a bug or a broken storage: say what, keep the notebook clean
            self._say(Message(f"Unexpected error: {type(error).__name__}: {error}", error=True))
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.controls.set_running(running)
        self.form.set_disabled(running)

    def _say(self, message: Message | None) -> None:
        self.controls.say(message)

    @property
    def searching(self) -> bool:
        """Whether a search started here is being opened or is running."""
        return self._opening or (self.run is not None and self.run.running)

    def close(self) -> None:
        """Stop following the study and close the widget (a running search goes on; use `stop`)."""
        self.model.next_session()  # a run still opening is not started
        self._stop_watching()
        self._unfollow()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        super().close()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        self.plots.image.show(self.plots.layout if self.plots.table.results else None)  # nothing drawn: none
        display(self._repr_mimebundle_(), raw=True)
