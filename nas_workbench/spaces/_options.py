"""Checks of space options: a `ConfigError` names ``space_options.<key>``, the value and the rule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nas_workbench._registry import unknown_name_message
from nas_workbench.exceptions import ConfigError


def is_int(value: Any, minimum: int = 1) -> bool:
    """Whether ``value`` is an int (not a bool) of at least ``minimum``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def check_int(options: dict[str, Any], key: str, minimum: int = 1) -> None:
    """``options[key]`` must be an integer >= ``minimum``."""
    if not is_int(options[key], minimum):
        raise ConfigError(f"space_options.{key}", options[key], f"an integer >= {minimum}")


def check_choices(options: dict[str, Any], key: str, valid: Callable[[Any], bool], what: str) -> None:
    """``options[key]`` must be a non-empty list of distinct values, each ``valid`` (``what`` says how)."""
    value = options[key]
    if (
        not isinstance(value, tuple)
        or not value
        or len(set(value)) != len(value)
        or not all(valid(v) for v in value)
    ):
        raise ConfigError(f"space_options.{key}", value, f"a non-empty list of distinct {what}")


def check_names(options: dict[str, Any], key: str, known: Sequence[str], kind: str) -> None:
    """``options[key]`` must be a non-empty list of distinct names from ``known``; a misspelt one gets a
    "did you mean"."""
    value = options[key]
    for name in value if isinstance(value, tuple) else ():
        if name not in known:
            raise ConfigError(f"space_options.{key}", value, unknown_name_message(kind, name, list(known)))
    check_choices(options, key, lambda name: name in known, f"{kind} names from {list(known)}")


def resolve_per_stage(
    options: dict[str, Any], key: str, default: Callable[[int], Any], valid: Callable[[Any], bool], what: str
) -> None:
    """Fill ``options[key]`` (one value per stage) from ``default(stage_index)`` when None, then check it."""
    num_stages = options["num_stages"]
    if options[key] is None:
        options[key] = tuple(default(i) for i in range(num_stages))
    value = options[key]
    if not isinstance(value, tuple) or len(value) != num_stages or not all(valid(v) for v in value):
        raise ConfigError(
            f"space_options.{key}",
            value,
            f"None or a list of {num_stages} {what} (one per stage, num_stages)",
        )
