"""The hardware budget in the form: a limit per metric (`nas_workbench.ui._limit`), what follows its edits
(the plots' budget lines), and the budget check, which says under each limit what it means on this device
(it profiles networks, so it runs in a thread)."""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W

from nas_workbench.config import SearchConfig
from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.metrics import CHECKED_METRICS, METRICS
from nas_workbench.ui._fields import DESCRIPTION_WIDTH, Field, labelled, read_fields
from nas_workbench.ui._limit import BUDGET_RANGES, limit_field

__all__ = ["BUDGET_RANGES", "BudgetFields"]

logger = logging.getLogger("nas_workbench")

#: The check's answer without a limit.
_NOTHING_TO_CHECK = "no limit to check"


def _note() -> W.HTML:
    return W.HTML(layout=W.Layout(margin=f"0 0 4px {DESCRIPTION_WIDTH}"))


class BudgetFields:
    """A field per budget metric ("budget.latency_ms"), the Check button and its answers.

    Args:
        on_change: Called with a limit's key whenever it is edited.
    """

    def __init__(self, on_change: Callable[[str], None]) -> None:
        self.on_change = on_change
        self._followers: list[Callable[[dict[str, float | str]], None]] = []
        self._writing = False
        #: The check's answer under each limit.
        self.answers: dict[str, W.HTML] = {}
        self.fields = {f"budget.{metric}": self._field(metric) for metric in METRICS}
        self.button = W.Button(
            description="Check budget",
            icon="search",
            tooltip="find the fastest (smallest) network of the space on this device, resolve relative "
            "limits, and say whether each limit can be met",
        )
        self.status = W.HTML()
        #: The check button and its progress or error, placed after the limits.
        self.row = labelled("", "", W.HBox([self.button, self.status]))  # under the limits' checkboxes

    def read(self) -> dict[str, float | str]:
        """The limits that are set."""
        limits = read_fields({key.removeprefix("budget."): field.read for key, field in self.fields.items()})
        return {metric: limit for metric, limit in limits.items() if limit is not None}

    def write(self, budget: Mapping[str, Any]) -> None:
        """Show ``budget`` (metrics not named have no limit)."""
        self._writing = True
        try:
            for key, field in self.fields.items():
                field.write(budget.get(key.removeprefix("budget.")))
        finally:
            self._writing = False

    def _field(self, metric: str) -> Field:
        """The field of limit ``metric`` (`limit_field`), with a line under it for the check's answer."""
        self.answers[metric] = _note()
        return limit_field(metric, lambda: self._edited(metric), self.answers[metric])

    def _edited(self, metric: str) -> None:
        self.on_change(f"budget.{metric}")
        if self._writing:
            return
        try:
            budget = self.read()
        except ConfigError:  # shown under its field; nothing to follow until it reads
            return
        for follower in self._followers:
            follower(budget)

    def follow(self, follower: Callable[[dict[str, float | str]], None]) -> None:
        """Call ``follower`` with the limits after each edit that reads (not when the form is written)."""
        self._followers.append(follower)

    def check(
        self, config: SearchConfig | None, data: Any = None, background: bool = True
    ) -> threading.Thread | None:
        """Show under each checked limit (all but energy) what it means on this device: a relative limit's
        value, the tightest achievable value, or why no architecture can meet the limit (as the Check
        button does). It loads the data and profiles networks (seconds to a minute), so by default it
        runs in a thread, off the keystroke path; returns that thread (None when nothing is checked).
        ``data``: the data to search on, as `nas_workbench.search` takes it (None: digits)."""
        checked = [m for m in CHECKED_METRICS if config is not None and m in config.budget]
        if config is None or not checked:
            self.status.value = "" if config is None else f"<i>{_NOTHING_TO_CHECK}</i>"
            return None
        self.button.disabled = True
        self.status.value = "<i>checking the budget on this device…</i>"

        def work() -> None:
            from nas_workbench.engine.preflight import budget_report  # profiles networks: torch, loaded now

            try:
                lines = budget_report(config, data)
                for metric, line in lines.items():
                    color = "#b00020" if line.startswith("unreachable") else "#2c662d"
                    self.answers[metric].value = f'<span style="color:{color}">{html.escape(line)}</span>'
                self.status.value = ""
            except NasWorkbenchError as error:
                self.status.value = f'<span style="color:#b00020">&#9888; {html.escape(str(error))}</span>'
            except Exception as error:  # a thread's failure must show, not vanish
                logger.exception("budget check failed")
                self.status.value = f"budget check failed: {html.escape(type(error).__name__)}: {error}"
            finally:
                self.button.disabled = False

        if not background:
            work()
            return None
        thread = threading.Thread(target=work, name="nas-budget-check", daemon=True)
        thread.start()
        return thread
