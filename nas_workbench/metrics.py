"""What hardware figures are and how they are recorded: every number carries its unit, how it was
obtained and where.

This module imports neither torch nor Optuna: the config, the stored-study readers, the CLI and the server
extension read metric metadata (`METRICS`) and stored profiles without paying for the profilers that make
them (`nas_workbench.profiling`).

`Measurement.method` is one of:
- ``"measured"``: run on the device (latency timed, memory from the allocator, energy from counters);
- ``"counted"``: exact, by inspection of the network (parameters, FLOPs via torch.utils.flop_counter);
- ``"estimated"``: predicted by a proxy (lookup table, analytic model); ``source`` names which;
- ``"predicted"``: latency on another device, from a profile fitted to measurements made there
  (`targets.DeviceProfile`); ``source`` says which device and from how many measurements.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

__all__ = [
    "CHECKED_METRICS",
    "COUNTED_METRICS",
    "DEVICE_METRICS",
    "METRICS",
    "DeviceInfo",
    "Measurement",
    "MetricInfo",
    "Profile",
    "caveats",
    "limit_text",
    "metric_label",
    "readable_number",
    "unit_word",
    "value_text",
]

Method = Literal["measured", "counted", "estimated", "predicted"]

#: An Optuna study direction.
Direction = Literal["minimize", "maximize"]

#: How a search obtains latency, memory and energy: measured on the device, or predicted by the
#: calibrated lookup table ("proxy").
ProfilingMethod = Literal["measured", "proxy"]


@dataclass(frozen=True)
class MetricInfo:
    """What a hardware metric is: its unit, a label for people, and which way is better."""

    unit: str
    label: str
    direction: Direction = "minimize"


#: The hardware metrics a `Profile` can hold, cheapest to obtain first (the order budgets are checked in).
METRICS: Mapping[str, MetricInfo] = {
    "params": MetricInfo("count", "Parameters"),
    "flops": MetricInfo("FLOPs", "FLOPs (multiply-add = 2)"),
    "macs": MetricInfo("MACs", "Multiply-accumulates"),
    "latency_ms": MetricInfo("ms", "Latency"),
    "peak_memory_mb": MetricInfo("MB", "Peak memory"),
    "energy_mj": MetricInfo("mJ", "Energy per inference"),
}

#: Budget metrics decided by the architecture alone.
COUNTED_METRICS = ("params", "flops", "macs")

#: The units of counted figures: whole numbers (`value_text`).
_COUNTED_UNITS = frozenset(METRICS[metric].unit for metric in COUNTED_METRICS)

#: Budget metrics that depend on the device: checked on profiled values, each costing a measurement.
DEVICE_METRICS = ("latency_ms", "peak_memory_mb")

#: Every budget metric checked before a search (an unreachable limit is refused), cheapest first.
CHECKED_METRICS = (*COUNTED_METRICS, *DEVICE_METRICS)


@dataclass(frozen=True)
class DeviceInfo:
    """A fingerprint of where a measurement was made; measurements from different fingerprints differ."""

    device: str
    name: str
    torch_version: str
    threads: int
    cores: int | None = None
    driver: str | None = None

    @property
    def key(self) -> str:
        """A compact string that changes whenever the hardware or software that measures changes."""
        parts = [self.device, self.name, f"torch{self.torch_version}", f"t{self.threads}"]
        if self.cores is not None:
            parts.append(f"c{self.cores}")
        if self.driver:
            parts.append(f"drv{self.driver}")
        return "|".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceInfo:
        """Rebuild a fingerprint from `to_dict` output (as stored with trials and lookup tables)."""
        return cls(
            device=data["device"],
            name=data["name"],
            torch_version=data["torch_version"],
            threads=int(data["threads"]),
            cores=data.get("cores"),
            driver=data.get("driver"),
        )


def caveats(detail: Mapping[str, Any] | None) -> list[str]:
    """What a figure's ``detail`` says to distrust about it, as words to show next to it: "unstable" (a
    measurement whose independent estimates disagreed, `latency`), "uncalibrated" (a lookup-table
    prediction without a fitted correction, `lut`)."""
    detail = detail or {}
    marks = []
    if detail.get("stable") is False:
        marks.append("unstable")
    if detail.get("calibrated") is False:
        marks.append("uncalibrated")
    return marks


@dataclass(frozen=True)
class Measurement:
    """One hardware figure.

    Attributes:
        value: The number, in ``unit``.
        unit: "ms", "MB", "mJ", "FLOPs", "MACs" or "count".
        method: "measured", "counted", "estimated" or "predicted" (see the module docstring).
        source: What produced it, e.g. "torch.utils.flop_counter", "cpu timer", "lookup table", "rapl".
        detail: Supporting figures (p90, spread, repeats, batch size, breakdowns, notes).
    """

    value: float
    unit: str
    method: Method
    source: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "unit": self.unit,
            "method": self.method,
            "source": self.source,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        return cls(
            value=float(data["value"]),
            unit=data["unit"],
            method=data["method"],
            source=data["source"],
            detail=dict(data.get("detail", {})),
        )

    def with_note(self, note: str) -> Measurement:
        """This figure with ``note`` in its detail (why it is an estimate where a measurement was asked)."""
        return replace(self, detail={**self.detail, "note": note})

    @property
    def caveats(self) -> list[str]:
        """What to distrust about this figure: "unstable", "uncalibrated" (see `caveats`)."""
        return caveats(self.detail)

    def __str__(self) -> str:
        """``"0.412 ms (measured, cpu thread time)"``, ``"5,450 parameters (counted, ...)"`` (a count in full,
        as the plots' tooltips write it, named as the Pareto table names it: `unit_word`; "5,450 count" read
        as a count of nothing in particular, tutorial 02 in JupyterLab), and the note that qualifies it, if
        any (a busy machine, an unstable timing)."""
        text = f"{value_text(self.value, self.unit)} {unit_word(self.unit)} ({self.method}, {self.source})"
        note = self.detail.get("note")
        return f"{text}: {note}" if note else text

    def __repr__(self) -> str:
        # the detail (dozens of supporting figures for a timed latency) by its keys only: `.detail` has it
        return (
            f"Measurement(value={self.value!r}, unit={self.unit!r}, method={self.method!r}, "
            f"source={self.source!r}, detail={{{len(self.detail)} keys}})"
        )


@dataclass(frozen=True)
class Profile:
    """The hardware figures of one network on one device, by metric name (see `METRICS`)."""

    measurements: Mapping[str, Measurement]
    device: DeviceInfo
    batch_size: int = 1

    def __getitem__(self, metric: str) -> Measurement:
        return self.measurements[metric]

    def __iter__(self) -> Iterator[str]:
        return iter(self.measurements)

    def __contains__(self, metric: object) -> bool:
        return metric in self.measurements

    def __repr__(self) -> str:
        figures = "; ".join(f"{name} {measurement}" for name, measurement in self.measurements.items())
        return f"Profile({self.device.name}, batch {self.batch_size}: {figures})"

    def _repr_html_(self) -> str:
        """The figures as a table in a notebook cell, a row a metric: its value and unit, how it was
        obtained, and what to distrust about it (the note of an unstable timing, a busy machine, an
        estimate where a measurement was asked), in a column of its own only when a figure has one.

        Cells are aligned explicitly: JupyterLab right-aligns table cells, which left the sentences of
        method, source and note ragged against the numbers (seen in Chromium, 2026-12-05)."""
        notes = any(m.detail.get("note") for m in self.measurements.values())
        head = ["Metric", "Value", "How it was obtained"] + (["Note"] if notes else [])
        rows = [
            [metric_label(name), _figure_value(m), f"{m.method}, {m.source}"]
            + ([str(m.detail.get("note", ""))] if notes else [])
            for name, m in self.measurements.items()
        ]
        return (
            f"<p>{html.escape(self.device.name)} ({html.escape(self.device.device)}), batch {self.batch_size}"
            f'</p><table class="nas-profile">{_table_row(head, "th")}'
            f"{''.join(_table_row(row, 'td') for row in rows)}</table>"
        )

    def values(self) -> dict[str, float]:
        """Just the numbers, by metric name."""
        return {name: m.value for name, m in self.measurements.items()}

    def __getattr__(self, metric: str) -> float:
        # prof.latency_ms etc. read the value, as in DESIGN.md's public API.
        measurements = self.__dict__.get("measurements", {})
        if metric in measurements:
            return measurements[metric].value
        raise AttributeError(metric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "device": self.device.to_dict(),
            "metrics": {name: m.to_dict() for name, m in self.measurements.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Rebuild a profile from `to_dict` output."""
        return cls(
            measurements={name: Measurement.from_dict(m) for name, m in data["metrics"].items()},
            device=DeviceInfo.from_dict(data["device"]),
            batch_size=int(data.get("batch_size", 1)),
        )


