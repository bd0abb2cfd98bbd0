"""The correction from lookup-table sums to network latency, fitted so that it cannot degenerate.

A network's predicted latency is ``scale * other_ms + compute_scale * compute_ms + per_op_ms * operators
+ offset_ms``, times the drift factor of the moment (`Drift`), where ``compute_ms`` is the table sum of
its compute-bound operators (convolutions and matrix products: those `torch.utils.flop_counter` counts)
and ``other_ms`` that of the rest. Four fits are tried on the calibration networks, and each is judged
out of sample, by leave-one-out (each network predicted by the fit of the others):

- ``"linear"``: one scale for all operators, a cost per operator and an offset, non-negative least squares
  on relative error;
- ``"kinds"``: the same with a scale of its own for the compute-bound operators;
- ``"scale"``: one scale alone (the table sum times a constant);
- ``"plain"``: the plain sum of the table (scale 1), the fallback that needs no fit.

Why two kinds: an operator timed alone and inside a network runs at a different speed, and not by the same
factor for every kind. Alone, it reads arguments cycled through more memory than the caches hold; inside
a network, data the previous operator just wrote, which favours the memory- and overhead-bound operators
(pooling, batch norm, additions) over convolutions. And when the machine's load changes between filling
the table and measuring (the other core busy or not), the clock and the shared caches slow the two kinds
apart. NAS-Bench-201 cells mix 3x3 convolutions with 3x3 average pooling (148 us alone for 16x32x32
against 110 us for the 3x3 convolution, on the 2-core development VM), so one scale, fitted on one mix,
over-predicted pooling-rich cells and under-predicted convolution-rich ones: on 50 held-out cells
measured at load 8-10 against a table filled quiet, the residuals' rank correlation with the number of
pools was +0.74, with the convolutions' table time -0.62; a scale per kind took the share within ±10%
from 62% (the single scale chosen before) to 90% and Spearman from 0.87 to 0.95
(benchmarks/profiling/README.md). A space whose networks hardly vary in that mix gains nothing, and the
choice below keeps a single scale.

A fit is refused when it ignores the table (a scale below `MIN_SCALE`, or the table terms under half of
the prediction: on a busy machine a calibration once fitted ``0.0003 x table + 0.038 ms x operators``,
Spearman 0.57) or when its leave-one-out error is larger than the plain sum's. Of those left (the plain
sum always is), the simplest whose mean leave-one-out error is within one standard error of the best is
used (the one-standard-error rule): with 20 calibration networks a richer fit must predict clearly better,
not by a margin of noise (on nb201 cells measured at load 15, where a network's rounds differed by 41% in
the median, the scale per kind won leave-one-out by 0.5 points and then did worse on held-out networks
than one scale, 50% against 62% within ±10%). A fit is tried only on at least two networks more than
it has coefficients (`FIT_COEFFICIENTS`), as an automatic calibration has few. A refusal is logged. The
quality of the chosen fit (Spearman, share within ±10%, median error, in sample and out of sample) is kept
with the correction in the table file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nas_workbench.exceptions import ProfilingError

__all__ = ["MIN_SCALE", "Correction", "Drift", "FitQuality", "fit_quality"]

logger = logging.getLogger("nas_workbench")

#: A fitted scale below this is "near zero": the fit ignores the table (fitted scales are about 1.0-1.15).
MIN_SCALE = 0.2
#: The least share of a prediction the table term must make up (median over the calibration networks).
MIN_TABLE_SHARE = 0.5


@dataclass(frozen=True)
class FitQuality:
    """How well predictions reproduce measured latencies."""

    networks: int
    spearman: float
    within_10pct: float
    median_abs_error_pct: float

    def __str__(self) -> str:
        return (
            f"{self.networks} networks, Spearman {self.spearman:.3f}, "
            f"{100 * self.within_10pct:.0f}% within ±10%, median error {self.median_abs_error_pct:.1f}%"
        )


def fit_quality(
    predicted: Sequence[float] | np.ndarray, measured: Sequence[float] | np.ndarray
) -> FitQuality:
    """Rank correlation and relative error of ``predicted`` against ``measured`` latencies."""
    from scipy.stats import spearmanr

    pred, meas = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    error = np.abs(pred - meas) / meas
    rho = float(spearmanr(pred, meas).statistic) if len(meas) > 2 else float("nan")
    return FitQuality(len(meas), rho, float(np.mean(error <= 0.10)), float(100 * np.median(error)))


#: (scale, compute_scale, per_op_ms, offset_ms)
Coefficients = tuple[float, float, float, float]
#: A fitter: (other_ms, compute_ms, operators, measured_ms) -> coefficients.
_Fitter = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], Coefficients]


def _nnls_relative(columns: list[np.ndarray], measured: np.ndarray) -> list[float]:
    """Non-negative least squares of ``sum(c_i * column_i)`` against ``measured``, on relative error."""
    from scipy.optimize import nnls

    design = np.column_stack(columns) / measured[:, None]
    coef, _ = nnls(design, np.ones_like(measured))
    return [float(c) for c in coef]


def _fit_linear(
    other: np.ndarray, compute: np.ndarray, ops: np.ndarray, measured: np.ndarray
) -> Coefficients:
    scale, per_op, offset = _nnls_relative([other + compute, ops, np.ones_like(measured)], measured)
    return scale, scale, per_op, offset


def _fit_kinds(other: np.ndarray, compute: np.ndarray, ops: np.ndarray, measured: np.ndarray) -> Coefficients:
    scale, compute_scale, per_op, offset = _nnls_relative(
        [other, compute, ops, np.ones_like(measured)], measured
    )
    return scale, compute_scale, per_op, offset


def _fit_scale(other: np.ndarray, compute: np.ndarray, ops: np.ndarray, measured: np.ndarray) -> Coefficients:
    ratio = (other + compute) / measured  # least squares of scale * ratio against 1
    scale = float(ratio.sum() / max(float((ratio**2).sum()), 1e-300))
    return scale, scale, 0.0, 0.0


def _fit_plain(other: np.ndarray, compute: np.ndarray, ops: np.ndarray, measured: np.ndarray) -> Coefficients:
    return 1.0, 1.0, 0.0, 0.0


#: The fits, simplest first.
FITS: dict[str, _Fitter] = {
    "plain": _fit_plain,
    "scale": _fit_scale,
    "linear": _fit_linear,
    "kinds": _fit_kinds,
}
#: Coefficients each fit chooses: it is tried only on at least two networks more, so that every fit of
#: leave-one-out is determined by more networks than it has coefficients.
FIT_COEFFICIENTS = {"plain": 0, "scale": 1, "linear": 3, "kinds": 4}


def _table_terms(coef: Coefficients, other: np.ndarray, compute: np.ndarray) -> np.ndarray:
    return coef[0] * other + coef[1] * compute


def _predict(coef: Coefficients, other: np.ndarray, compute: np.ndarray, ops: np.ndarray) -> np.ndarray:
    return _table_terms(coef, other, compute) + coef[2] * ops + coef[3]


def _leave_one_out(
    fitter: _Fitter, other: np.ndarray, compute: np.ndarray, ops: np.ndarray, measured: np.ndarray
) -> np.ndarray:
    """Each network's prediction by the fit of all the others."""
    keep = np.ones(len(measured), dtype=bool)
    out = np.empty(len(measured))
    for i in range(len(measured)):
        keep[i] = False
        coef = fitter(other[keep], compute[keep], ops[keep], measured[keep])
        out[i] = _predict(coef, other[i : i + 1], compute[i : i + 1], ops[i : i + 1])[0]
        keep[i] = True
    return out


