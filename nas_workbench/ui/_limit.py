"""One hardware limit in the form: its name, a checkbox to set it, a logarithmic slider, the limit as
people write it ("1,200", "150k", "3.4M") in a box that takes it typed the same way, its unit, and for
latency and memory a box for a limit relative to this device ("p30", "1.5x fastest").

The slider's own readout wrote a limit in e-notation ("1.20e+3 count" for 1,200 parameters), and a limit
dragged to was whatever the slider's step gave (1,202.26 parameters): the box is now the limit, and the
slider moves it in three significant digits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import ipywidgets as W

from nas_workbench.exceptions import ConfigError
from nas_workbench.metrics import METRICS, readable_number, unit_word
from nas_workbench.relative_budget import GRAMMAR, RELATIVE_METRICS, budget_value
from nas_workbench.ui._fields import Field, labelled

__all__ = ["BUDGET_RANGES", "exact_text", "limit_field", "parse_limit"]

#: Slider range per budget metric, as powers of ten (the sliders are logarithmic).
BUDGET_RANGES: dict[str, tuple[int, int]] = {
    "params": (2, 9),
    "flops": (3, 13),
    "macs": (3, 13),
    "latency_ms": (-3, 3),
    "peak_memory_mb": (-2, 5),
    "energy_mj": (-3, 4),
}

#: What the limit box takes: a number with optional thousands separators and a k, M, G or T suffix.
ALLOWED = "a positive number such as 1200, 1,200, 1.2k, 3.4M or 0.5"

_SUFFIX = {suffix: Decimal(10) ** (3 * power) for power, suffix in enumerate(("", "k", "m", "g", "t"))}
_LIMIT = re.compile(r"^\s*([0-9][0-9,_]*\.?[0-9]*(?:e[-+]?[0-9]+)?|\.[0-9]+)\s*([kmgt]?)\s*$", re.IGNORECASE)


def parse_limit(key: str, text: str) -> float:
    """The limit typed in a box: ``"1,200"`` → 1200, ``"1.2k"`` → 1200, ``"3.4M"`` → 3,400,000 (a
    suffix's ``M`` is million, never milli: these are counts, milliseconds and megabytes). `ConfigError`
    naming ``key``, the text and what is allowed otherwise."""
    found = _LIMIT.match(text)
    if found is None:
        raise ConfigError(key, text, ALLOWED)
    digits = found.group(1).replace(",", "").replace("_", "")
    value = float(Decimal(digits) * _SUFFIX[found.group(2).lower()])  # exact: 1.15k is 1150, not 1149.99...
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(key, text, ALLOWED)
    return value


def exact_text(value: float) -> str:
    """``value`` as people write it and exactly, so that reading the box gives ``value`` back: "1,200",
    "150k", "3.4M", "0.25"; a number that needs more digits is written in full ("123,457")."""
    for digits in (3, 4):
        text = readable_number(value, digits)
        if parse_limit("", text) == value:
            return text
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def limit_field(metric: str, on_edit: Callable[[], None], answer: W.HTML) -> Field:
    """The field of limit ``metric`` ("budget.params"), ``answer`` (the budget check's) under it;
    ``on_edit`` is called after each edit of the checkbox, the slider or either box."""
    key, info = f"budget.{metric}", METRICS[metric]
    low, high = BUDGET_RANGES[metric]
    enabled = W.Checkbox(indent=False, layout=W.Layout(width="28px", flex="0 0 auto"))
    off = {"disabled": True, "continuous_update": False}
    slider = W.FloatLogSlider(
        value=10 ** ((low + high) // 2), base=10, min=low, max=high, step=0.01, readout=False, **off
    )
    slider.layout.width, slider.layout.flex = "300px", "0 0 auto"  # every limit's as long
    number = W.Text(value=exact_text(slider.value), tooltip=f"the limit; {ALLOWED}", **off)
    number.layout.width = "90px"
    number.add_class("nas-limit")
    relative = W.Text(placeholder="or relative: p30, 1.5x fastest", tooltip=GRAMMAR, **off)
    relative.layout.width, relative.layout.display = "220px", "" if metric in RELATIVE_METRICS else "none"
    syncing = [False]  # the slider moved to a typed limit: keep the text as typed

    def slid(change: Mapping[str, Any]) -> None:
        if not syncing[0]:  # dragged: the box shows (and is) the limit in 3 significant digits
            number.value = readable_number(change["new"])

    def typed(change: Mapping[str, Any]) -> None:
        try:
            value = parse_limit(key, change["new"])
        except ConfigError:  # shown under the field by the validation that follows
            edited()
            return
        syncing[0] = True
        try:
            show_on_slider(value)
        finally:
            syncing[0] = False
        edited()

    def edited() -> None:
        answer.value = ""  # the check's answer was for the limit before this edit
        on_edit()

    def show_on_slider(value: float) -> None:
        exponent = math.log10(value)  # widen the slider to show any limit
        slider.min, slider.max = min(slider.min, math.floor(exponent)), max(slider.max, math.ceil(exponent))
        slider.value = value

    def set_disabled(frozen: bool) -> None:
        enabled.disabled = frozen
        slider.disabled = number.disabled = relative.disabled = frozen or not enabled.value

    def ticked(change: Mapping[str, Any]) -> None:
        set_disabled(False)  # only an idle form is edited
        edited()

    enabled.observe(ticked, names="value")
    slider.observe(slid, names="value")
    number.observe(typed, names="value")
    relative.observe(lambda _: edited(), names="value")

    def read() -> float | str | None:
        if not enabled.value:
            return None
        return budget_value(relative.value) if relative.value.strip() else parse_limit(key, number.value)

    def write(limit: float | str | None) -> None:
        enabled.value = limit is not None
        relative.value = limit if isinstance(limit, str) else ""
        if isinstance(limit, int | float) and limit > 0:
            number.value = exact_text(limit)

    unit = W.Label(unit_word(info.unit), layout=W.Layout(min_width="80px"))
    tooltip = f"tick to limit {info.label.lower()} per network; over the limit a network is not trained"
    row = labelled(info.label, tooltip, W.HBox([enabled, slider, number, unit, relative]))
    return Field(key, slider, read, write, W.VBox([row, answer]), set_disabled)
