"""Relative budgets resolved on this device: "p30", "1.5x fastest", "2x <arch>" become a limit in ms or MB.

The grammar is `nas_workbench.relative_budget`. A relative limit is resolved once, when its study is
created, with the values the search judges trials by (measured on the device, or the lookup table's
predictions when the search profiles by proxy), and stored with the study (`ResolvedBudget.to_dict`), so
a resumed study, a worker on another process and the plots all use the same absolute limit. A limit
measured on this machine is also kept in the profiling cache, and a later study of the same space and
input reuses it while the machine's speed is unchanged (`nas_workbench.engine.resolution_cache`):

- a quantile: the ``q``-th percentile (linear interpolation) over `SAMPLE_SIZE` random architectures of
  the space drawn with a fixed seed (fixed decisions kept), so the same machine resolves the same
  architectures, with a bootstrap interval that says how much a percentile of so few networks can be
  trusted (`ResolvedBudget.interval`). 16 networks resolved the demo's p60 44% apart on a quiet and a busy
  machine; `SAMPLE_SIZE` is 32 now, and each network's latency is timed against the reference workload
  (`nas_workbench.profiling.reference`), which keeps slow episodes of the machine out of the sample;
- a factor of the fastest: the descent of `nas_workbench.engine.feasibility.smallest` finds the fastest
  (smallest) architecture, which is then profiled again to confirm its value, since the least of many
  noisy measurements is an optimistic one;
- a factor of a named architecture: that network's value.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nas_workbench.engine.feasibility import complete_choices, smallest
from nas_workbench.profiling import METRICS
from nas_workbench.relative_budget import parse_relative_budget
from nas_workbench.spaces import SearchSpace
from nas_workbench.spec import ArchSpec

__all__ = [
    "SAMPLE_SEED",
    "SAMPLE_SIZE",
    "ResolvedBudget",
    "device_phrase",
    "percentile_interval",
    "resolve_budget",
]

logger = logging.getLogger("nas_workbench")

#: Random architectures profiled to resolve a quantile, and the seed that draws them.
SAMPLE_SIZE = 32
SAMPLE_SEED = 0
#: Confidence of the bootstrap interval reported with a resolved quantile.
INTERVAL_CONFIDENCE = 0.9

#: Seconds the descent to the fastest architecture may take (each step profiles one network).
_FASTEST_TIME_LIMIT_S = 90.0


@dataclass(frozen=True)
class ResolvedBudget:
    """A relative limit and the absolute value it resolved to on this device.

    Attributes:
        metric: The budget metric ("latency_ms" or "peak_memory_mb").
        spec: The relative limit as written (normalised), e.g. "p30".
        value: The absolute limit, in ``unit``.
        unit: The metric's unit.
        device: Where it was resolved, e.g. "this CPU".
        detail: How it was resolved, for logs and tooltips.
        reference: The reference architecture in the space's notation (the fastest one for
            "Fx fastest"), or None for a quantile.
        interval: For a quantile, the `INTERVAL_CONFIDENCE` bootstrap interval of the percentile over the
            sample (low, high), in ``unit``: how far another sample of the space could move it.
    """

    metric: str
    spec: str
    value: float
    unit: str
    device: str
    detail: str
    reference: str | None = None
    interval: tuple[float, float] | None = None

    @property
    def note(self) -> str:
        """``"p30 on this CPU"``: the relative form, for the budget line of a plot."""
        return f"{self.spec} on {self.device}"

    @property
    def met_when_resolved(self) -> bool:
        """Whether resolving it profiled an architecture of the space within it: any percentile of a
        sample lies at or above the sample's least value, and a factor of at least 1 of a reference
        network holds that network. Such a limit needs no check that the space meets it: checking it
        again would compare two timings of the same networks (a tiny space's p50 resolved to 0.137 ms,
        the check then confirmed its fastest network at 0.1405 ms, and the search was refused)."""
        relative = parse_relative_budget(f"budget.{self.metric}", self.spec)
        return relative.quantile is not None or (relative.factor or 0.0) >= 1.0

    def label(self) -> str:
        """``"0.42 ms (p30 on this CPU)"``: the absolute value with its unit and relative form."""
        return f"{self.value:.3g} {self.unit} ({self.note})"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the study's user attributes."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResolvedBudget:
        """Read back what `to_dict` stored."""
        fields = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        if fields.get("interval") is not None:
            fields["interval"] = tuple(fields["interval"])
        return cls(**fields)


def device_phrase(device: str) -> str:
    """``"this CPU"``, ``"this GPU (cuda:1)"``: where a relative limit was resolved, in words."""
    kind = device.partition(":")[0]
    if kind == "cpu":
        return "this CPU"
    return f"this GPU ({device})"


def percentile_interval(values: list[float], q: float) -> tuple[float, float]:
    """The `INTERVAL_CONFIDENCE` bootstrap interval (percentile method, fixed seed) of the ``q``-th
    percentile of ``values``; the value itself twice when all values are equal or there is only one."""
    from scipy.stats import bootstrap  # slow to import, and needed only here

    if len(values) < 2 or min(values) == max(values):
        return (float(values[0]), float(values[0]))
    result = bootstrap(
        (np.asarray(values),),
        lambda x, axis: np.percentile(x, q, axis=axis),
        confidence_level=INTERVAL_CONFIDENCE,
        method="percentile",
        random_state=SAMPLE_SEED,
    )
    return (float(result.confidence_interval.low), float(result.confidence_interval.high))


def resolve_budget(
    space: SearchSpace,
    metric: str,
    text: str,
    value: Callable[[ArchSpec], float],
    *,
    device: str = "cpu",
    where: str | None = None,
    fixed_choices: Mapping[str, Any] | None = None,
    sample_size: int = SAMPLE_SIZE,
) -> ResolvedBudget:
    """Resolve the relative limit ``text`` of ``metric`` to an absolute value on this device (or on the
    target device whose predictions ``value`` gives).

    Args:
        space: The search space.
        metric: "latency_ms" or "peak_memory_mb".
        text: The relative limit (`nas_workbench.relative_budget` grammar).
        value: Architecture → the metric as the search records it (see `architecture_value`).
        device: The device the values come from, for the label.
        where: Where the values come from in words, when not from this machine's ``device`` (a target
            device's profile: ``"pixel3 (predicted)"``).
        fixed_choices: Decisions fixed for the whole search, kept in every architecture profiled.
        sample_size: Random architectures drawn to resolve a quantile (fewer when the space is small).
    """
    relative = parse_relative_budget(f"budget.{metric}", text)
    unit, where = METRICS[metric].unit, where or device_phrase(device)
    fixed = dict(fixed_choices or {})
    reference: str | None = None
    interval: tuple[float, float] | None = None
    if relative.quantile is not None:
        rng = random.Random(SAMPLE_SEED)
        sample = {}
        for _ in range(sample_size):
            spec, _asked = complete_choices(space, {**space.random(rng).choices, **fixed})
            sample[spec.id] = spec
        values = [value(spec) for spec in sample.values()]
        limit = float(np.percentile(values, relative.quantile))
        interval = percentile_interval(values, relative.quantile)
        detail = (
            f"percentile {relative.quantile:g} of {len(values)} random architectures (seed {SAMPLE_SEED}): "
            f"{min(values):.4g}-{max(values):.4g} {unit}; {100 * INTERVAL_CONFIDENCE:g}% bootstrap interval "
            f"{interval[0]:.4g}-{interval[1]:.4g} {unit}"
        )
    else:
        assert relative.factor is not None  # the grammar has quantiles and factors only
        if relative.reference is None:
            spec, _found, _converged = smallest(
                space, value, fixed_choices=fixed, time_limit_s=_FASTEST_TIME_LIMIT_S
            )
            base = value(spec)  # profiled again: the descent kept the luckiest of noisy values
            what = "the fastest architecture found"
        else:
            spec = space.parse(relative.reference)
            base = value(spec)
            what = "the reference architecture"
        reference = space.format(spec)
        limit = relative.factor * base
        detail = f"{relative.factor:g} x {base:.4g} {unit}, {what} ({reference})"
    resolved = ResolvedBudget(metric, relative.text, limit, unit, where, detail, reference, interval)
    logger.info("budget.%s %r resolved to %s: %s", metric, relative.text, resolved.label(), detail)
    return resolved