#: Suffixes of large counts, as people write them: 150k, 3.4M, 1.5G.
_SUFFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def readable_number(value: float, digits: int = 3) -> str:
    """``0.42``, ``2``, ``1,200``, ``150k``, ``3.4M``, ``1.5G``: a number as people write it, in ``digits``
    significant digits (never e-notation: the form's sliders read "1.20e+3" for 1,200 parameters). From
    100 to 10,000 it is rounded to a whole number, with thousands separators; from there, a suffix."""
    for factor, suffix in _SUFFIXES:
        if abs(value) >= factor * 10 or (abs(value) >= factor and factor >= 1e6):
            return f"{value / factor:.{digits}g}{suffix}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def value_text(value: float, unit: str | None) -> str:
    """``value`` in four significant digits; a count in full with thousands separators below a million,
    in millions or billions above ("19,190", "415.7M": tutorial 01's Pareto table read "1.919e+04 count"
    and "4.157e+05 FLOPs"). How a figure's number reads in tooltips, tables and `Measurement`'s text."""
    if unit in _COUNTED_UNITS:
        return f"{value:,.0f}" if abs(value) < 1e6 else readable_number(value, 4)
    return f"{value:.4g}"


def _figure_value(measurement: Measurement) -> str:
    """``"0.412 ms"``, ``"2,970"`` (a count's unit is the metric's name): a figure's number and unit."""
    number = value_text(measurement.value, measurement.unit)
    return number if measurement.unit == "count" else f"{number} {measurement.unit}"


