"""Latency on a device the workbench cannot run on, predicted from a handful of measured architectures.

A data scientist's target is often a phone, a Raspberry Pi or an FPGA. They measure a few architectures
there (`propose` picks which), give the latencies to `fit_device`, and get a named `DeviceProfile` whose
`predict(arch)` is a latency `Measurement` labelled ``predicted`` with source
``predicted for <device> from N measurements`` and an uncertainty. Profiles are JSON files in the
profiling cache (``<cache>/devices/<name>.json``), found again by `load_device` and `list_devices`, and
named by ``SearchConfig.target_device``.

>>> profile = nw.profiling.fit_device("pixel2", space, archs, latency_ms)
>>> print(profile.predict("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|"))
13.2 ms (predicted, predicted for pixel2 from 10 measurements): ±14% typical (leave-one-out)

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
  nothing from 10 or 20. The local lookup table's latency would be another prior, but it costs timing
  operators on this machine and, on a cell space, is a linear function of the same counts: it adds a
  direction, not information, so FLOPs (counted, free) stand in for it.
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

The uncertainty comes from the same leave-one-out predictions: the ratio measured / predicted at the 10th
and 90th percentiles gives an 80% interval, and the median relative error, Spearman and share within
±10% across the measurements are kept as the profile's quality (``nas-workbench device show``).
"""

from __future__ import annotations

import csv
import logging
import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nas_workbench._registry import unknown_name_message
from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.metrics import METRICS, Measurement
from nas_workbench.profiling.cache import cache_dir, read_json, write_json_atomic
from nas_workbench.spec import ArchSpec

__all__ = [
    "DeviceProfile",
    "FeatureModel",
    "arch_features",
    "choice_counts",
    "fit_device",
    "list_devices",
    "load_device",
    "propose",
    "read_measurements",
    "write_proposal",
]

logger = logging.getLogger("nas_workbench")

#: Version of the profile file format.
_FORMAT = 1
#: Fewest measurements a profile is fitted from (leave-one-out needs a few left).
MIN_MEASUREMENTS = 3
#: Ridge penalties tried on the count coefficients, per measurement (features are standardised).
_PENALTIES = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
#: From this many measurements on, measurements far off the fit are down-weighted (two reweighting
#: rounds); with fewer, each carries too much of the fit to be called an outlier.
ROBUST_FROM = 8
#: Leave-one-out relative error beyond which a measurement's weight falls (as (0.3 / error)^2).
_ROBUST_ERROR = 0.3
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DEFAULT_SHAPE = (3, 32, 32)


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
    spec: ArchSpec, space: Any, input_shape: Sequence[int], num_classes: int, prior: bool = True
) -> dict[str, float]:
    """The features a profile predicts from: choice counts by decision kind and, with ``prior``, the
    network's FLOPs in millions (counted from a shape-only trace of the built network)."""
    features = choice_counts(spec)
    if prior:
        from nas_workbench.profiling._trace import trace

        model = space.build(spec, tuple(input_shape), num_classes)
        features["flops_M"] = trace(model, tuple(input_shape)).flops / 1e6
    return features


