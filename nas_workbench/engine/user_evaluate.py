"""Checks of a user's ``evaluate(spec, model)``: it must be a function, and what it returns must be finite
numbers including each objective it is responsible for.

An ``evaluate`` given as something else (a string, say) is refused when the search is made, not after
every trial failed; a score of NaN or infinity fails its trial with the reason instead of topping the
Pareto front.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nas_workbench.exceptions import ConfigError

__all__ = ["check_evaluate", "checked_scores"]

_FORM = "a function (spec, model) -> {'accuracy': float, ...}"


def check_evaluate(evaluate: Any) -> Callable[..., Any] | None:
    """``evaluate`` itself when it is None or callable; a `ConfigError` on ``evaluate`` otherwise."""
    if evaluate is not None and not callable(evaluate):
        raise ConfigError("evaluate", evaluate, _FORM)
    return evaluate


def checked_scores(scores: Any, objectives: Sequence[str]) -> dict[str, float]:
    """What ``evaluate`` returned, as finite floats by name.

    Raises:
        ConfigError: Not a mapping of names to numbers, a NaN or infinite number, or no ``accuracy``
            while accuracy is an objective (the trial fails with this reason).
    """
    if not isinstance(scores, Mapping):
        raise ConfigError("evaluate", type(scores).__name__, f"{_FORM}: it must return a mapping")
    numbers: dict[str, float] = {}
    for name, value in scores.items():
        number = _as_float(value)
        if number is None or not math.isfinite(number):
            raise ConfigError(f"evaluate()[{name!r}]", value, "a finite number")
        numbers[str(name)] = number
    if "accuracy" in objectives and "accuracy" not in numbers:
        raise ConfigError("evaluate", sorted(numbers), "a mapping with an 'accuracy' entry")
    return numbers


def _as_float(value: Any) -> float | None:
    """A number of any kind (Python, numpy, a one-element tensor) as a float; None for anything else."""
    if isinstance(value, str | bytes):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return None
