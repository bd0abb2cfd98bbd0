"""A device's latency predicted from an architecture's structure: the features, the fitted model, and
`propose`, which picks the architectures worth measuring; `targets` makes them a named `DeviceProfile`.

The model (chosen by measurement on NAS-Bench-201's published latencies of 7 devices, see
benchmarks/devices/profile_quality.py):

    latency_ms = intercept + s * FLOPs + sum over (decision kind, choice) of b * count

- The architecture's counts: how many decisions of each kind (the decision name without its numbers,
  ``node3.from1`` -> ``node.from``) took each choice. They exist in every space, user-defined included,
  and carry the network's structure: a latency is a sum over the operators the choices put in.
- The prior: the network's FLOPs, counted from a shape-only trace (`_trace`) of the network built for
  the profile's input shape. It is unpenalised, so with very few measurements the fit is "latency grows
  with compute"; the count coefficients are ridge-penalised and only move as far as the data demands.
  From 5 random NAS-Bench-201 cells it raised Spearman by 0.07-0.08 on the Pixel 2, Pixel 3 and
  Raspberry Pi 4 and 0.02 on the Gold 6226, cost 0.01 on Eyeriss and the Titan RTX, and changed
  nothing from 10 or 20. This machine's lookup-table latency is not a feature of this model: on a cell
  space it is a linear function of the same counts (it adds a direction, not information), and where it
  is not (a chain space, where a choice costs differently per stage and width), it enters beside this
  model as a candidate of the evidence-weighted average (`device_local`, `device_transfer`).
- The penalty is chosen by leave-one-out (closed form for ridge) on the relative error. From
  `ROBUST_FROM` (8) measurements on, two rounds of reweighting let a measurement that its
  leave-one-out prediction misses by more than 30% count for less: on phones and the Raspberry Pi a
  cell whose output does not depend on its input is compiled away (~0 ms), and one such cell among 10
  bent the whole fit (Pixel 3 and Raspberry Pi 4 from 10 measurements: +5-7 points within ±10%).
  With 5 measurements reweighting hurt (Eyeriss: Spearman 0.93 -> 0.85), so it waits. Fitting more
  flexible models (one coefficient per decision and choice, with a second penalty) chose badly from
  10 measurements: its leave-one-out choice between penalties had more variance than it gained; fitting
  log-latency (costs that multiply) was worse on every device, most within ±10% (latencies add up).

What it misses: phone and Raspberry Pi compilers drop operators whose output never reaches the network's
output (an edge into a node with no way on to the output) and fold a network whose output does not depend
on its input; choice counts cannot see which operators survive, so there Spearman stays near 0.90 where a
model fitted on 12,000 cells reaches 0.98. Features that count only the operators on a path to the output
(a data-flow pass over the trace) would close part of that gap; in a study on the published tables they
lifted Spearman from 10 measurements to about 0.93 on the Pixel 3 and Raspberry Pi 4, but choosing
between them and the plain counts by leave-one-out cost the Pixel 2 (0.85 -> 0.76-0.81).

The uncertainty comes from the same leave-one-out predictions: the ratios measured / predicted, ranked,
give an 80% interval by split-conformal ranks (of n ratios the floor(0.1 (n+1))-th and ceil(0.9 (n+1))-th,
so from 10 measurements the extremes). Plain 10th / 90th percentiles of 10 ratios were too narrow: on
held-out NAS-Bench-201 cells (benchmarks/devices/interval_coverage.py, 10 random measurements, 3 draws)
they covered 41-98% of the cells (mostly 50-75%), the ranks 57-100% (71-99% averaged per device). The
median relative error, Spearman and share within ±10% across the measurements are kept as the profile's
quality (``nas-workbench device show``).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling.device_local import LOCAL
from nas_workbench.spec import ArchSpec

if TYPE_CHECKING:
    from nas_workbench.profiling._trace import Trace
    from nas_workbench.profiling.device_transfer import Reference

__all__ = ["MIN_MEASUREMENTS", "FeatureModel", "arch_features", "choice_counts", "loo_quality", "propose"]

#: Fewest measurements a profile is fitted from (leave-one-out needs a few left).
MIN_MEASUREMENTS = 3
#: Ridge penalties tried on the count coefficients, per measurement (features are standardised).
_PENALTIES = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
#: From this many measurements on, measurements far off the fit are down-weighted (two reweighting
#: rounds); with fewer, each carries too much of the fit to be called an outlier.
ROBUST_FROM = 8
#: Principal components of a reference table's latencies that `propose` spreads measurements over.
_COMPONENTS = 10
#: Leave-one-out relative error beyond which a measurement's weight falls (as (0.3 / error)^2).
_ROBUST_ERROR = 0.3


# -- features ------------------------------------------------------------------------------------------
def _kind(decision: str) -> str:
    """A decision's kind: its name without numbers (``stage2.block1.kernel`` -> ``stage.block.kernel``)."""
    return re.sub(r"\d+", "", decision)


