"""Hardware profiling: measured latency, memory and energy on the target device, and calibrated proxies.

>>> import nas_workbench as nw
>>> prof = nw.profile(model, input_shape=(3, 32, 32), device="cpu", method="measured")
>>> prof["latency_ms"]    # Measurement(value, unit="ms", method="measured", source="cpu wall clock", ...)
>>> prof.latency_ms       # just the number

Every figure says what it is: ``counted`` (parameters, FLOPs, MACs), ``measured`` on this device, or
``estimated`` by a named proxy (the per-device lookup table for latency, analytic models for memory and
energy), or ``predicted`` for a device the workbench cannot run on, by a profile fitted to a few
architectures measured there (`fit_device`). Measured latency is the minimum of many short timed blocks,
which other processes cannot move (`latency`); an unstable timing of a network profiled stably a moment ago
reports that stable figure (`stable_figures`); a figure that stayed unstable, or a prediction without a
fitted correction, says so (`caveats`: "unstable", "uncalibrated"), and the workbench's tables and plots
show the mark. Measurements on one machine are serialised by a file lock (`measurement_lock`); training
that should not overlap them runs inside `shared_use`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas_workbench._lazy import lazy_attributes

#: Public name → the module that defines it; imported on first use, so reading metric metadata or stored
#: profiles through this package loads no torch (and the memory profiler's Kineto session is prepared only
#: where a search starts, `memory.prepare_profiler`).
_EXPORTS = {
    **dict.fromkeys(
        ["METRICS", "DeviceInfo", "Measurement", "MetricInfo", "Profile", "caveats"], "nas_workbench.metrics"
    ),
    "device_info": "nas_workbench.profiling._device",
    "PROFILE_OPTIONS": "nas_workbench.profiling._profile",
    "profile": "nas_workbench.profiling._profile",
    "CalibrationResult": "nas_workbench.profiling.calibration",
    "calibrate": "nas_workbench.profiling.calibration",
    "TimingOptions": "nas_workbench.profiling.latency",
    "measure_latency": "nas_workbench.profiling.latency",
    "measurement_lock": "nas_workbench.profiling.lock",
    "prepare_profiler": "nas_workbench.profiling.memory",
    "shared_by_caller": "nas_workbench.profiling.lock",
    "shared_use": "nas_workbench.profiling.lock",
    "Correction": "nas_workbench.profiling.lut",
    "LookupTable": "nas_workbench.profiling.lut",
    "predict_latency": "nas_workbench.profiling.lut",
    **dict.fromkeys(
        ["DeviceProfile", "fit_device", "list_devices", "load_device"], "nas_workbench.profiling.targets"
    ),
    "propose": "nas_workbench.profiling.device_model",
}

__all__ = [
    "METRICS",
    "PROFILE_OPTIONS",
    "CalibrationResult",
    "Correction",
    "DeviceInfo",
    "DeviceProfile",
    "LookupTable",
    "Measurement",
    "MetricInfo",
    "Profile",
    "TimingOptions",
    "calibrate",
    "caveats",
    "device_info",
    "fit_device",
    "list_devices",
    "load_device",
    "measure_latency",
    "measurement_lock",
    "predict_latency",
    "prepare_profiler",
    "profile",
    "propose",
    "shared_by_caller",
    "shared_use",
]

if TYPE_CHECKING:
    from nas_workbench.metrics import METRICS, DeviceInfo, Measurement, MetricInfo, Profile, caveats
    from nas_workbench.profiling._device import device_info
    from nas_workbench.profiling._profile import PROFILE_OPTIONS, profile
    from nas_workbench.profiling.calibration import CalibrationResult, calibrate
    from nas_workbench.profiling.device_model import propose
    from nas_workbench.profiling.latency import TimingOptions, measure_latency
    from nas_workbench.profiling.lock import measurement_lock, shared_by_caller, shared_use
    from nas_workbench.profiling.lut import Correction, LookupTable, predict_latency
    from nas_workbench.profiling.memory import prepare_profiler
    from nas_workbench.profiling.targets import DeviceProfile, fit_device, list_devices, load_device


__getattr__ = lazy_attributes(__name__, _EXPORTS)