def _table_row(cells: Sequence[str], tag: str) -> str:
    """One row of `Profile`'s table: the value (second) column right-aligned on one line, the others left."""
    align = ["right;white-space:nowrap" if i == 1 else "left" for i in range(len(cells))]
    styled = (
        f'<{tag} style="text-align:{a}">{html.escape(c)}</{tag}>' for a, c in zip(align, cells, strict=True)
    )
    return f"<tr>{''.join(styled)}</tr>"


def unit_word(unit: str) -> str:
    """A unit as a reader names it: parameters are counted, so their unit "count" reads "parameters"."""
    return "parameters" if unit == "count" else unit


def metric_label(metric: str) -> str:
    """``"Latency (ms)"``, ``"Validation accuracy"``: a metric's name for people, with its unit once (FLOPs'
    label names its unit already: "FLOPs (multiply-add = 2)", not "... (FLOPs)"), as the plots' axes and
    the form's lists of metrics write it; an unknown metric keeps its key."""
    if metric == "accuracy":
        return "Validation accuracy"
    if metric == "test_accuracy":
        return "Test accuracy"
    info = METRICS.get(metric)
    if info is None:
        return metric
    if info.unit == "count" or info.label.startswith(info.unit):  # "Parameters", not "Parameters (count)"
        return info.label
    return f"{info.label} ({info.unit})"


def limit_text(metric: str, limit: float, note: str | None = None) -> str:
    """``"0.42 ms (p30 on this CPU)"``, ``"150k parameters"``: a limit with its unit (a count is named by
    what it counts) and, for a limit given relative to the device, its relative form."""
    unit = "" if metric not in METRICS else unit_word(METRICS[metric].unit)
    return f"{readable_number(limit)}{f' {unit}' if unit else ''}{f' ({note})' if note else ''}"
