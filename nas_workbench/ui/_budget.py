"""The hardware budget in the form: a limit per metric (a checkbox, a logarithmic slider in the metric's
unit, for latency and memory also a limit relative to this device), and the budget check, which says
under each limit what it means on this device (it profiles networks, so it runs in a thread)."""

from __future__ import annotations

import html
import logging
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W

from nas_workbench.config import SearchConfig
from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.metrics import CHECKED_METRICS, METRICS
from nas_workbench.relative_budget import GRAMMAR, RELATIVE_METRICS, budget_value
from nas_workbench.ui._fields import DESCRIPTION_WIDTH, Field

__all__ = ["BUDGET_RANGES", "BudgetFields"]

logger = logging.getLogger("nas_workbench")

#: Slider range per budget metric, as powers of ten (the sliders are logarithmic).
BUDGET_RANGES: dict[str, tuple[int, int]] = {
    "params": (2, 9),
    "flops": (3, 13),
    "macs": (3, 13),
    "latency_ms": (-3, 3),
    "peak_memory_mb": (-2, 5),
    "energy_mj": (-3, 4),
}


#: Width of a limit's checkbox and label: the longest label ("FLOPs (multiply-add = 2)") in JupyterLab's
#: font, so every slider starts at the same place (a longer one widens its own row, never cut off).
_LABEL_WIDTH = "220px"

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
        self.row = W.HBox([self.button, self.status])

    def read(self) -> dict[str, float | str]:
        """The limits that are set."""
        limits = {key.removeprefix("budget."): field.read() for key, field in self.fields.items()}
        return {metric: limit for metric, limit in limits.items() if limit is not None}

    def write(self, budget: Mapping[str, Any]) -> None:
        """Show ``budget`` (metrics not named have no limit)."""
        for key, field in self.fields.items():
            field.write(budget.get(key.removeprefix("budget.")))

    def _field(self, metric: str) -> Field:
        """A limit: a checkbox to set one, a logarithmic slider for its value, in the metric's unit; for
        latency and memory also a box for a limit relative to this device ("p30", "1.5x fastest"), which
        wins over the slider when filled, and a line under the field for the budget check's answer."""
        info = METRICS[metric]
        low, high = BUDGET_RANGES[metric]
        enabled = W.Checkbox(  # the unit follows the slider; one width, so the sliders line up
            description=info.label, indent=False, layout=W.Layout(min_width=_LABEL_WIDTH, width="auto")
        )
        slider = W.FloatLogSlider(
            value=10 ** ((low + high) // 2),
            base=10,
            min=low,
            max=high,
            step=0.01,
            readout_format=".3g",
            disabled=True,
            continuous_update=False,
            layout=W.Layout(width="420px"),
        )
        relative = W.Text(
            placeholder="or relative: p30, 1.5x fastest",
            tooltip=GRAMMAR,
            disabled=True,
            continuous_update=False,
            layout=W.Layout(width="240px", display="" if metric in RELATIVE_METRICS else "none"),
        )
        checked = _note()
        self.answers[metric] = checked

        def edited(change: Mapping[str, Any]) -> None:
            checked.value = ""  # the check's answer was for the limit before this edit
            if change["owner"] is enabled:
                slider.disabled = relative.disabled = not change["new"]
                self.on_change(f"budget.{metric}")

        for widget in (enabled, slider, relative):
            widget.observe(edited, names="value")
        relative.observe(lambda _: self.on_change(f"budget.{metric}"), names="value")

        def read() -> float | str | None:
            if not enabled.value:
                return None
            return budget_value(relative.value) if relative.value.strip() else slider.value

        def write(limit: float | str | None) -> None:
            enabled.value = limit is not None
            relative.value = limit if isinstance(limit, str) else ""
            if isinstance(limit, int | float) and limit > 0:  # widen the slider to show any limit exactly
                exponent = math.log10(limit)
                slider.min = min(slider.min, math.floor(exponent))
                slider.max = max(slider.max, math.ceil(exponent))
                slider.value = limit

        shown = W.VBox([W.HBox([enabled, slider, W.Label(info.unit), relative]), checked])
        return Field(f"budget.{metric}", slider, read, write, shown)

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
