"""The workbench's state, reduced from what its background threads post: no widgets, no threads.

The search thread, the study reader, the watcher and the export thread post items (engine events, and
the messages below) tagged with the number of the session that produced them. On the kernel's loop the
view hands each batch to `WorkbenchModel.reduce`, which keeps the state (session, progress, workers)
and returns the `Changes` to draw: trials to plot, a status line, a message, a study loaded, a run
finished. Every rule of what an item means lives here, one handler per kind of item, so it is tested
without a kernel; the view (`nas_workbench.ui.workbench`) only draws (as the TypeScript panel's
``model.ts`` beside ``panel.ts``).
"""

from __future__ import annotations

import functools
import html
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import optuna

from nas_workbench.config import SearchConfig
from nas_workbench.engine import events as ev
from nas_workbench.engine.records import TrialResult, budget_missed, outcome_counts
from nas_workbench.strategies.dnas.trial_count import outcome_text, run_plan_text
from nas_workbench.ui._status import best_text, eta_seconds, progress_text
from nas_workbench.ui._workers import WorkerTally
from nas_workbench.viz import DnasHistory, ProxyHistory, TrialTable

if TYPE_CHECKING:
    from nas_workbench.engine.runner import SearchRun

__all__ = [
    "Changes",
    "Exported",
    "Failure",
    "Loaded",
    "Loading",
    "Message",
    "Opened",
    "Opening",
    "Progress",
    "Rejudged",
    "WorkbenchModel",
]

#: What to change when a run's every trial was over budget (said after `budget_missed`'s sentence).
LOOSEN = (
    "Loosen the budget (a higher percentile such as 'p60', or '2x fastest', in Objectives & budget) or "
    "run more trials: the strategy learns the budget from the trials it profiles."
)


@dataclass(frozen=True)
class Loading:
    """A loading thread's progress: step ``step`` of ``steps``, and what it is doing.

    A study loads in three steps: it is opened, its trials are read, its plots are prepared.
    """

    step: int
    text: str
    steps: int = 3


@dataclass(frozen=True)
class Loaded:
    """A study read from storage, ready to show; ``then`` runs once it is shown (a resumed run starts);
    ``dnas`` and ``proxy``: the figures' histories of a "dnas" or "proxy_guided" search."""

    study: optuna.Study
    table: TrialTable
    config: SearchConfig
    running: bool
    then: Callable[[], None] | None
    dnas: DnasHistory | None
    proxy: ProxyHistory | None = None
    #: The study's strategy ended it, however many trials it holds (a complete "dnas" search, a grid).
    complete: bool = False
    #: What a verification of its finalists on the target device measured ("Verified on pixel3 ..."),
    #: "" before one: the plots draw its verdicts, this says them (`verified_view.verified_sentence`).
    verified: str = ""


@dataclass(frozen=True)
class Opening:
    """A step of a run opening in the background, for the status line: ``"Opening study 'x': reusing the
    budget ..."`` (`nas_workbench.engine.narration`)."""

    text: str


@dataclass(frozen=True)
class Opened:
    """A run Start or Resume opened in the background (its data read, its study opened, a relative
    limit resolved by profiling): ``then`` starts it, on the loop; or ``error``, why it could not open."""

    then: Callable[[], None] | None = None
    error: Exception | None = None


@dataclass(frozen=True)
class Failure:
    """A background step failed; ``text`` says what."""

    text: str


@dataclass(frozen=True)
class Message:
    """The line above the plots: an outcome, an error (drawn in red) or a warning (in amber)."""

    text: str
    error: bool = False
    warning: bool = False


@dataclass(frozen=True)
class Exported(Message):
    """An export ended: ``text`` says where it wrote, or why it failed (``error``); shown under the
    architecture, whichever session is current."""


@dataclass(frozen=True)
class Rejudged:
    """The shown study's trials as a verification on the target device judged them again (a new
    ``table`` to draw), and what the device measured (``text``; `nas_workbench.ui._verdicts`)."""

    table: TrialTable
    text: str


