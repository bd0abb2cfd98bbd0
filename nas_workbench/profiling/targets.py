"""Latency on a device the workbench cannot run on, predicted from a handful of measured architectures.

A data scientist's target is often a phone, a Raspberry Pi or an FPGA. They measure a few architectures
there (`propose` picks which), give the latencies to `fit_device`, and get a named `DeviceProfile` whose
`predict(arch)` is a latency `Measurement` labelled ``predicted`` with source ``predicted for <device>
from N measurements`` and an uncertainty. Profiles are JSON files in the profiling cache
(``<cache>/devices/<name>.json``, `device_files`), found by `load_device` and `list_devices` (a fit over
one warns).

>>> profile = nw.profiling.fit_device("pixel2", space, archs, latency_ms)
>>> print(profile.predict("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|"))
13.2 ms (predicted, predicted for pixel2 from 10 measurements): ±14% typical (leave-one-out)

The latency model and the choice of what to measure are in `device_model`; reading measurements
from a CSV file is in `device_csv`. Given other devices' latencies of the same architectures (a
reference table such as HW-NAS-Bench's), the profile is `device_transfer`'s average over them and the
structure model; an architecture missing from the table gets the structure model alone. This machine's
lookup-table latency is one more such prior (`device_local`, ``local_prior``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nas_workbench._registry import unknown_name_message
from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.metrics import METRICS, Measurement
from nas_workbench.profiling.cache import read_json, write_json_atomic
from nas_workbench.profiling.device_budget import budget_verdict, conformal_bound, interval_ratios
from nas_workbench.profiling.device_csv import read_measurements, write_proposal
from nas_workbench.profiling.device_files import check_name, list_devices, profile_path
from nas_workbench.profiling.device_local import LOCAL, LocalPrior, fit_average, prior_columns
from nas_workbench.profiling.device_model import (
    MIN_MEASUREMENTS,
    FeatureModel,
    arch_features,
    choice_counts,
    propose,
)
from nas_workbench.profiling.device_overwrite import warn_dropped
from nas_workbench.profiling.device_report import profile_html, profile_lines, profile_summary
from nas_workbench.profiling.device_transfer import Reference, TransferModel, read_reference
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
    "read_reference",
    "write_proposal",
]

logger = logging.getLogger("nas_workbench")

#: Version of the profile file format.
_FORMAT = 1
_DEFAULT_SHAPE = (3, 32, 32)


def _as_spec(space: Any, arch: ArchSpec | str | Mapping[str, Any]) -> ArchSpec:
    if isinstance(arch, ArchSpec):
        return space.validate(arch)
    if isinstance(arch, str):
        return space.parse(arch)
    return space.spec(arch)


@dataclass(repr=False)
class DeviceProfile:
    """A latency predictor for one named device, fitted from measured architectures of one space.

    Attributes:
        name: The device's name (``pixel2``), as budgets and ``target_device`` name it.
        space: The search space name; ``space_options`` its options.
        input_shape: The (C, H, W) input the latencies were measured at; ``num_classes`` the classes.
        model: The fitted `FeatureModel`, with its leave-one-out quality.
        prior: The unpenalised prior feature ("flops_M"), or None.
        measurements: The ``(arch, latency_ms)`` pairs it was fitted from, in the space's notation.
        transfer: With a reference table or the local prior, the `TransferModel` fitted on them;
            ``reference`` names the table (``path``, ``sha256``), which must still be there, unchanged,
            to predict.
        local: This machine's lookup-table snapshot the profile was fitted with (`device_local`).
    """

    name: str
    space: str
    space_options: dict[str, Any]
    input_shape: tuple[int, ...]
    num_classes: int
    model: FeatureModel
    prior: str | None
    measurements: list[tuple[str, float]]
    transfer: TransferModel | None = None
    reference: dict[str, str] | None = None
    local: LocalPrior | None = None
    _space: Any = field(default=None, repr=False, compare=False)
    _reference: Reference | None = field(default=None, repr=False, compare=False)
    _cache: dict[str, tuple[float, bool]] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        return profile_summary(self)

    def __str__(self) -> str:
        return "\n".join(profile_lines(self))

    def _repr_html_(self) -> str:
        return profile_html(self)

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

    def reference_table(self) -> Reference | None:
        """The reference table the profile was fitted with, read once; a missing or changed file is a
        `ConfigError` (the profile's predictions depend on it)."""
        if self.reference is None:
            return None
        if self._reference is None:
            table = read_reference(self.reference["path"], self.search_space())
            if table.sha256 != self.reference["sha256"]:
                raise ConfigError(
                    "reference",
                    self.reference["path"],
                    f"the table profile {self.name!r} was fitted with (its content changed); fit it again",
                )
            self._reference = table
        return self._reference

    @property
    def quality(self) -> dict[str, Any]:
        """The leave-one-out quality of the fit (see `FeatureModel`; `TransferModel` with a prior)."""
        return self.transfer.quality if self.transfer is not None else self.model.quality

    def _value(self, spec: ArchSpec) -> tuple[float, bool]:
        """The prediction and whether it used the priors (False: the structure model alone)."""
        if spec.id not in self._cache:
            space, shape, flops = self.search_space(), self.input_shape, self.prior is not None
            features = arch_features(spec, space, shape, self.num_classes, flops, self.local)
            local = features.pop(LOCAL, None)
            others = (
                None
                if self.transfer is None
                else prior_columns(self.reference_table(), self.transfer.devices, [spec.id], [local])
            )
            if self.transfer is not None and others is not None:
                self._cache[spec.id] = (float(self.transfer.predict([features], others)[0]), True)
            else:
                self._cache[spec.id] = (float(self.model.predict([features])[0]), False)
        return self._cache[spec.id]

    def predict(self, arch: ArchSpec | str | Mapping[str, Any]) -> Measurement:
        """The predicted latency (ms) of ``arch`` (a spec, its notation or its choices) on this device.

        ``detail`` holds the 80% interval (from leave-one-out errors), the cross-validated median relative
        error and the number of measurements.
        """
        spec = _as_spec(self.search_space(), arch)
        value, transferred = self._value(spec)
        q = self.quality if transferred else self.model.quality
        detail = {
            "device": self.name,
            "model": self._priors() if transferred else "structure",
            "measurements": len(self.measurements),
            "interval_80": [value * q["ratio_p10"], value * q["ratio_p90"]],
            "cv_median_rel_error": q["median_rel_error"],
            "input_shape": list(self.input_shape),
            "note": f"±{100 * q['median_rel_error']:.0f}% typical (leave-one-out)",
        }
        return Measurement(value, METRICS["latency_ms"].unit, "predicted", self.source, detail)

    def _priors(self) -> str:
        """The averaged models' priors: "reference devices", "this machine's lookup table", or both."""
        return " and ".join(["reference devices"] * bool(self.reference) + [LOCAL] * bool(self.local))

    def predicted_ms(self, arch: ArchSpec | str | Mapping[str, Any]) -> float:
        """`predict`'s value alone."""
        return self.predict(arch).value

    def ratios(self, arch: ArchSpec | str | Mapping[str, Any]) -> list[float]:
        """The leave-one-out ratios measured / predicted of the model that predicts ``arch`` (the
        reference devices' average, or the structure model alone off the reference table), sorted."""
        _, transferred = self._value(_as_spec(self.search_space(), arch))
        return interval_ratios(self.quality if transferred else self.model.quality)

    def upper_ms(self, arch: ArchSpec | str | Mapping[str, Any], confidence: float) -> float:
        """An upper bound (ms) of ``arch``'s latency held with probability ``confidence`` (as far as the
        measurements allow, `device_budget.conformal_bound`; 0: the prediction): what a latency budget
        on this device judges ``arch`` by (`SearchConfig.budget_confidence`)."""
        return self.predicted_ms(arch) * conformal_bound(self.ratios(arch), confidence)[0]

    def judge(
        self, arch: ArchSpec | str | Mapping[str, Any], limit_ms: float, confidence: float
    ) -> dict[str, Any]:
        """Whether ``arch`` counts as within ``limit_ms`` at ``confidence``, and how sure the profile is
        (`device_budget.budget_verdict`): the label a search's trial carries."""
        ratios = self.ratios(arch)
        return budget_verdict(self.predicted_ms(arch), ratios, limit_ms, confidence, len(self.measurements))

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
            "transfer": None if self.transfer is None else self.transfer.to_dict(),
            "reference": self.reference,
            "local": None if self.local is None else self.local.to_dict(),
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
            transfer=TransferModel(**data["transfer"]) if data.get("transfer") else None,
            reference=data.get("reference"),
            local=LocalPrior(**data["local"]) if data.get("local") else None,
        )

    def save(self, directory: Path | None = None) -> Path:
        """Write the profile to the profiling cache (or ``directory``) and return its path."""
        path = profile_path(self.name, directory)
        write_json_atomic(path, self.to_dict())
        return path


