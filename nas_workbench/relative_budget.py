"""Budgets relative to the machine: the grammar of a latency or memory limit stated against this device.

An absolute limit (``budget={"latency_ms": 0.4}``) means different things on a fast and a slow machine,
or on a quiet and a busy one. A relative limit is a string, the same in Python, YAML and on the command
line, resolved on this device when a study is created (`nas_workbench.engine.relative`):

- ``"p30"``: the 30th percentile of the metric over a fixed-seed sample of random architectures of the
  space (any ``pQ`` with 0 < Q <= 100; ``p100`` is the slowest of the sample);
- ``"1.5x fastest"`` (or ``"1.5x smallest"``): 1.5 times the metric of the fastest (smallest)
  architecture of the space, found by the same descent that checks budgets;
- ``"2x <arch>"``: twice the metric of a named reference network, written in the space's notation.

Only measured metrics (latency, peak memory) take relative limits: counted ones (parameters, FLOPs) are
the same on every machine. Parsing lives here, apart from the engine, so a config is checked without
building or measuring anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nas_workbench.exceptions import ConfigError

__all__ = ["GRAMMAR", "RELATIVE_METRICS", "RelativeBudget", "budget_value", "parse_relative_budget"]

#: Budget metrics a relative limit may be given for: those that depend on the device.
RELATIVE_METRICS = ("latency_ms", "peak_memory_mb")

#: What a relative limit may look like, for error messages and help texts.
_RELATIVE = (
    "a limit relative to this device: 'pQ' (the Q-th percentile of the space on this device, 0 < Q <= 100, "
    "e.g. 'p30'), 'Fx fastest' (F times the fastest architecture of the space, e.g. '1.5x fastest') or "
    "'Fx ARCH' (F times an architecture in the space's notation, e.g. '2x <arch>')"
)
GRAMMAR = f"an absolute limit in the metric's unit, or {_RELATIVE}"

_QUANTILE = re.compile(r"p(\d+(?:\.\d*)?)")
_FACTOR = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*x\s+(\S.*)")
_FASTEST = ("fastest", "smallest")


@dataclass(frozen=True)
class RelativeBudget:
    """A parsed relative limit: a quantile of the space, or a factor of a reference network.

    Attributes:
        text: The limit as written (normalised spacing), stored with the study beside the resolved value.
        quantile: The percentile (0-100] for ``pQ``; None for a factor.
        factor: The factor for ``Fx ...``; None for a quantile.
        reference: The reference architecture in the space's notation; None for the fastest (or a quantile).
    """

    text: str
    quantile: float | None = None
    factor: float | None = None
    reference: str | None = None


def parse_relative_budget(field: str, text: str) -> RelativeBudget:
    """Parse a relative limit; `ConfigError` naming ``field``, the value and `GRAMMAR` when it is not one.

    Whether a named reference belongs to the space is checked with the space (`SearchConfig.validate`).
    """
    spec = " ".join(text.split())
    quantile = _QUANTILE.fullmatch(spec.lower())
    if quantile is not None:
        q = float(quantile.group(1))
        if not 0 < q <= 100:
            raise ConfigError(field, text, f"a percentile between 0 (excluded) and 100; {GRAMMAR}")
        return RelativeBudget(text=f"p{q:g}", quantile=q)
    factor = _FACTOR.fullmatch(spec)
    if factor is not None:
        f = float(factor.group(1))
        if f <= 0:
            raise ConfigError(field, text, f"a positive factor; {GRAMMAR}")
        reference = factor.group(2).strip()
        if reference.lower() in _FASTEST:
            return RelativeBudget(text=f"{f:g}x {reference.lower()}", factor=f)
        return RelativeBudget(text=f"{f:g}x {reference}", factor=f, reference=reference)
    if isinstance(budget_value(spec), float):  # "5" in Python: a number in quotes
        number = f"a number in the metric's unit ({spec}, not in quotes)"
        raise ConfigError(field, text, f"{number}, or {_RELATIVE}")
    raise ConfigError(field, text, GRAMMAR)


def budget_value(text: str) -> float | str:
    """A limit typed as text (the command line, a text box): a number, or the text of a relative limit,
    which the config then validates (its error names the grammar)."""
    try:
        return float(text)
    except ValueError:
        return text.strip()