def choice_counts(spec: ArchSpec) -> dict[str, float]:
    """How many decisions of each kind took each choice: ``{"node.from=nor_conv_3x3": 2.0, ...}``."""
    counts: dict[str, float] = {}
    for decision, value in spec.choices.items():
        key = f"{_kind(decision)}={value}"
        counts[key] = counts.get(key, 0.0) + 1.0
    return counts


def arch_features(
    spec: ArchSpec,
    space: Any,
    input_shape: Sequence[int],
    num_classes: int,
    prior: bool = True,
    local: Callable[[Trace], float | None] | None = None,
) -> dict[str, float]:
    """The features a profile predicts from: choice counts by decision kind and, with ``prior``, the
    network's FLOPs in millions (counted from a shape-only trace of the built network); with ``local``
    (`device_local.LocalPrior`), also what it predicts from the same trace, under `LOCAL` (absent where
    it predicts nothing)."""
    features = choice_counts(spec)
    if prior or local is not None:
        from nas_workbench.profiling._trace import trace

        model = space.build(spec, tuple(input_shape), num_classes)
        result = trace(model, tuple(input_shape))
        if prior:
            features["flops_M"] = result.flops / 1e6
        if local is not None and (value := local(result)) is not None:
            features[LOCAL] = value
    return features


