"""Form fields: a widget, how to read a setting from it and how to show one in it, and its inline error.

Every setting of the form is a `Field`, so the form reads, writes, validates and reports errors the same
way for all of them. `option_field` makes a field for an option known only by its default value (a
space's or a strategy's options, which users may register), choosing the widget by the default's type.
"""

from __future__ import annotations

import html
import json
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as W

from nas_workbench.exceptions import ConfigError, ConfigErrors

__all__ = [
    "DESCRIPTION_WIDTH",
    "Field",
    "OptionsEditor",
    "json_field",
    "labelled",
    "option_field",
    "plain",
    "read_fields",
    "same_value",
    "zero_hint",
]

#: Width of the descriptions on the left of every field, so the form lines up.
DESCRIPTION_WIDTH = "170px"
_STYLE = {"description_width": DESCRIPTION_WIDTH}

#: What 0 stands for, as a setting's help says it ("wall-clock limit of a run; 0: none", "(0: off)").
_ZERO = re.compile(r"(?:^|[(;,] *)0: *([^;)]+)")


def read_fields(readers: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
    """Each reader's value by its key, every reader asked: `ConfigError` naming each field that cannot be
    read (`ConfigErrors` for several), so that Start shows every bad field at once, not the first alone."""
    values, errors = {}, []
    for key, read in readers.items():
        try:
            values[key] = read()
        except ConfigError as error:
            errors.append(error)
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    return values


def labelled(text: str, tooltip: str, widget: W.Widget) -> W.HBox:
    """``widget`` after a label placed as ipywidgets places a description (right-aligned in the
    descriptions' column), for widgets whose own description does not line up: tags, and toggle buttons,
    whose description took a line of its own above them in JupyterLab."""
    label = W.HTML(
        f'<div style="text-align:right" title="{html.escape(tooltip)}">{html.escape(text)}</div>',
        layout=W.Layout(width=DESCRIPTION_WIDTH, flex="0 0 auto", margin="2px 8px 2px 2px"),
    )
    return W.HBox([label, widget])


def zero_hint(help: str, default: str | None = None) -> W.HTML | None:
    """A short grey note beside a number box saying what 0 means ("0 = none"), taken from the setting's
    ``help`` ("...; 0: none") or ``default`` (what 0 means when the help does not say): a tooltip alone
    hid it from anyone who did not hover. None when 0 means nothing special."""
    found = _ZERO.search(help)
    meaning = found.group(1).strip() if found else default
    if meaning is None:
        return None
    return W.HTML(f'<span style="color:#666666">0 = {html.escape(meaning)}</span>')


def _with_hint(widget: W.Widget, hint: W.HTML | None) -> W.Widget:
    return widget if hint is None else W.HBox([widget, hint])


class Field:
    """One setting in the form.

    Args:
        key: The setting's path in `SearchConfig` ("n_trials", "fidelity.epochs", "space_options.ops");
            errors whose ``field`` is this key (or below it) are shown under this field.
        widget: The input widget (its ``value`` changes when the user edits).
        read: Widget → setting value; raises `ConfigError` (naming ``key``) for unreadable input.
        write: Setting value → widget.
        shown: What the form places (default: ``widget``), e.g. the widget in a row with a label.
        disable: Freezes (True) or thaws the field's widgets (default: ``widget.disabled``), for a field
            of several widgets, such as a limit whose slider stays disabled while its checkbox is clear.
    """

    def __init__(
        self,
        key: str,
        widget: W.Widget,
        read: Callable[[], Any],
        write: Callable[[Any], None],
        shown: W.Widget | None = None,
        disable: Callable[[bool], None] | None = None,
    ) -> None:
        self.key = key
        self.widget = widget
        self.read = read
        self.write = write
        self._disable = disable
        self.error = W.HTML(layout=W.Layout(display="none", margin="0 0 4px " + DESCRIPTION_WIDTH))
        self.error.add_class("nas-error")
        #: The field and its error line, as placed in the form.
        self.box = W.VBox([shown if shown is not None else widget, self.error])

    def set_disabled(self, disabled: bool) -> None:
        """Freeze the field while a search runs, or thaw it."""
        if self._disable is not None:
            self._disable(disabled)
        else:
            self.widget.disabled = disabled

    def show_error(self, message: str | None) -> None:
        """Show ``message`` under the field (None hides it)."""
        if message is None:
            self.error.value, self.error.layout.display = "", "none"
        else:
            self.error.value = f'<span style="color:#b00020">&#9888; {html.escape(message)}</span>'
            self.error.layout.display = ""


def plain(value: Any) -> Any:
    """``value`` with tuples as lists and mappings as dicts, as settings compare after a round trip."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def same_value(a: Any, b: Any) -> bool:
    """Whether two settings are equal up to tuple/list and int/float differences."""
    return plain(a) == plain(b)


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _parse_list(key: str, text: str, none_ok: bool) -> list[Any] | None:
    """``"3, 5"`` → ``[3, 5]``; JSON too; blank → None (when allowed) or []."""
    text = text.strip()
    if not text:
        return None if none_ok else []
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(key, text, f"a JSON list ({error})") from None
        return list(value) if isinstance(value, list) else [value]
    items = [item.strip() for item in text.split(",") if item.strip()]
    try:
        return [_number(item) for item in items]
    except ValueError:
        return items  # words: op names and the like, checked by the space


def _show_list(value: Any) -> str:
    return "" if value is None else ", ".join(str(v) for v in value)


def json_field(key: str, description: str, empty: Any, tooltip: str = "") -> Field:
    """A text field holding JSON (an empty box means ``empty``)."""
    widget = W.Text(
        description=description,
        placeholder="JSON",
        tooltip=tooltip,
        style=_STYLE,
        layout=W.Layout(width="95%"),
    )

    def read() -> Any:
        text = widget.value.strip()
        if not text:
            return plain(empty)
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(key, text, f"JSON ({error.msg} at character {error.pos})") from None

    def write(value: Any) -> None:
        widget.value = "" if same_value(value, empty) else json.dumps(plain(value))

    return Field(key, widget, read, write)


def option_field(key: str, name: str, default: Any, doc: str = "") -> Field:
    """A field for an option known by its ``default``: checkbox, number, text, tags or a list.

    Lists of words become tags chosen among the default's (an ops list), lists of numbers and options
    whose default is None become comma-separated text ("3, 5"; blank for the default).
    """
    description = name.replace("_", " ")
    common = {"description": description, "tooltip": doc or name, "style": _STYLE}
    if isinstance(default, bool):
        box = W.Checkbox(value=default, indent=True, **common)
        return Field(key, box, lambda: bool(box.value), lambda v: setattr(box, "value", bool(v)))
    if isinstance(default, numbers.Integral):
        whole = W.IntText(value=int(default), **common)
        shown = _with_hint(whole, zero_hint(doc))
        return Field(key, whole, lambda: int(whole.value), lambda v: setattr(whole, "value", int(v)), shown)
    if isinstance(default, numbers.Real):
        real = W.FloatText(value=float(default), **common)
        shown = _with_hint(real, zero_hint(doc))
        return Field(key, real, lambda: float(real.value), lambda v: setattr(real, "value", float(v)), shown)
    if isinstance(default, str):
        text = W.Text(value=default, **common)
        return Field(key, text, lambda: text.value, lambda v: setattr(text, "value", str(v)))
    if isinstance(default, list | tuple) and default and all(isinstance(v, str) for v in default):
        return _tags_field(key, list(default), common)
    if default is None or (
        isinstance(default, list | tuple) and all(isinstance(v, numbers.Real) for v in default)
    ):
        line = W.Text(value=_show_list(default), placeholder="default" if default is None else "", **common)
        return Field(
            key,
            line,
            lambda: _parse_list(key, line.value, default is None),
            lambda v: setattr(line, "value", _show_list(v)),
        )
    return json_field(key, description, default, doc)


def _tags_field(key: str, choices: list[str], common: dict[str, Any]) -> Field:
    tags = W.TagsInput(value=list(choices), allowed_tags=list(choices), allow_duplicates=False)
    row = labelled(common["description"], common["tooltip"], tags)

    def write(value: Sequence[str]) -> None:
        tags.allowed_tags = list(dict.fromkeys([*tags.allowed_tags, *value]))
        tags.value = list(value)

    return Field(key, tags, lambda: list(tags.value), write, shown=row)


class OptionsEditor:
    """The fields of a mapping of options (a space's or a strategy's), rebuilt when its defaults change.

    Args:
        prefix: The setting holding the options ("space_options"); a field's key is "prefix.name".
        on_change: Called whenever an option's widget changes.
    """

    def __init__(self, prefix: str, on_change: Callable[[], None]) -> None:
        self.prefix = prefix
        self.on_change = on_change
        self.defaults: dict[str, Any] = {}
        self.fields: dict[str, Field] = {}
        self.owner: str | None = None
        self.box = W.VBox()

    def set_defaults(
        self, owner: str, defaults: Mapping[str, Any], docs: Mapping[str, str] | None = None
    ) -> None:
        """Show one field per option of ``owner`` (a space or strategy name), at its default; nothing
        changes when ``owner`` is already shown."""
        if owner == self.owner:
            return
        docs = docs or {}
        self.owner = owner
        self.defaults = dict(defaults)
        self.fields = {
            name: option_field(f"{self.prefix}.{name}", name, default, docs.get(name, ""))
            for name, default in defaults.items()
        }
        for field in self.fields.values():
            field.widget.observe(lambda _: self.on_change(), names="value")
        self.box.children = [field.box for field in self.fields.values()]

    def write(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` (options not named keep their defaults); an unknown option is an error."""
        for name, value in values.items():
            if name not in self.fields:
                raise ConfigError(f"{self.prefix}.{name}", value, f"one of the options {sorted(self.fields)}")
        for name, field in self.fields.items():
            field.write(values.get(name, self.defaults[name]))

    def read(self) -> dict[str, Any]:
        """The options that differ from their defaults."""
        values = {name: field.read() for name, field in self.fields.items()}
        return {name: value for name, value in values.items() if not same_value(value, self.defaults[name])}