def _as_spec(space: Any, arch: ArchSpec | str | Mapping[str, Any]) -> ArchSpec:
    if isinstance(arch, ArchSpec):
        return space.validate(arch)
    if isinstance(arch, str):
        return space.parse(arch)
    return space.spec(arch)


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
    def fit(cls, rows: Sequence[Mapping[str, float]], latency_ms: Sequence[float]) -> FeatureModel:
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
        ratio = y / loo
        quality = {
            "median_rel_error": float(np.median(error)),
            "spearman": _spearman(loo, y),
            "within_10pct": float(np.mean(error <= 0.10)),
            "ratio_p10": float(np.percentile(ratio, 10)),
            "ratio_p90": float(np.percentile(ratio, 90)),
            "penalty": penalty,
        }
        return cls(
            columns, [float(v) for v in scale], float(coef[0]), [float(v) for v in coef[1:]], floor, quality
        )

    def predict(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Predicted latencies (ms) of feature rows; never below 5% of the fastest measurement."""
        X = np.array([[row.get(c, 0.0) for c in self.columns] for row in rows]).reshape(len(rows), -1)
        return np.maximum(self.intercept + (X / np.array(self.scale)) @ np.array(self.coef), self.floor_ms)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DeviceProfile:
    """A latency predictor for one named device, fitted from measured architectures of one space.

    Attributes:
        name: The device's name (``pixel2``), as budgets and ``target_device`` name it.
        space: The search space name; ``space_options`` its options.
        input_shape: The (C, H, W) input the latencies were measured at; ``num_classes`` the classes.
        model: The fitted `FeatureModel`, with its leave-one-out quality.
        prior: The unpenalised prior feature ("flops_M"), or None.
        measurements: The ``(arch, latency_ms)`` pairs it was fitted from, in the space's notation.
    """

    name: str
    space: str
    space_options: dict[str, Any]
    input_shape: tuple[int, ...]
    num_classes: int
    model: FeatureModel
    prior: str | None
    measurements: list[tuple[str, float]]
    _space: Any = field(default=None, repr=False, compare=False)
    _cache: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    @property
    def source(self) -> str:
        """What every prediction says produced it."""
        return f"predicted for {self.name} from {len(self.measurements)} measurements"

    def search_space(self) -> Any:
        """The profile's search space, with its options."""
        if self._space is None:
            from nas_workbench import spaces

            self._space = spaces.get(self.space, **self.space_options)
        return self._space

    @property
    def quality(self) -> dict[str, Any]:
        """The leave-one-out quality of the fit (see `FeatureModel`)."""
        return self.model.quality

    def _value(self, spec: ArchSpec) -> float:
        if spec.id not in self._cache:
            features = arch_features(
                spec, self.search_space(), self.input_shape, self.num_classes, self.prior is not None
            )
            self._cache[spec.id] = float(self.model.predict([features])[0])
        return self._cache[spec.id]

    def predict(self, arch: ArchSpec | str | Mapping[str, Any]) -> Measurement:
        """The predicted latency (ms) of ``arch`` (a spec, its notation or its choices) on this device.

        ``detail`` holds the 80% interval (from leave-one-out errors), the cross-validated median relative
        error and the number of measurements.
        """
        spec = _as_spec(self.search_space(), arch)
        value = self._value(spec)
        q = self.quality
        detail = {
            "device": self.name,
            "measurements": len(self.measurements),
            "interval_80": [value * q["ratio_p10"], value * q["ratio_p90"]],
            "cv_median_rel_error": q["median_rel_error"],
            "input_shape": list(self.input_shape),
            "note": f"±{100 * q['median_rel_error']:.0f}% typical (leave-one-out)",
        }
        return Measurement(value, METRICS["latency_ms"].unit, "predicted", self.source, detail)

    # -- storage -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "name": self.name,
            "space": self.space,
            "space_options": self.space_options,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "model": self.model.to_dict(),
            "prior": self.prior,
            "measurements": [list(m) for m in self.measurements],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceProfile:
        return cls(
            name=data["name"],
            space=data["space"],
            space_options=dict(data["space_options"]),
            input_shape=tuple(data["input_shape"]),
            num_classes=int(data["num_classes"]),
            model=FeatureModel(**data["model"]),
            prior=data.get("prior"),
            measurements=[(str(a), float(ms)) for a, ms in data["measurements"]],
        )

    def save(self, directory: Path | None = None) -> Path:
        """Write the profile to the profiling cache (or ``directory``) and return its path."""
        path = _path(self.name, directory)
        write_json_atomic(path, self.to_dict())
        return path


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            "device name", name, "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return name


def _path(name: str, directory: Path | None = None) -> Path:
    return (directory or cache_dir() / "devices") / f"{_check_name(name)}.json"


def list_devices(directory: Path | None = None) -> list[str]:
    """The names of the saved device profiles, sorted."""
    root = directory or cache_dir() / "devices"
    return sorted(p.stem for p in root.glob("*.json") if _NAME.match(p.stem)) if root.is_dir() else []


def load_device(name: str, directory: Path | None = None) -> DeviceProfile:
    """The saved profile called ``name``; an unknown name is a `ConfigError` with a suggestion."""
    data = read_json(_path(name, directory))
    if data is None or data.get("format") != _FORMAT:
        saved = list_devices(directory)
        known = (
            unknown_name_message("device profile", name, saved) if saved else "no device profile is saved."
        )
        raise ConfigError(
            "target_device",
            name,
            f"{known} Fit one with `nas-workbench device fit` or nw.profiling.fit_device.",
        )
    try:
        return DeviceProfile.from_dict(data)
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(
            "target_device",
            name,
            f"a readable profile ({_path(name, directory)} is damaged: {type(error).__name__} {error}); "
            "fit it again",
        ) from None


def fit_device(
    name: str,
    space: Any,
    archs: Sequence[ArchSpec | str | Mapping[str, Any]],
    latency_ms: Sequence[float],
    *,
    input_shape: Sequence[int] = _DEFAULT_SHAPE,
    num_classes: int = 10,
    prior: bool = True,
    save: bool = True,
) -> DeviceProfile:
    """Fit a latency profile for device ``name`` from architectures measured there; save it by default.

    Args:
        name: The device's name, as ``target_device`` will name it.
        space: A `SearchSpace` or a registered space name.
        archs: The measured architectures: specs, or the space's notation (NB201 strings for "nb201").
        latency_ms: Their measured latencies in milliseconds (positive), in the same order.
        input_shape: The (C, H, W) input they were measured at, for the FLOPs prior.
        num_classes: The classifier's classes, likewise.
        prior: Use the counted FLOPs as an unpenalised prior feature (see the module docstring).
        save: Write the profile to the profiling cache, where `load_device` finds it.
    """
    from nas_workbench import spaces

    _check_name(name)
    space = spaces.get(space) if isinstance(space, str) else space
    if len(archs) != len(latency_ms):
        raise ConfigError(
            "latency_ms", len(latency_ms), f"one latency per architecture ({len(archs)} architectures)"
        )
    if len(archs) < MIN_MEASUREMENTS:
        raise ConfigError("archs", len(archs), f"at least {MIN_MEASUREMENTS} measured architectures")
    specs: list[ArchSpec] = []
    for index, arch in enumerate(archs):
        try:
            specs.append(_as_spec(space, arch))
        except NasWorkbenchError as error:
            raise ConfigError(
                f"archs[{index}]", arch, f"an architecture of {space.name!r} ({error})"
            ) from None
    for index, value in enumerate(latency_ms):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float | np.number)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ConfigError(f"latency_ms[{index}]", value, "a positive number of milliseconds")
    y = np.array(latency_ms, dtype=float)
    if len({s.id for s in specs}) != len(specs):
        raise ConfigError("archs", "duplicates", "each architecture once (average repeated measurements)")
    try:
        rows = [arch_features(s, space, input_shape, num_classes, prior) for s in specs]
    except NasWorkbenchError:
        raise
    except Exception as error:  # the networks cannot be built or traced for this input
        raise ConfigError(
            "input_shape",
            tuple(input_shape),
            f"an input the space's networks can be built for ({type(error).__name__}: {error})",
        ) from None
    model = FeatureModel.fit(rows, y)
    profile = DeviceProfile(
        name=name,
        space=space.name,
        space_options=dict(space.options),
        input_shape=tuple(int(n) for n in input_shape),
        num_classes=int(num_classes),
        model=model,
        prior="flops_M" if prior and "flops_M" in model.columns else None,
        measurements=[(space.format(s), float(v)) for s, v in zip(specs, y, strict=True)],
        _space=space,
    )
    if save:
        path = profile.save()
        logger.info("device profile %r saved to %s", name, path)
    return profile