@dataclass(frozen=True)
class Progress:
    """The progress bar and the line beside it."""

    value: int
    max: int
    style: str
    text: str


@dataclass
class Changes:
    """What one batch changed, for the view to draw (None / empty: unchanged)."""

    results: list[TrialResult] = field(default_factory=list)
    dnas: list[ev.Event] = field(default_factory=list)
    status: str | None = None
    message: Message | None = None
    loading: Loading | None = None
    loaded: Loaded | None = None
    finished: ev.RunFinished | None = None
    failed: bool = False
    exported: list[Exported] = field(default_factory=list)
    opened: Opened | None = None
    rejudged: Rejudged | None = None


class WorkbenchModel:
    """The state of one workbench: which session is current, and the progress of its run."""

    def __init__(self) -> None:
        #: The current session (a run, a load or a watch); items of older sessions are dropped.
        self.session = 0
        #: Trials the study should hold at the end.
        self.total = 0
        self.run_started = 0.0
        #: Trials finished by this run (for its pace; a resumed study holds more).
        self.run_done = 0
        #: The workers of a run with workers, for the status line.
        self.tally: WorkerTally | None = None
        #: The strategy ``strategy="auto"`` resolved to for the current run (None: the config named one).
        self.auto: str | None = None
        #: What the run's trials were, said at its end (a "dnas" search's epochs and retrained ones).
        self.describe_trials: Callable[[], str] | None = None
        #: The run's sentence when every trial it profiled was over budget (`budget_missed`), or None.
        self.budget_missed: Callable[[], str | None] | None = None
        #: What was said when the run started (what "auto" runs, a "dnas" search's trials), and the
        #: warnings the run raised since: shown together, the warnings again at its end.
        self.opening = ""
        self.warnings: list[str] = []

    def next_session(self) -> int:
        """Start a new session: items posted by earlier ones are ignored from now on."""
        self.session += 1
        return self.session

    def begin_run(self, run: SearchRun, tally: WorkerTally | None) -> Message | None:
        """Take up ``run`` (its workers counted by ``tally``): what its end will say, and what to say
        while it runs (what "auto" runs and why, what a "dnas" search's trials will be), if anything."""
        advice, config = run.strategy_advice, run.config
        self.tally, self.auto = tally, None if advice is None else advice.strategy
        plan = run_plan_text(config, run.trials_done())  # how a "dnas" search counts its trials
        # what the run ended with, from the stored trials: the plots may not have drawn the last one yet
        ended = lambda: outcome_text(outcome_counts(run.results()), config.n_trials)  # noqa: E731
        self.describe_trials = None if plan is None else ended
        self.budget_missed = lambda: budget_missed(run.results(), config.limits())
        said = [] if advice is None else [f"Strategy auto runs {advice.strategy} because {advice.why}."]
        self.opening, self.warnings = " ".join([*said, *([plan] if plan else [])]), []
        return Message(self.opening) if self.opening else None

    def reduce(self, batch: Sequence[tuple[int, Any]]) -> Changes:
        """Apply a batch of ``(session, item)`` in order; return what to draw."""
        changes = Changes()
        for session, item in batch:
            if isinstance(item, Exported):  # an export belongs to no run: always report it
                changes.exported.append(item)
            elif session == self.session:
                self._reduce(item, changes)
        return changes

    @functools.singledispatchmethod
    def _reduce(self, item: Any, changes: Changes) -> None:
        """Items of other kinds (the engine's profiling and budget events) change nothing shown."""

    @_reduce.register
    def _trial_finished(self, item: ev.TrialFinished, changes: Changes) -> None:
        changes.results.append(TrialResult.from_event(item))
        changes.dnas.append(item)
        self.run_done += 1
        if self.tally is not None:
            self.tally.add(item.number, item.worker)
            changes.status = self.tally.status()

    @_reduce.register
    def _weights(self, item: ev.ArchitectureWeights, changes: Changes) -> None:
        changes.dnas.append(item)

    @_reduce.register
    def _watched(self, item: list, changes: Changes) -> None:  # trials a StudyWatcher read
        changes.results.extend(item)

    @_reduce.register
    def _rejudged(self, item: Rejudged, changes: Changes) -> None:
        changes.rejudged = item
        if item.text:
            changes.message = Message(item.text)

    @_reduce.register
    def _run_warning(self, item: ev.RunWarning, changes: Changes) -> None:
        self.warnings.append(f"Warning: {item.message}")  # as the CLI's lines read; never re-cased
        changes.message = Message(" ".join([self.opening, *self.warnings]).strip(), warning=True)

    @_reduce.register
    def _run_started(self, item: ev.RunStarted, changes: Changes) -> None:
        self.total, self.run_started, self.run_done = item.n_trials, item.time, 0
        if self.tally is not None:
            changes.status = self.tally.status()

    @_reduce.register
    def _trial_started(self, item: ev.TrialStarted, changes: Changes) -> None:
        changes.status = f"Trial {item.number}: <code>{html.escape(item.summary)}</code>"

    @_reduce.register
    def _reported(self, item: ev.TrialReported, changes: Changes) -> None:
        changes.status = f"Trial {item.number}: epoch {item.epoch}, validation accuracy {item.accuracy:.4f}"

    @_reduce.register
    def _run_finished(self, item: ev.RunFinished, changes: Changes) -> None:
        changes.finished = item
        changes.message = self.finish_message(item)
        changes.status = ""

    @_reduce.register
    def _loading(self, item: Loading, changes: Changes) -> None:
        changes.loading = item
        changes.status = f"<i>{html.escape(item.text)}</i>"

    @_reduce.register
    def _loaded(self, item: Loaded, changes: Changes) -> None:
        self.total = item.config.n_trials
        changes.loaded = item
        changes.loading = None  # a step of the same batch would redraw its line over the shown study
        changes.status = ""

    @_reduce.register
    def _opening(self, item: Opening, changes: Changes) -> None:
        changes.status = f"<i>{html.escape(item.text)}…</i>"

    @_reduce.register
    def _opened(self, item: Opened, changes: Changes) -> None:
        changes.opened = item

    @_reduce.register
    def _failure(self, item: Failure, changes: Changes) -> None:
        changes.message = Message(item.text, error=True)
        changes.failed = True

    # -- derived text ----------------------------------------------------------------------------------
    def finish_message(self, event: ev.RunFinished) -> Message:
        """What the end of a run says (with its workers' tally, and the strategy "auto" ran)."""
        total = self.total
        texts = {
            "completed": f"Search complete: {event.trials_done} trial{'' if event.trials_done == 1 else 's'} "
            f"in {event.elapsed_s:.0f} s"
            + ("." if self.describe_trials is None else f" ({self.describe_trials()})."),
            "stopped": f"Stopped after {event.trials_done} of {total} trials: Resume continues the study.",
            "timeout": f"Time limit reached after {event.trials_done} of {total} trials: Resume continues.",
        }
        after = "" if self.tally is None else " " + self.tally.summary(event.reason)
        after += "" if self.auto is None else f" Strategy auto ran {self.auto}."
        after += "".join(f" {text}" for text in self.warnings)
        missed = None if self.budget_missed is None else self.budget_missed()
        if missed:
            after += f" {missed} {LOOSEN}"
        if event.reason == "error":
            return Message(f"The search stopped on an error: {event.error}{after}", error=True)
        text = texts.get(event.reason, f"Search ended ({event.reason}).") + after
        return Message(text, warning=bool(self.warnings or missed))

    def progress(self, table: TrialTable, running: bool, now: float | None = None) -> Progress:
        """The bar and its line for ``table`` (the shown trials); the time left while ``running``."""
        done = len(table.results)
        total = max(self.total, done)
        eta = None
        if running:
            elapsed = (time.time() if now is None else now) - self.run_started
            eta = eta_seconds(self.run_done, elapsed, total - done)
        return Progress(
            done,
            max(1, total),
            "success" if done >= total else "",
            progress_text(done, total, eta, best_text(table)),
        )