def _refusal(
    coef: Coefficients,
    other: np.ndarray,
    compute: np.ndarray,
    ops: np.ndarray,
    loo_error: float,
    plain: float,
) -> str:
    """Why a fit is refused, or "" when it is acceptable."""
    scales = [("scale", coef[0])] + ([("compute scale", coef[1])] if compute.any() else [])
    for label, value in scales:
        if value < MIN_SCALE:
            return f"it ignores the table ({label} {value:.4f} < {MIN_SCALE})"
    predicted = np.maximum(_predict(coef, other, compute, ops), 1e-300)
    share = float(np.median(_table_terms(coef, other, compute) / predicted))
    if share < MIN_TABLE_SHARE:
        return f"the table makes up only {100 * share:.0f}% of its predictions"
    if loo_error > plain:
        return f"it predicts worse than the plain sum out of sample ({loo_error:.1f}% > {plain:.1f}% error)"
    return ""


def _simplest_within_one_standard_error(kinds: list[str], relative: dict[str, np.ndarray]) -> str:
    """The simplest of ``kinds`` (listed simplest first) whose mean leave-one-out error is within one
    standard error of the best one's (the one-standard-error rule of cross-validation): a richer fit has to
    predict clearly better, not by a noise-sized margin found on 20 networks."""
    best = min(kinds, key=lambda k: float(np.mean(relative[k])))
    spread = relative[best]
    bound = float(np.mean(spread) + np.std(spread, ddof=1) / np.sqrt(len(spread)))
    return next(k for k in kinds if float(np.mean(relative[k])) <= bound)


