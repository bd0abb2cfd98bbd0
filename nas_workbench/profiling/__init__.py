"""Hardware profiling: measured latency, memory and energy on the target device, and calibrated proxies.

>>> import nas_workbench as nw
>>> prof = nw.profile(model, input_shape=(3, 32, 32), device="cpu", method="measured")
>>> prof["latency_ms"]    # Measurement(value, unit="ms", method="measured", source="cpu wall clock", ...)
>>> prof.latency_ms       # just the number

Every figure says what it is: ``counted`` (parameters, FLOPs, MACs), ``measured`` on this device, or
``estimated`` by a named proxy (the per-device lookup table for latency, analytic models for memory and
energy), or ``predicted`` for a device the workbench cannot run on, by a profile fitted to a few
architectures measured there (`fit_device`). Measured latency is the minimum of many short timed blocks,
which other processes cannot move (`latency`); a figure that stayed unstable, or a prediction without a
fitted correction, says so (`caveats`: "unstable", "uncalibrated"), and the workbench's tables and plots
show the mark. Measurements on one machine are serialised by a file lock (`measurement_lock`); training
that should not overlap them runs inside `shared_use`.
"""

from __future__ import annotations

from nas_workbench.profiling._base import METRICS, DeviceInfo, Measurement, MetricInfo, Profile, caveats
from nas_workbench.profiling._device import device_info
from nas_workbench.profiling._profile import PROFILE_OPTIONS, profile
from nas_workbench.profiling.calibrate import CalibrationResult, calibrate
from nas_workbench.profiling.device_model import propose
from nas_workbench.profiling.latency import TimingOptions, measure_latency
from nas_workbench.profiling.lock import measurement_lock, shared_use
from nas_workbench.profiling.lut import Correction, LookupTable, predict_latency
from nas_workbench.profiling.targets import DeviceProfile, fit_device, list_devices, load_device

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
    "profile",
    "propose",
    "shared_use",
]
