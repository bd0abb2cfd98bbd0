"""Axis ranges that one bad measurement cannot stretch: robust limits, log scales, outliers at the edge.

A single 83 ms timing among 0.4-1.6 ms ones made a latency axis span 0-80 ms and crammed every other
point against it. Here a hardware axis is fitted to the bulk of its values instead: a value is an
outlier when it lies further from the median than `OUTLIER_SPREADS` robust spreads (1.4826 x the median
absolute deviation, the standard deviation's robust stand-in), computed on log10 values for positive
metrics, since hardware figures vary by factors, not by amounts; the spread has a floor (a factor of
`MIN_SPREAD_FACTOR`), so a tight cluster never turns its neighbours into outliers. The axis covers the
other values (and the budget line); the outliers are drawn at its edge as arrows with their true value
in the tooltip. An axis whose values span `LOG_DECADES` decades or more is drawn on a log scale.

The median and its deviation break down only when half the values are outliers, so a few wild points in
a handful of trials are caught (unlike quartile fences, which a third of three points already moves).

Axes Bokeh ranges by itself (scores, trial numbers, times) get a span for the while they hold one value
(`span_one_value`): its default, 2 units around it, suits none of them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bokeh.models import DataRange1d

__all__ = [
    "LOG_DECADES",
    "MIN_SPREAD_FACTOR",
    "ONE_VALUE_SPANS",
    "OUTLIER_SPREADS",
    "AxisFit",
    "edge_columns",
    "fit_axis",
    "span_one_value",
]

#: How many robust spreads from the median a value may lie before it is an outlier.
OUTLIER_SPREADS = 5.0

#: The smallest spread assumed, as a factor (positive metrics) or a fraction of the median (others).
MIN_SPREAD_FACTOR = 1.25

#: Values spanning this many decades or more get a log axis.
LOG_DECADES = 2.0

#: Margin added on both sides of the fitted range, as a fraction of its width.
_PAD = 0.06

#: The span of an automatic axis while every value on it is the same, by the column it draws. Bokeh's
#: default, 2, drew an accuracy of 0.033 (30 classes at chance) on an axis from -1 to 1 ticked at -0.5
#: (score: 0.05 either side), a first trial's finishing time with microsecond ticks (time, in ms: a minute
#: around it) and trial 0 alone from -1 to 1, ticked -1, 0, 1, as if trials had negative numbers (number:
#: half a trial either side, ticked 0 alone). Seen in the workbench in JupyterLab in Chromium, 2026-12-06.
ONE_VALUE_SPANS: dict[str, float] = {
    "accuracy": 0.1,
    "test_accuracy": 0.1,
    "number": 1.0,
    "finished": 60_000.0,
}


@dataclass(frozen=True)
class AxisFit:
    """A fitted axis: its scale, its range, and which values fall outside it.

    Attributes:
        log: Whether the axis is logarithmic.
        start: Lower end of the axis (in data units).
        end: Upper end of the axis (in data units).
        low: Indexes of the values below ``start`` (outliers drawn at the lower edge).
        high: Indexes of the values above ``end`` (outliers drawn at the upper edge).
    """

    log: bool
    start: float
    end: float
    low: tuple[int, ...] = field(default=())
    high: tuple[int, ...] = field(default=())

    @property
    def outliers(self) -> tuple[int, ...]:
        """Indexes of every value outside the range, lower first."""
        return (*self.low, *self.high)


def _finite(values: Iterable[Any]) -> list[tuple[int, float]]:
    found = []
    for index, value in enumerate(values):
        if isinstance(value, int | float) and math.isfinite(value):
            found.append((index, float(value)))
    return found


def fit_axis(values: Sequence[Any], include: Iterable[float] = (), log: bool | None = None) -> AxisFit | None:
    """Fit an axis to ``values`` (NaN and None are skipped): None when there is no finite value.

    Args:
        values: The values drawn on the axis, one per point.
        include: Values the range must show although they are no points (a budget line).
        log: Force a log (True) or linear (False) axis; None decides from the data (positive values that
            span `LOG_DECADES` decades or more).
    """
    points = _finite(values)
    if not points:
        return None
    positive = all(v > 0 for _, v in points)
    scale = (lambda v: math.log10(v)) if positive else (lambda v: v)
    scaled = [scale(v) for _, v in points]
    median = statistics.median(scaled)
    deviation = statistics.median(abs(s - median) for s in scaled) * 1.4826
    floor = math.log10(MIN_SPREAD_FACTOR) if positive else abs(median) * (MIN_SPREAD_FACTOR - 1) or 1.0
    reach = OUTLIER_SPREADS * max(deviation, floor)
    low = tuple(i for (i, _), s in zip(points, scaled, strict=True) if s < median - reach)
    high = tuple(i for (i, _), s in zip(points, scaled, strict=True) if s > median + reach)
    outside = {*low, *high}
    kept = [v for i, v in points if i not in outside]
    shown = kept + [v for v in include if math.isfinite(v) and (v > 0 or not positive)]
    smallest, largest = min(shown), max(shown)
    if log is None:
        log = positive and largest / smallest >= 10**LOG_DECADES
    if log and smallest > 0:
        start, end = math.log10(smallest), math.log10(largest)
        pad = (end - start) * _PAD or 0.1
        start, end = 10 ** (start - pad), 10 ** (end + pad)
    else:
        log, pad = False, (largest - smallest) * _PAD or (abs(largest) * 0.1 or 1.0)
        start, end = smallest - pad, largest + pad
    # a far value that the range shows after all (widened by ``include``, a budget) is a point, not an
    # arrow at the edge: memory of 0.01-0.3 MB under a 5 MB budget was drawn as arrows at 0 (h3)
    low = tuple(i for i in low if values[i] < start)
    high = tuple(i for i in high if values[i] > end)
    return AxisFit(log, start, end, low, high)


def span_one_value(axis: DataRange1d, column: str) -> None:
    """Give ``axis``, which Bokeh fits to the data, the span of `ONE_VALUE_SPANS` for ``column`` while it
    holds a single value (one trial, equal scores); an axis of another column keeps Bokeh's default."""
    if column in ONE_VALUE_SPANS:
        axis.default_span = ONE_VALUE_SPANS[column]


def edge_columns(
    fit: AxisFit | None, values: Sequence[Any], rows: Mapping[str, Any], copy: Sequence[str]
) -> dict[str, list[Any]]:
    """Columns of a source that draws ``fit``'s outliers as arrows at the axis edge.

    Args:
        fit: The axis (None: no outliers).
        values: The axis values the fit was made on, one per row of ``rows``.
        rows: The plotted columns (a trials source's data).
        copy: Columns of ``rows`` the arrows keep (their y value, colour, tooltip fields).

    Returns:
        ``edge`` (where the arrow sits), ``angle`` (pointing out of the plot), ``value`` (the true value)
        and the ``copy`` columns, one row per outlier.
    """
    columns: dict[str, list[Any]] = {"edge": [], "angle": [], "value": [], **{name: [] for name in copy}}
    if fit is None:
        return columns
    start, end = (math.log10(fit.start), math.log10(fit.end)) if fit.log else (fit.start, fit.end)
    inset = (end - start) * _PAD / 3  # inside the axis, so the whole arrow shows
    for side, indexes in (("low", fit.low), ("high", fit.high)):
        edge = start + inset if side == "low" else end - inset
        for index in indexes:
            columns["edge"].append(10**edge if fit.log else edge)
            columns["angle"].append(math.pi / 2 if side == "low" else -math.pi / 2)
            columns["value"].append(values[index])
            for name in copy:
                columns[name].append(rows[name][index])
    return columns