@dataclass(frozen=True)
class Correction:
    """``predicted_ms = scale * other_ms + compute_scale * compute_ms + per_op_ms * operators + offset_ms``
    (``compute_ms`` the table sum of the compute-bound operators, ``other_ms`` the rest), with fit statistics.

    Attributes:
        compute_scale: The compute-bound operators' own scale (the "kinds" fit); None: ``scale`` for all.
        kind: Which fit this is: "linear", "kinds", "scale", "plain" (see the module docstring), "none" for
            the identity of an uncalibrated table, "given" when made by hand.
        note: Why a richer fit was refused, if one was.
        quality: The fit's quality: ``spearman``, ``within_10pct``, ``median_error_pct`` in sample and
            ``loo_*`` out of sample (leave-one-out), ``plain_loo_median_error_pct`` for comparison, and
            ``loo_mean_error_pct`` of every fit tried (``<kind>_loo_mean_error_pct``), by which it was chosen.
    """

    scale: float = 1.0
    per_op_ms: float = 0.0
    offset_ms: float = 0.0
    samples: int = 0
    kind: str = "given"
    note: str = ""
    quality: Mapping[str, float] = field(default_factory=dict)
    compute_scale: float | None = None

    def apply(self, table_ms: float, operators: int, compute_ms: float = 0.0) -> float:
        """The corrected latency of a network whose table sum is ``table_ms``, ``compute_ms`` of it from
        compute-bound operators, with ``operators`` operators."""
        compute_scale = self.scale if self.compute_scale is None else self.compute_scale
        other = table_ms - compute_ms
        return self.scale * other + compute_scale * compute_ms + self.per_op_ms * operators + self.offset_ms

    def predict(
        self, table_ms: float, operators: int, compute_ms: float, drift: Drift | None
    ) -> tuple[float, float]:
        """A network's predicted latency (`apply`, times ``drift``'s factor at that latency, `Drift.at`; 1
        without a drift) and the factor."""
        corrected = self.apply(table_ms, operators, compute_ms)
        factor = drift.at(corrected) if drift is not None else 1.0
        return factor * corrected, factor

    @classmethod
    def fit(
        cls,
        table_ms: Sequence[float],
        operators: Sequence[int],
        measured_ms: Sequence[float],
        name: str = "",
        compute_ms: Sequence[float] | None = None,
    ) -> Correction:
        """The best acceptable fit of ``measured_ms`` from table sums (``compute_ms`` of them from
        compute-bound operators, when known: then the "kinds" fit is tried too) and operator counts (see the
        module docstring), logging any refusal; ``name`` labels the log lines."""
        measured = np.asarray(measured_ms, dtype=float)
        if len(measured) < 3:
            raise ProfilingError(
                f"fitting a correction needs at least 3 measured networks, got {len(measured)}"
            )
        table, ops = np.asarray(table_ms, dtype=float), np.asarray(operators, dtype=float)
        compute = np.zeros_like(table) if compute_ms is None else np.asarray(compute_ms, dtype=float)
        other = table - compute
        both = compute.any() and other.any()  # a scale per kind needs both kinds in the networks
        kinds = [k for k in FITS if len(measured) >= FIT_COEFFICIENTS[k] + 2 and (k != "kinds" or both)]
        loo = {k: _leave_one_out(FITS[k], other, compute, ops, measured) for k in kinds}
        relative = {k: 100 * np.abs(p - measured) / measured for k, p in loo.items()}
        errors = {k: float(np.mean(e)) for k, e in relative.items()}
        acceptable, notes = ["plain"], []
        for kind in kinds[1:]:
            coef = FITS[kind](other, compute, ops, measured)
            reason = _refusal(coef, other, compute, ops, errors[kind], errors["plain"])
            if reason:
                notes.append(f"{kind} fit refused: {reason}")
                logger.warning("lookup-table correction %s: the %s fit is refused: %s", name, kind, reason)
            else:
                acceptable.append(kind)
        chosen = _simplest_within_one_standard_error(acceptable, relative)
        logger.info("lookup-table correction %s: using the %s fit", name, chosen)
        coef = FITS[chosen](other, compute, ops, measured)
        inside = fit_quality(_predict(coef, other, compute, ops), measured)
        outside = fit_quality(loo[chosen], measured)
        quality = {
            "spearman": inside.spearman,
            "within_10pct": inside.within_10pct,
            "median_error_pct": inside.median_abs_error_pct,
            "loo_spearman": outside.spearman,
            "loo_within_10pct": outside.within_10pct,
            "loo_median_error_pct": outside.median_abs_error_pct,
            "plain_loo_median_error_pct": fit_quality(loo["plain"], measured).median_abs_error_pct,
            **{f"{k}_loo_mean_error_pct": e for k, e in errors.items()},
        }
        scale, compute_scale, per_op, offset = coef
        return cls(
            scale,
            per_op,
            offset,
            samples=len(measured),
            kind=chosen,
            note="; ".join(notes),
            quality=quality,
            compute_scale=compute_scale if chosen == "kinds" else None,
        )

    def formula(self) -> str:
        """The correction as a formula, for printing: ``ms = 1.100 x table + 2.50 us x ops + 0.010``, or with
        a scale per kind ``ms = 0.950 x table (other) + 1.470 x table (compute-bound) + ...``."""
        if self.compute_scale is None:
            table = f"{self.scale:.3f} x table"
        else:
            table = f"{self.scale:.3f} x table (other) + {self.compute_scale:.3f} x table (compute-bound)"
        return f"ms = {table} + {1e3 * self.per_op_ms:.2f} us x ops + {self.offset_ms:.3f}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"quality": dict(self.quality)}


