"""The form's table, generated from the settings' own metadata: one row per setting of `SearchConfig`
(and of its `Fidelity`), in the tab, with the label and the help its dataclass field declares.

A setting added to the config appears in the form without a line here: `plain_field` picks its widget
from its type and default (a number, a checkbox, text where empty means None, one entry per line, JSON
for a mapping). The form gives its own widgets only to the settings that need to list something (the
registered spaces and strategies, this machine's devices, the notebook's data) or to explain it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets as W

from nas_workbench.config import FORM_TABS, Fidelity, SearchConfig
from nas_workbench.exceptions import ConfigError
from nas_workbench.ui._fields import DESCRIPTION_WIDTH, Field, json_field, labelled, option_field, zero_hint

__all__ = ["Row", "form_rows", "optional_number", "plain_field", "tags_field", "value_field"]

_STYLE = {"description_width": DESCRIPTION_WIDTH}
_WIDE = W.Layout(width="95%")


@dataclass(frozen=True)
class Row:
    """One setting as the form shows it.

    Attributes:
        key: Its path in the config ("n_trials", "fidelity.epochs").
        tab: The tab it belongs to (one of `nas_workbench.config.FORM_TABS`).
        label: Its label.
        help: A one-line help (the widget's tooltip), maybe empty.
        default: Its default value.
        kind: Its type, as written in the dataclass ("float | None").
    """

    key: str
    tab: str
    label: str
    help: str
    default: Any
    kind: str


def _rows(cls: type, prefix: str = "") -> list[Row]:
    rows = []
    for setting in dataclasses.fields(cls):
        meta = setting.metadata
        factory = setting.default_factory
        default = setting.default if factory is dataclasses.MISSING else factory()
        key = f"{prefix}{setting.name}"
        tab, label = meta.get("tab", FORM_TABS[-1]), meta.get("label", setting.name.replace("_", " "))
        rows.append(Row(key, tab, label, meta.get("help", ""), default, str(setting.type)))
    return rows


def form_rows() -> dict[str, list[Row]]:
    """Rows per tab, in `FORM_TABS` order, each tab's settings in the order the config declares them;
    the fidelity's knobs stand where the fidelity does."""
    tabs: dict[str, list[Row]] = {tab: [] for tab in FORM_TABS}
    for row in _rows(SearchConfig):
        tabs[row.tab].extend(_rows(Fidelity, "fidelity.") if row.key == "fidelity" else [row])
    return tabs


def value_field(row: Row, kind: Callable[..., W.ValueWidget], **options: Any) -> Field:
    """A field whose widget's value is the setting."""
    widget = kind(description=row.label, tooltip=row.help or row.label, style=_STYLE, **options)
    return Field(row.key, widget, lambda: widget.value, lambda v: setattr(widget, "value", v))


def optional_number(row: Row, integer: bool) -> Field:
    """A number where 0 means None (timeouts, threads, resolution), which a note beside it says ("0 =
    none", or what the setting's help says 0 means: "0 = keep")."""
    box = (W.IntText if integer else W.FloatText)(
        value=0, description=row.label, tooltip=row.help or row.label, style=_STYLE
    )

    def read() -> Any:
        if box.value < 0:
            raise ConfigError(row.key, box.value, "a positive number, or 0 for none")
        return None if box.value == 0 else box.value

    shown = W.HBox([box, zero_hint(row.help, "none")])
    return Field(row.key, box, read, lambda v: setattr(box, "value", 0 if v is None else v), shown)


def _text(row: Row, placeholder: str) -> Field:
    """Text where an empty box means None (storage, study name)."""
    widget = W.Text(
        description=row.label, placeholder=placeholder, tooltip=row.help, style=_STYLE, layout=_WIDE
    )
    return Field(
        row.key, widget, lambda: widget.value.strip() or None, lambda v: setattr(widget, "value", v or "")
    )


def _lines(row: Row) -> Field:
    """One entry per line (initial architectures)."""
    area = W.Textarea(description=row.label, placeholder=row.help, style=_STYLE, layout=_WIDE)
    return Field(
        row.key,
        area,
        lambda: [line.strip() for line in area.value.splitlines() if line.strip()],
        lambda v: setattr(area, "value", "\n".join(v)),
    )


def tags_field(
    row: Row, allowed: list[str], empty: list[str] | None = None, names: Mapping[str, str] | None = None
) -> Field:
    """Tags chosen among ``allowed``, in order; with ``empty``, those tags read as None (the default).
    ``names``: what each tag shows instead of its value ("Latency (ms)" for "latency_ms")."""
    shown = dict(names or {})
    value_of = {shown.get(value, value): value for value in allowed}
    tags = W.TagsInput(allowed_tags=list(value_of), allow_duplicates=False)

    def read() -> list[str] | None:
        chosen = [value_of.get(tag, tag) for tag in tags.value]
        return None if empty is not None and chosen == empty else chosen

    def write(value: list[str] | None) -> None:
        chosen = list(empty if value is None and empty is not None else value or [])
        tags.value = [shown.get(item, item) for item in chosen]

    return Field(row.key, tags, read, write, shown=labelled(row.label, row.help, tags))


def plain_field(row: Row, placeholder: str = "") -> Field:
    """The widget a setting's type and default call for (see the module docstring)."""
    if row.kind in ("float | None", "int | None"):
        return optional_number(row, integer=row.kind.startswith("int"))
    if row.kind == "str | None":
        return _text(row, placeholder)
    if row.kind == "list[str]":
        return _lines(row)
    if isinstance(row.default, dict):
        return json_field(row.key, row.label, row.default, row.help)
    field = option_field(row.key, row.key.rpartition(".")[2], row.default, row.help)
    field.widget.description = row.label
    return field