# -- the model -----------------------------------------------------------------------------------------
def _ridge(
    design: np.ndarray, y: np.ndarray, penalties: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ridge coefficients (intercept first, unpenalised) and the leave-one-out predictions, in
    closed form: the LOO residual is the residual over 1 - the hat matrix's diagonal."""
    X = np.column_stack([np.ones(len(y)), design])
    weighted = X * weights[:, None]
    inverse = np.linalg.pinv(X.T @ weighted + np.diag(np.r_[0.0, penalties]))
    coef = inverse @ weighted.T @ y
    leverage = np.einsum("ij,jk,ik->i", X, inverse, weighted)
    residual = y - X @ coef
    loo = y - residual / np.maximum(1.0 - leverage, 1e-3)
    return coef, loo


def _loss(error: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean relative error of leave-one-out predictions, each capped at 100% (one outlier cannot
    rule)."""
    return float(np.sum(weights * np.minimum(error, 1.0)) / np.sum(weights))


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(spearmanr(a, b).statistic)


def loo_quality(loo: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """A profile's quality from its leave-one-out predictions ``loo`` of the measurements ``y``: median
    relative error, Spearman, the share within ±10%, the 10th / 90th percentiles of measured over
    predicted (the 80% interval every prediction carries) and all those ``ratios``, sorted (what an
    upper bound at another confidence is read from: `device_budget`)."""
    error = np.abs(loo / y - 1.0)
    ratio = np.sort(y / loo)
    n = len(
        ratio
    )  # conformal ranks: a new architecture's ratio falls below the k-th of n with odds k / (n + 1)
    return {
        "median_rel_error": float(np.median(error)),
        "spearman": _spearman(loo, y),
        "within_10pct": float(np.mean(error <= 0.10)),
        "ratio_p10": float(ratio[max(math.floor(0.1 * (n + 1)), 1) - 1]),
        "ratio_p90": float(ratio[min(math.ceil(0.9 * (n + 1)), n) - 1]),
        "ratios": [float(r) for r in ratio],
    }


@dataclass(frozen=True)
class FeatureModel:
    """``latency_ms = intercept + coef . (features / scale)``: the fitted model, and its leave-one-out
    quality (``median_rel_error``, ``spearman``, ``within_10pct``, ``ratio_p10`` / ``ratio_p90`` of
    measured over predicted, the chosen ``penalty``)."""

    columns: list[str]
    scale: list[float]
    intercept: float
    coef: list[float]
    floor_ms: float
    quality: dict[str, Any]

    @classmethod
    def fit(
        cls, rows: Sequence[Mapping[str, float]], latency_ms: Sequence[float] | np.ndarray
    ) -> FeatureModel:
        """Ridge on standardised features, FLOPs unpenalised, the penalty chosen by leave-one-out."""
        y = np.asarray(latency_ms, dtype=float)
        columns = sorted({c for row in rows for c in row}, key=lambda c: (c != "flops_M", c))
        X = np.array([[row.get(c, 0.0) for c in columns] for row in rows])
        spread = X.std(axis=0)
        keep = spread > 0
        columns = [c for c, k in zip(columns, keep, strict=True) if k]
        scale = spread[keep]
        X = X[:, keep] / scale
        free = np.array([c == "flops_M" for c in columns], dtype=bool)
        floor = 0.05 * float(y.min())
        weights = np.ones(len(y))
        for _ in range(1 + 2 * (len(y) >= ROBUST_FROM)):
            best: tuple[float, float, np.ndarray, np.ndarray] | None = None
            for penalty in _PENALTIES:
                coef, loo = _ridge(X, y, np.where(free, 0.0, penalty * len(y)), weights)
                loo = np.maximum(loo, floor)
                loss = _loss(np.abs(loo / y - 1.0), weights)
                if best is None or loss < best[0]:
                    best = (loss, penalty, coef, loo)
            assert best is not None
            _, penalty, coef, loo = best
            error = np.abs(loo / y - 1.0)  # Huber-like: beyond 30% off, a measurement counts for less
            weights = np.minimum(1.0, _ROBUST_ERROR / np.maximum(error, 1e-12)) ** 2
        quality = {**loo_quality(loo, y), "penalty": penalty}
        return cls(
            columns, [float(v) for v in scale], float(coef[0]), [float(v) for v in coef[1:]], floor, quality
        )

    def predict(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Predicted latencies (ms) of feature rows; never below 5% of the fastest measurement."""
        X = np.array([[row.get(c, 0.0) for c in self.columns] for row in rows]).reshape(len(rows), -1)
        return np.maximum(self.intercept + (X / np.array(self.scale)) @ np.array(self.coef), self.floor_ms)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- what to measure -----------------------------------------------------------------------------------
def propose(
    space: Any, n: int = 10, seed: int = 0, pool: int = 2000, reference: str | Path | Reference | None = None
) -> list[str]:
    """``n`` architectures to measure on a new device, in the space's notation: small, diverse, informative.

    From a pool of random architectures, a greedy D-optimal design over the choice counts (the features
    a profile fits): each pick maximises the determinant of the (slightly regularised) information
    matrix, so the set spans every choice and its combinations as evenly as ``n`` allows, and the
    count coefficients are as well determined as they can be. Ties go to the first drawn.

    With a ``reference`` table (`device_transfer.read_reference`) the pool is drawn from its
    architectures and the design also spans the first 10 principal components of their standardised
    latencies on the reference devices, where those devices disagree: measurements there say which of
    them the new device resembles. From 10 cells on NAS-Bench-201 (benchmarks/devices/profile_quality.py)
    that lifted Spearman on the Raspberry Pi 4 from 0.93 to 0.97 and on the Pixel 3 from 0.95 to 0.97
    against the counts-only design, and cost 3-6 points of predictions within ±10% on the Pixel 2 and the
    Raspberry Pi 4. With no more measurements than decisions + 1 the components would crowd out the
    counts (from 5 cells Spearman fell by 0.06-0.14 on the phones), so there the design is the counts'
    alone, over the table's architectures.

    An architecture whose output does not depend on its input (a cell with no path from its input to its
    output: an empty `CellSpace.signature`) is never proposed: a device's compiler may drop all of it
    (HW-NAS-Bench's Pixel 3 ran one NAS-Bench-201 cell of that kind in 0.005 ms against 1.7-35 ms for the
    others), so its latency teaches a profile nothing about the networks a search trains and, as an
    outlier, widened every interval (a proposed set with one gave "x0.00 to x1.23").
    """
    from nas_workbench import spaces
    from nas_workbench.profiling.device_transfer import read_reference

    space = spaces.get(space) if isinstance(space, str) else space
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError("n", n, "a positive number of architectures")
    rng = random.Random(seed)
    table = read_reference(reference, space) if isinstance(reference, str | Path) else reference
    if table is not None:
        rows = rng.sample(range(len(table.archs)), min(pool, len(table.archs)))
        rows = [i for i in rows if _computes(space, space.parse(table.archs[i]))]
        specs = [space.parse(table.archs[i]) for i in rows]
        extra = table.components(min(_COMPONENTS, len(table.devices)))[rows]
        extra = extra if n > len(specs[0].choices) + 1 else extra[:, :0]
    else:
        candidates: dict[str, ArchSpec] = {}
        for _ in range(pool * 3):
            spec = space.random(rng)
            if _computes(space, spec):
                candidates.setdefault(spec.id, spec)
            if len(candidates) >= pool:
                break
        specs = list(candidates.values())
        extra = np.zeros((len(specs), 0))
    counts = [choice_counts(s) for s in specs]
    columns = sorted({c for row in counts for c in row})
    X = np.column_stack([np.array([[row.get(c, 0.0) for c in columns] for row in counts]), extra])
    X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0) if table is not None else X
    X = np.column_stack([np.ones(len(X)), X - X.mean(axis=0)])
    info = 1e-3 * np.eye(X.shape[1])
    chosen: list[int] = []
    for _ in range(min(n, len(specs))):
        inverse = np.linalg.inv(info)
        gain = np.einsum("ij,jk,ik->i", X, inverse, X)  # det(M + xx') = det(M) (1 + x' M^-1 x)
        gain[chosen] = -np.inf
        pick = int(np.argmax(gain))
        chosen.append(pick)
        info += np.outer(X[pick], X[pick])
    return [space.format(specs[i]) for i in chosen]


def _computes(space: Any, spec: ArchSpec) -> bool:
    """Whether ``spec``'s output depends on its input (by the space's ``signature`` where it has one:
    empty for a cell with no path from input to output; any architecture of a space without one)."""
    signature = getattr(space, "signature", None)
    return not callable(signature) or bool(signature(spec))