@dataclass(frozen=True)
class Drift:
    """How much slower (>1) or faster (<1) than predicted the reference networks ran when last re-timed.

    Attributes:
        factor: Median over the reference networks of their latency now over their latency when the
            correction was fitted (``reference_ms``; over their prediction for a table calibrated before
            those were kept); predictions are multiplied by it.
        load_average: The 1-minute load average when they were timed.
        timed_at: When (seconds since the epoch).
        ratios: Each reference network's latency now over its baseline.
        reference_ms: The reference networks' latencies when the correction was fitted (the baseline,
            carried from one re-timing to the next).
        settled: Whether the factor was measured now: each reference's two fastest rounds agreed
            (`drift.ROUNDS_AGREE`), now and in the baseline; where not, the previous factor was kept.
        rounds: Rounds over the references it took.
        baseline_settled: Whether the baseline's rounds settled; a baseline that did not lets no re-timing
            change the factor (`drift.next_drift`).
        timing: The `TimingOptions` (as a dict) the baseline and re-timings took; a re-timing with other
            options does not compare itself with this baseline.
        slope: For a slowdown that depends on the network's size (`drift_rule`): the factor's change per
            millisecond of the network's corrected latency; 0 for one factor for all networks.
        pivot_ms: The latency at which the factor is ``factor`` when ``slope`` is not 0.
        span_ms: The smallest and largest reference baselines: the line is held flat beyond them.
        references: The seeds (``space.random(seed)``) of the reference networks, chosen at calibration to
            span the space's latencies (`drift.spanning_seeds`); empty: the first seeds of the space.
        pending_ratios: The references' ratios of a change seen once and not yet adopted: it is adopted
            when a re-timing at least `drift_rule.CONFIRM_S` later still shows it (`drift_rule`); empty:
            none pending.
        pending_at: When that change was first seen (seconds since the epoch).
    """

    factor: float = 1.0
    load_average: float | None = None
    timed_at: float = field(default_factory=time.time)
    ratios: Sequence[float] = ()
    reference_ms: Sequence[float] = ()
    settled: bool = True
    rounds: int = 0
    baseline_settled: bool = True
    timing: dict[str, Any] | None = None
    slope: float = 0.0
    pivot_ms: float | None = None
    span_ms: Sequence[float] = ()
    references: Sequence[int] = ()
    pending_ratios: Sequence[float] = ()
    pending_at: float | None = None

    def at(self, latency_ms: float) -> float:
        """The factor for a network whose corrected (undrifted) prediction is ``latency_ms``: ``factor``,
        or on a size-dependent drift the line at that latency, held within ``span_ms``."""
        if not self.slope or self.pivot_ms is None or len(self.span_ms) != 2:
            return self.factor
        low, high = self.span_ms
        return self.factor + self.slope * (min(max(latency_ms, low), high) - self.pivot_ms)

    def to_dict(self) -> dict[str, Any]:
        listed = ("ratios", "reference_ms", "span_ms", "references", "pending_ratios")
        return asdict(self) | {name: list(getattr(self, name)) for name in listed}