# -- what to measure -----------------------------------------------------------------------------------
def propose(space: Any, n: int = 10, seed: int = 0, pool: int = 2000) -> list[str]:
    """``n`` architectures to measure on a new device, in the space's notation: small, diverse, informative.

    From a pool of random architectures, a greedy D-optimal design over the choice counts (the features
    a profile fits): each pick maximises the determinant of the (slightly regularised) information
    matrix, so the set spans every choice and its combinations as evenly as ``n`` allows, and the
    count coefficients are as well determined as they can be. Ties go to the first drawn.
    """
    from nas_workbench import spaces

    space = spaces.get(space) if isinstance(space, str) else space
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError("n", n, "a positive number of architectures")
    rng = random.Random(seed)
    candidates: dict[str, ArchSpec] = {}
    for _ in range(pool * 3):
        spec = space.random(rng)
        candidates.setdefault(spec.id, spec)
        if len(candidates) >= pool:
            break
    specs = list(candidates.values())
    rows = [choice_counts(s) for s in specs]
    columns = sorted({c for row in rows for c in row})
    X = np.array([[row.get(c, 0.0) for c in columns] for row in rows])
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


# -- measurements from a file --------------------------------------------------------------------------
def read_measurements(path: str | Path, space: Any) -> tuple[list[ArchSpec], list[float]]:
    """The ``arch,latency_ms`` rows of a CSV file, checked: every bad row is a `ConfigError` naming its
    line and what is wrong (missing value, not an architecture of ``space``, not a positive number, an
    architecture given twice)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ConfigError("CSV file", str(path), f"a readable file ({error.strerror})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    if "arch" not in header or "latency_ms" not in header:
        raise ConfigError("CSV file", str(path), f"a header with columns arch,latency_ms (found {header})")
    specs: list[ArchSpec] = []
    values: list[float] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str | None)}
        where = f"{path.name} line {line}"
        if not any(row.values()):
            continue
        if not row.get("arch"):
            raise ConfigError(f"{where} arch", "", "an architecture in the space's notation (missing)")
        if not row.get("latency_ms"):
            raise ConfigError(f"{where} latency_ms", "", "a latency in milliseconds (missing)")
        try:
            spec = space.parse(row["arch"])
        except NasWorkbenchError as error:
            raise ConfigError(
                f"{where} arch", row["arch"], f"an architecture of {space.name!r}: {error}"
            ) from None
        try:
            value = float(row["latency_ms"])
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{where} latency_ms", row["latency_ms"], "a positive number of milliseconds")
        if spec.id in seen:
            raise ConfigError(
                f"{where} arch", row["arch"], f"each architecture once (also on line {seen[spec.id]})"
            )
        seen[spec.id] = line
        specs.append(spec)
        values.append(value)
    if len(specs) < MIN_MEASUREMENTS:
        raise ConfigError(
            "CSV file", str(path), f"at least {MIN_MEASUREMENTS} measured rows, found {len(specs)}"
        )
    return specs, values


def write_proposal(path: str | Path, archs: Iterable[str]) -> None:
    """A CSV to fill in: one row per architecture to measure, the ``latency_ms`` column left empty."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "latency_ms"])
        for arch in archs:
            writer.writerow([arch, ""])
