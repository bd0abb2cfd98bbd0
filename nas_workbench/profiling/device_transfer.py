"""A new device's latency predicted from other devices' published latencies of the same architectures:
the reference table, read from a CSV file, and `TransferModel`, the few-measurement fit on top of it.

HELP's idea (NeurIPS 2021): devices share how an architecture's operators cost, so the latencies of many
architectures measured on other devices are a prior for a new one, and its few measurements only have to
say which devices it resembles. Here that is Bayesian model averaging over small linear models:

- two models per reference device, ``latency = a + b * latency on that device`` and the same with the
  network's FLOPs beside it (a device like that one plus a cost of compute),
- the structure model, ``latency = a + b . (FLOPs, choice counts)`` (what a space without tables gets),
- and this machine's lookup-table latency as one more reference device (`device_local`), where asked,

each a Bayesian ridge regression (scikit-learn's `BayesianRidge`, its prior precision and noise chosen by
maximising the evidence), weighted by its evidence: the probability of the measurements under the model,
which rewards fitting them and penalises coefficients the data do not need. Measured on NAS-Bench-201's
published latencies (benchmarks/devices/profile_quality.py; the table holds 24-26 other devices, never
the target's hardware): from 10 random cells Spearman rose from 0.90 to 0.95 on the Pixel 3 and 0.94 on
the Raspberry Pi 4 (each finds the other among the references) and from 0.865 to 0.887 on the Pixel 2;
from 5 cells by 0.06 on the Pixel 2 and the Titan RTX. It cost 0.04 on Eyeriss from 5 cells and up to
0.009 on the Intel Gold 6226 and the Titan RTX, devices the structure model fits nearly exactly but whose
few measurements a GPU's latencies explain almost as well. Tried and dropped: choosing the one model with
the smallest leave-one-out error (10 measurements do not pick one device out of 26 reliably; the
evidence-weighted average hedges between the few that fit), a ridge over all reference devices at once
or over their principal components (GPUs, the majority, drown the one phone that resembles the target),
weighting by leave-one-out error instead of evidence, a larger prior probability for the structure
model (the Gold 6226 gained 0.001, the Raspberry Pi 4 lost 0.015), and, chosen as HELP chooses, on 18
reference devices that are none of the benchmark's targets (10 cells, leave-one-device-out), a ridge on
the choice counts fitted to the average's residuals or sharper weights (evidence squared): both lost there
(Spearman 0.968-0.975 against 0.976), though they lift the Pixel 3 (0.963 -> 0.968-0.970). Nor did a
Gaussian process on the average's residuals over the choices, pairs of reference devices as candidates,
a Bayesian ridge or ARD over all of them at once, or a prior counting near-identical devices (the GPUs)
once: on the Pixel 3 0.937-0.969, and the last, the only one to gain there, lost on the 18 devices
(benchmarks/devices/README.md). Nor an empirical-Bayes prior learned from the reference devices (their
principal components as the basis, the spread of their own loadings as the prior): it lifted the
Raspberry Pi 4 to 0.966 but cost the Pixel 3 (0.960, 55% within ±10%) and the Gold 6226 from proposed
cells (85%); on the Pixel 3 the ten measurements' noise, not the prior, is what limits.
Nor (6 December) multiplicative transfers ``log y = a + b log x`` as more candidates, predictions
rescaled by the median ratio measured / predicted, or prior weights per kind of candidate chosen on
the 18 non-target devices: within 0.0003 Spearman of the average there, at most Pixel 3 0.973 / 56%
and Raspberry Pi 4 0.958 on the targets.
Nor (6 December, h2) a reference device alone scaled by the median of the ratios measured / latency
there (with the weight of ``a + b * x`` or of a model through the origin), fitted by least relative
absolute error or Theil-Sen, or every candidate recalibrated: the Pixel 3 from 10 random cells at most
0.965 / 57-58%, and each costs another row (the Gold 6226 from 10 proposed cells 92% -> 89% within ±10%)
or Spearman on the 18 non-target devices; nor the live cell's counts as a structure candidate (with 24-26
reference devices it weighs nothing).

The reference devices enter smoothed (`Reference.smoothed`, for tables of 1,000 architectures and more):
each device's latencies as gradient boosting on the architectures' choices predicts them, fitted on the
whole table. That is the only prior knowledge the profile uses: the other devices' published latencies
of the space's architectures, never the target's own (the benchmarks leave every column of the target's
hardware out). A published latency carries its device's measurement noise, and ``a + b * latency there``
passes it on to every prediction; the smoothed column keeps the device's cost structure (interactions
such as which operators its compiler drops) without the noise. From 10 random NAS-Bench-201 cells (10
draws, side computation of 4 December 22:10 UTC with the product's `TransferModel`, 24-26 reference
devices) it lifted the Pixel 3 from 0.948 / 49% (Spearman / within ±10%) to 0.963 / 54%, the
Raspberry Pi 4 from 0.938 / 56% to 0.956 / 61%, the Intel Gold 6226 from 0.979 / 86% to 0.983 / 90%,
the Titan RTX from 0.969 / 92% to 0.979 / 93%, the Pixel 2 from 0.887 to 0.890; the FPGA and Eyeriss
unchanged. Offering raw and smoothed columns side by side lost 0.003 on the Pixel 3. The cost: one
boosting fit per reference device and process (about a second each on 15,625 rows), when a profile
is fitted and, for the few devices it keeps, when a loaded profile first predicts.

The uncertainty is honest about the weighting: the leave-one-out predictions that give the profile's
interval and quality refit the whole average, weights included, without the left-out measurement.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling.device_csv import read_latency_table
from nas_workbench.spec import ArchSpec

__all__ = ["SMOOTHED", "SMOOTH_FROM", "STRUCTURE", "Reference", "TransferModel", "read_reference"]

#: The name of the structure model among the averaged candidates.
STRUCTURE = "structure"
#: A reference device's name with this suffix stands for its smoothed latencies (`Reference.smoothed`).
SMOOTHED = "~smoothed"
#: Boosting rounds of the smoother (scikit-learn's default learning rate 0.1).
_SMOOTH_ROUNDS = 300
#: Tables of at least this many architectures are smoothed (`Reference.columns`): enough rows to learn
#: a device's cost from the architecture.
SMOOTH_FROM = 1000
#: Candidates whose weight falls below this are dropped from the saved model (they change no prediction).
_MIN_WEIGHT = 1e-4


@dataclass(frozen=True)
class Reference:
    """Latencies of architectures of one space on other devices: ``values[index[arch_id], j]`` is the
    latency (ms) of that architecture on ``devices[j]``; ``archs`` the rows' architectures in the space's
    notation. ``path`` and ``sha256`` identify the file; ``choices`` holds each row's architecture as
    one-hot (decision, choice) indicators, what `smoothed` fits on."""

    path: str
    sha256: str
    devices: list[str]
    index: dict[str, int]
    values: np.ndarray
    archs: list[str]
    choices: np.ndarray
    _smoothed: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def smoothed(self, device: str) -> np.ndarray:
        """``device``'s latencies of every row as a model of the architecture predicts them: gradient
        boosting on the ``choices``, fitted on the whole table (once per process and device).

        A device's published latencies carry its measurement noise, and a transfer ``a + b * latency
        there`` passes that noise on to every prediction. The table holds the latencies of many
        architectures on each reference device, enough to learn its cost as a function of the
        architecture, interactions (which operators a compiler drops, where they sit) included; a
        new device's few measurements then fit ``a`` and ``b`` on the smoothed column. On
        NAS-Bench-201, fitted on 12,000 cells, the Pixel 3 from the Raspberry Pi 4's smoothed latencies
        put 60% within ±10%, from its raw ones 54% (the module docstring has the profiles' figures).
        """
        if device not in self._smoothed:
            from sklearn.ensemble import HistGradientBoostingRegressor

            y = self.values[:, self.devices.index(device)]
            model = HistGradientBoostingRegressor(max_iter=_SMOOTH_ROUNDS, random_state=0)
            fitted = model.fit(self.choices, y).predict(self.choices)
            self._smoothed[device] = np.maximum(fitted, 0.01 * float(y.min()))
        return self._smoothed[device]

    def columns(self) -> list[str]:
        """What a profile fits on: each device's smoothed latencies, from `SMOOTH_FROM` rows on (offering
        the raw ones beside them lost 0.003 Spearman on the Pixel 3 from 10 random cells); below, the
        raw ones (boosting on 150 rows lost 0.03 Spearman against a noiseless twin device)."""
        if len(self.archs) < SMOOTH_FROM:
            return list(self.devices)
        return [d + SMOOTHED for d in self.devices]

    def components(self, k: int) -> np.ndarray:
        """The rows' first ``k`` principal components of the standardised latencies: where the reference
        devices disagree most (what `propose` spreads the measurements over)."""
        z = (self.values - self.values.mean(axis=0)) / np.maximum(self.values.std(axis=0), 1e-12)
        u, s, _ = np.linalg.svd(z, full_matrices=False)
        return u[:, :k] * s[:k]

    def rows(self, arch_ids: Sequence[str], devices: Sequence[str]) -> np.ndarray | None:
        """The latencies of ``arch_ids`` on ``devices`` (one row each; a name ending in `SMOOTHED`
        gives the device's smoothed latencies), or None if one is not in the table."""
        if any(a not in self.index for a in arch_ids):
            return None
        rows = [self.index[a] for a in arch_ids]
        out = [
            self.smoothed(d.removesuffix(SMOOTHED))[rows]
            if d.endswith(SMOOTHED)
            else self.values[rows, self.devices.index(d)]
            for d in devices
        ]
        return np.column_stack(out) if out else np.zeros((len(rows), 0))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_reference(path: str | Path, space: Any) -> Reference:
    """Other devices' latencies from a CSV file: an ``arch`` column in the space's notation and one
    column per device whose name ends in ``_ms`` (HW-NAS-Bench's and HELP's published NAS-Bench-201
    tables have this shape). Every bad cell is a `ConfigError` naming its line and column."""
    path = Path(path).expanduser().resolve()
    devices, rows = read_latency_table(
        path,
        space,
        "reference",
        lambda header: [h for h in header if h.endswith("_ms")],
        "an arch column and device columns named *_ms",
    )
    index = {row.spec.id: position for position, row in enumerate(rows)}
    values = [row.latencies for row in rows]
    archs = [space.format(row.spec) for row in rows]
    if len(values) < 2:
        raise ConfigError(
            "reference", str(path), f"latencies of at least 2 architectures, found {len(values)}"
        )
    choices = one_hot([row.spec for row in rows])
    return Reference(str(path), _digest(path), devices, index, np.array(values), archs, choices)


def one_hot(specs: Sequence[ArchSpec]) -> np.ndarray:
    """Each architecture as 0/1 indicators, one per (decision, choice) seen among ``specs`` (scikit-learn's
    `DictVectorizer` on the choices as strings)."""
    from sklearn.feature_extraction import DictVectorizer

    choices = [{d: str(v) for d, v in s.choices.items()} for s in specs]
    return np.asarray(DictVectorizer(sparse=False).fit_transform(choices))


def _bayesian_ridge(x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Log evidence, intercept and coefficients (in ``x``'s units) of a Bayesian ridge regression."""
    from sklearn.linear_model import BayesianRidge

    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = BayesianRidge(compute_score=True).fit(x / scale, y)
    return float(model.scores_[-1]), float(model.intercept_), np.asarray(model.coef_) / scale


def _candidates(columns: Sequence[str], devices: Sequence[str]) -> list[list[str]]:
    """The inputs of each averaged model: the structure model's features; each reference device alone;
    each with the FLOPs beside it (a device like that one, plus a cost of compute)."""
    flops = ["flops_M"] if "flops_M" in columns else []
    alone = [[d] for d in devices]
    structure = [list(columns)] if columns else []
    return [*structure, *alone, *([d, *flops] for d in devices if flops)]


def _design(
    rows: Sequence[Mapping[str, float]], reference: np.ndarray, devices: Sequence[str]
) -> dict[str, np.ndarray]:
    """Every input by name: the features of ``rows`` and the reference latencies of ``devices``."""
    names = sorted({c for row in rows for c in row})
    out = {c: np.array([row.get(c, 0.0) for row in rows]) for c in names}
    out.update({d: reference[:, j] for j, d in enumerate(devices)})
    return out


def _average(
    inputs: list[list[str]], design: Mapping[str, np.ndarray], y: np.ndarray
) -> tuple[np.ndarray, list[tuple[float, np.ndarray]]]:
    """Each candidate's evidence weight (a uniform prior over candidates) and its intercept and
    coefficients; the latencies are fitted in units of their median, so evidences compare."""
    unit = float(np.median(y))
    evidence, fitted = [], []
    for names in inputs:
        score, intercept, coef = _bayesian_ridge(np.column_stack([design[c] for c in names]), y / unit)
        evidence.append(score)
        fitted.append((intercept * unit, coef * unit))
    weights = np.exp(np.array(evidence) - max(evidence))
    return weights / weights.sum(), fitted


def _combine(
    inputs: list[list[str]],
    weights: Any,
    fitted: Sequence[tuple[float, Any]],
    design: Mapping[str, np.ndarray],
) -> np.ndarray:
    """The weighted average of the candidates' predictions."""
    total = np.zeros(len(next(iter(design.values()))))
    for names, w, (a, b) in zip(inputs, weights, fitted, strict=True):
        total += w * (
            a + np.column_stack([design.get(c, np.zeros_like(total)) for c in names]) @ np.asarray(b)
        )
    return total


@dataclass(frozen=True)
class TransferModel:
    """The evidence-weighted average of the structure model and two small models per reference device.

    ``devices`` are the reference devices kept (in a candidate weighing above 1e-4); per kept candidate,
    ``inputs`` (feature names and device names), ``weights`` (summing to 1), ``intercepts`` and
    ``coefs``; ``floor_ms`` the lowest prediction; ``quality`` the leave-one-out quality (the keys of
    `FeatureModel`'s, with ``weights`` per candidate).
    """

    devices: list[str]
    inputs: list[list[str]]
    weights: list[float]
    intercepts: list[float]
    coefs: list[list[float]]
    floor_ms: float
    quality: dict[str, Any]

    @classmethod
    def fit(
        cls,
        rows: Sequence[Mapping[str, float]],
        reference: np.ndarray,
        devices: Sequence[str],
        latency_ms: Sequence[float] | np.ndarray,
        assess: bool = True,
    ) -> TransferModel:
        """Fit on the measured architectures' features ``rows`` and their ``reference`` latencies (one
        row each, one column per ``devices``). ``assess`` refits without each measurement in turn for the
        leave-one-out quality (a benchmark that scores on held-out architectures skips it)."""
        from nas_workbench.profiling.device_model import loo_quality

        y = np.asarray(latency_ms, dtype=float)
        design = _design(rows, np.asarray(reference, dtype=float), devices)
        columns = [c for c in design if c not in set(devices) and np.ptp(design[c]) > 0]
        inputs = _candidates(columns, devices)
        weights, fitted = _average(inputs, design, y)
        floor = 0.05 * float(y.min())
        quality: dict[str, Any] = {}
        if assess:
            loo = np.empty(len(y))
            for i in range(len(y)):
                rest = {c: v[np.arange(len(y)) != i] for c, v in design.items()}
                w, f = _average(inputs, rest, y[np.arange(len(y)) != i])
                loo[i] = _combine(inputs, w, f, {c: v[[i]] for c, v in design.items()})[0]
            quality = loo_quality(np.maximum(loo, floor), y)
        kept = [k for k in range(len(inputs)) if weights[k] > _MIN_WEIGHT]
        total = float(weights[kept].sum())
        quality["weights"] = {
            STRUCTURE if inputs[k] == columns else " + ".join(inputs[k]): float(weights[k] / total)
            for k in kept
        }
        used = {c for k in kept for c in inputs[k]}
        return cls(
            [d for d in devices if d in used],
            [inputs[k] for k in kept],
            [float(weights[k] / total) for k in kept],
            [float(fitted[k][0]) for k in kept],
            [[float(v) for v in fitted[k][1]] for k in kept],
            floor,
            quality,
        )

    def predict(self, rows: Sequence[Mapping[str, float]], reference: np.ndarray) -> np.ndarray:
        """Predicted latencies (ms) from feature ``rows`` and the rows' latencies on ``devices``."""
        design = _design(rows, np.asarray(reference, dtype=float).reshape(len(rows), -1), self.devices)
        fitted = list(zip(self.intercepts, self.coefs, strict=True))
        return np.maximum(_combine(self.inputs, self.weights, fitted, design), self.floor_ms)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
