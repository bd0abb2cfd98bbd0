"""The correction from lookup-table sums to network latency, fitted so that it cannot degenerate.

A network's predicted latency is ``scale * table_sum + per_op_ms * operators + offset_ms``, times the
drift factor of the moment (`Drift`). Three fits are tried on the calibration networks, and each is judged
out of sample, by leave-one-out (each network predicted by the fit of the others):

- ``"linear"``: all three coefficients, non-negative least squares on relative error;
- ``"scale"``: the scale alone (the table sum times a constant);
- ``"plain"``: the plain sum of the table (scale 1), the fallback that needs no fit.

A fit is refused when it ignores the table (a scale below `MIN_SCALE`, or the table term under half of
the prediction: on a busy machine a calibration once fitted ``0.0003 x table + 0.038 ms x operators``,
Spearman 0.57) or when its leave-one-out error is larger than the plain sum's; of those left, the one with
the smallest leave-one-out error is used, and the plain sum when none is left. A refusal is logged. The
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


Coefficients = tuple[float, float, float]
_Fitter = Callable[[np.ndarray, np.ndarray, np.ndarray], Coefficients]


def _fit_linear(table: np.ndarray, ops: np.ndarray, measured: np.ndarray) -> Coefficients:
    from scipy.optimize import nnls

    design = np.column_stack([table, ops, np.ones_like(measured)]) / measured[:, None]
    coef, _ = nnls(design, np.ones_like(measured))
    return float(coef[0]), float(coef[1]), float(coef[2])


def _fit_scale(table: np.ndarray, ops: np.ndarray, measured: np.ndarray) -> Coefficients:
    ratio = table / measured  # least squares of scale * ratio against 1
    return float(ratio.sum() / max(float((ratio**2).sum()), 1e-300)), 0.0, 0.0


def _fit_plain(table: np.ndarray, ops: np.ndarray, measured: np.ndarray) -> Coefficients:
    return 1.0, 0.0, 0.0


FITS: dict[str, _Fitter] = {"linear": _fit_linear, "scale": _fit_scale, "plain": _fit_plain}


def _predict(coef: Coefficients, table: np.ndarray, ops: np.ndarray) -> np.ndarray:
    return coef[0] * table + coef[1] * ops + coef[2]


def _leave_one_out(fitter: _Fitter, table: np.ndarray, ops: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Each network's prediction by the fit of all the others."""
    keep = np.ones(len(measured), dtype=bool)
    out = np.empty(len(measured))
    for i in range(len(measured)):
        keep[i] = False
        out[i] = _predict(fitter(table[keep], ops[keep], measured[keep]), table[i : i + 1], ops[i : i + 1])[0]
        keep[i] = True
    return out


def _refusal(coef: Coefficients, table: np.ndarray, ops: np.ndarray, loo_error: float, plain: float) -> str:
    """Why a fit is refused, or "" when it is acceptable."""
    if coef[0] < MIN_SCALE:
        return f"it ignores the table (scale {coef[0]:.4f} < {MIN_SCALE})"
    share = float(np.median(coef[0] * table / np.maximum(_predict(coef, table, ops), 1e-300)))
    if share < MIN_TABLE_SHARE:
        return f"the table makes up only {100 * share:.0f}% of its predictions"
    if loo_error > plain:
        return f"it predicts worse than the plain sum out of sample ({loo_error:.1f}% > {plain:.1f}% error)"
    return ""


@dataclass(frozen=True)
class Correction:
    """``predicted_ms = scale * table_sum_ms + per_op_ms * operators + offset_ms``, with fit statistics.

    Attributes:
        kind: Which fit this is: "linear", "scale", "plain" (see the module docstring), "none" for the
            identity of an uncalibrated table, "given" when made by hand.
        note: Why a richer fit was refused, if one was.
        quality: The fit's quality: ``spearman``, ``within_10pct``, ``median_error_pct`` in sample and
            ``loo_*`` out of sample (leave-one-out), and ``plain_loo_median_error_pct`` for comparison.
    """

    scale: float = 1.0
    per_op_ms: float = 0.0
    offset_ms: float = 0.0
    samples: int = 0
    kind: str = "given"
    note: str = ""
    quality: Mapping[str, float] = field(default_factory=dict)

    def apply(self, table_ms: float, operators: int) -> float:
        return self.scale * table_ms + self.per_op_ms * operators + self.offset_ms

    @classmethod
    def fit(
        cls,
        table_ms: Sequence[float],
        operators: Sequence[int],
        measured_ms: Sequence[float],
        name: str = "",
    ) -> Correction:
        """The best acceptable fit of ``measured_ms`` from table sums and operator counts (see the module
        docstring), logging any refusal; ``name`` labels the log lines."""
        measured = np.asarray(measured_ms, dtype=float)
        if len(measured) < 3:
            raise ProfilingError(
                f"fitting a correction needs at least 3 measured networks, got {len(measured)}"
            )
        table, ops = np.asarray(table_ms, dtype=float), np.asarray(operators, dtype=float)
        loo = {kind: _leave_one_out(fitter, table, ops, measured) for kind, fitter in FITS.items()}
        errors = {kind: float(100 * np.mean(np.abs(p - measured) / measured)) for kind, p in loo.items()}
        chosen, notes = "plain", []
        for kind in ("linear", "scale"):
            coef = FITS[kind](table, ops, measured)
            reason = _refusal(coef, table, ops, errors[kind], errors["plain"])
            if reason:
                notes.append(f"{kind} fit refused: {reason}")
                logger.warning("lookup-table correction %s: the %s fit is refused: %s", name, kind, reason)
            elif chosen == "plain" or errors[kind] < errors[chosen]:
                chosen = kind
        if chosen != "linear":
            logger.info("lookup-table correction %s: using the %s fit", name, chosen)
        coef = FITS[chosen](table, ops, measured)
        inside = fit_quality(_predict(coef, table, ops), measured)
        outside = fit_quality(loo[chosen], measured)
        quality = {
            "spearman": inside.spearman,
            "within_10pct": inside.within_10pct,
            "median_error_pct": inside.median_abs_error_pct,
            "loo_spearman": outside.spearman,
            "loo_within_10pct": outside.within_10pct,
            "loo_median_error_pct": outside.median_abs_error_pct,
            "plain_loo_median_error_pct": fit_quality(loo["plain"], measured).median_abs_error_pct,
        }
        return cls(*coef, samples=len(measured), kind=chosen, note="; ".join(notes), quality=quality)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"quality": dict(self.quality)}


@dataclass(frozen=True)
class Drift:
    """How much slower (>1) or faster (<1) than predicted the reference networks ran when last re-timed.

    Attributes:
        factor: Median over the reference networks of measured / predicted latency; predictions are
            multiplied by it.
        load_average: The 1-minute load average when they were timed.
        timed_at: When (seconds since the epoch).
        ratios: Each reference network's measured / predicted.
    """

    factor: float = 1.0
    load_average: float | None = None
    timed_at: float = field(default_factory=time.time)
    ratios: Sequence[float] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ratios": list(self.ratios)}