def load_device(name: str, directory: Path | None = None) -> DeviceProfile:
    """The saved profile called ``name``; an unknown name is a `ConfigError` with a suggestion."""
    data = read_json(profile_path(name, directory))
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
        damaged = f"{profile_path(name, directory)} is damaged: {type(error).__name__} {error}"
        raise ConfigError("target_device", name, f"a readable profile ({damaged}); fit it again") from None


def fit_device(
    name: str,
    space: Any,
    archs: Sequence[ArchSpec | str | Mapping[str, Any]],
    latency_ms: Sequence[float],
    *,
    input_shape: Sequence[int] = _DEFAULT_SHAPE,
    num_classes: int = 10,
    prior: bool = True,
    reference: str | Path | Reference | None = None,
    local_prior: bool | LocalPrior | None = False,
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
        reference: Other devices' latencies of the space's architectures (a CSV file, see
            `read_reference`, or a read `Reference`): the prior `device_transfer` fits on. Every
            measured architecture must be in it.
        local_prior: This machine's lookup-table latency as a prior (`device_local`): True calibrates the
            table first if needed; None uses it where calibrated for the space and input; False (the
            default: it lost on NAS-Bench-201) never; a `LocalPrior`, that snapshot.
        save: Write the profile to the profiling cache, where `load_device` finds it.
    """
    from nas_workbench import spaces

    check_name(name)
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
    local = LocalPrior.choose(local_prior, space.name, input_shape)
    try:
        rows = [arch_features(s, space, input_shape, num_classes, prior, local) for s in specs]
    except NasWorkbenchError:
        raise
    except Exception as error:  # the networks cannot be built or traced for this input
        raise ConfigError(
            "input_shape",
            tuple(input_shape),
            f"an input the space's networks can be built for ({type(error).__name__}: {error})",
        ) from None
    local_ms = [row.pop(LOCAL, None) for row in rows]
    model = FeatureModel.fit(rows, y)
    table = (
        reference
        if reference is None or isinstance(reference, Reference)
        else read_reference(reference, space)
    )
    transfer = fit_average(rows, y, space, specs, table, local, local_ms)
    profile = DeviceProfile(
        name=name,
        space=space.name,
        space_options=dict(space.options),
        input_shape=tuple(int(n) for n in input_shape),
        num_classes=int(num_classes),
        model=model,
        prior="flops_M" if prior and "flops_M" in model.columns else None,
        measurements=[(space.format(s), float(v)) for s, v in zip(specs, y, strict=True)],
        transfer=transfer,
        reference=None if table is None else {"path": table.path, "sha256": table.sha256},
        local=local,
        _space=space,
        _reference=table,
    )
    if save:
        warn_dropped(name, profile_path(name), profile.measurements)
        logger.info("device profile %r saved to %s", name, profile.save())
    return profile
