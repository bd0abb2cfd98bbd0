"""The row under the form: Start, Stop and Resume, the progress bar and its line, a status line and the
message above the plots. A thin view: it draws what the model (`nas_workbench.ui._model`) computed."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import Any, Protocol

import ipywidgets as W

from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.ui._model import Loading, Message, Progress
from nas_workbench.ui._status import FOLLOWING

__all__ = ["HEADER", "RunControls", "guarded"]

#: The workbench's title, with the one rule its layout needs beyond ipywidgets' own: tab titles as wide
#: as their text (ipywidgets gives each tab 144 px, which cuts "Objectives & budget" off).
HEADER = (
    "<style>.nas-workbench .widget-tab > .lm-TabBar .lm-TabBar-tab"
    "{flex:0 0 auto !important;max-width:none !important;min-width:max-content !important}</style>"
    "<h3 style='margin:4px 0'>NAS Workbench</h3>"
)

logger = logging.getLogger("nas_workbench")


class _Reports(Protocol):
    def report(self, error: Exception) -> None: ...


def guarded(method: Callable[..., None]) -> Callable[..., None]:
    """Run a button's action, handing any error to the owner's ``report`` (a message in the workbench,
    never a traceback in the notebook)."""

    @functools.wraps(method)
    def run(self: _Reports, *args: Any) -> None:
        try:
            method(self, *args)
        except Exception as error:
            if not isinstance(error, NasWorkbenchError):
                logger.debug("workbench action %s failed", method.__name__, exc_info=True)
            self.report(error)

    return run


class RunControls:
    """The buttons and lines of a workbench.

    Args:
        start: Called when Start is pressed.
        stop: Called when Stop is pressed.
        resume: Called when Resume is pressed.
    """

    def __init__(
        self, start: Callable[[], None], stop: Callable[[], None], resume: Callable[[], None]
    ) -> None:
        self.start = W.Button(
            description="Start",
            icon="play",
            button_style="success",
            tooltip="start a new search with these settings",
        )
        self.stop = W.Button(
            description="Stop",
            icon="stop",
            button_style="danger",
            disabled=True,
            tooltip="stop after the trial in progress",
        )
        self.resume = W.Button(
            description="Resume",
            icon="forward",
            tooltip="continue the study named in the Run tab up to its number of trials",
        )
        for button in (self.start, self.stop, self.resume):  # never squeezed to "S…" by a long progress line
            button.layout.flex = "0 0 auto"
        self.start.on_click(lambda _: start())
        self.stop.on_click(lambda _: stop())
        self.resume.on_click(lambda _: resume())
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="260px", flex="0 0 auto"))
        self.progress_label = W.HTML(layout=W.Layout(flex="0 0 auto"))
        self.status = W.HTML()
        self.message = W.HTML()
        buttons = [self.start, self.stop, self.resume, self.progress, self.progress_label]
        #: The buttons and the progress; the progress line goes under them where the row is too narrow.
        self.row = W.HBox(buttons, layout=W.Layout(align_items="center", flex_flow="row wrap"))

    def set_running(self, running: bool) -> None:
        """Start and Resume while idle, Stop while a search runs."""
        self.start.disabled = self.resume.disabled = running
        self.stop.disabled = not running

    def show_progress(self, progress: Progress) -> None:
        """Draw the bar and its line (kept on one line); a followed study that is complete is no longer
        followed, so the status line stops saying so (it said "Following" after the last trial)."""
        if progress.value >= progress.max and FOLLOWING in self.status.value:
            self.status.value = ""
        self.progress.max, self.progress.value = progress.max, progress.value
        self.progress.bar_style = progress.style
        self.progress_label.value = f'<span style="white-space:nowrap">{html.escape(progress.text)}</span>'

    def show_loading(self, item: Loading) -> None:
        """Draw a loading thread's step on the bar and what it does on the status line."""
        self.progress.max, self.progress.value, self.progress.bar_style = item.steps, item.step, "info"
        self.progress_label.value = ""
        self.status.value = f"<i>{html.escape(item.text)}</i>"

    def say(self, message: Message | None) -> None:
        """Show ``message`` above the plots, in red for an error, amber for a warning (None clears it). An
        error also clears the status line: what it said was under way ("Opening study…") did not happen."""
        if message is not None and message.error:
            self.status.value = ""
        if message is None or not message.text:
            self.message.value = ""
            return
        style = "color:#b00020" if message.error else "color:#8a5300" if message.warning else "color:#1b5e20"
        mark = "&#9888; " if message.error or message.warning else ""
        self.message.value = f'<div style="{style};margin:4px 0">{mark}{html.escape(message.text)}</div>'
