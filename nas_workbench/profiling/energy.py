"""Energy per inference: measured from hardware counters where readable, else estimated (and labelled so).

Measured sources:
- ``rapl``: Intel and AMD CPUs expose cumulative package energy through the Linux powercap sysfs
  (``/sys/class/powercap/intel-rapl:N/energy_uj``; reading it often needs root). The counters cover the
  whole package, so the figure includes idle power and anything else running; wrap-around is handled.
- ``nvml``: NVIDIA GPUs (Volta and later) report cumulative board energy through NVML (the
  ``nvidia-ml-py`` package, extra ``energy``).

Inferences are repeated for at least ``min_seconds`` (counters update every few milliseconds), and the
energy difference is divided by the number of inferences.

Elsewhere the estimate is ``flops * pj_per_flop + bytes * pj_per_byte`` from the shape-only trace (FLOPs
by torch's counter and bytes read and written by all operators), with constants in the spirit of Horowitz
(ISSCC 2014) scaled for a whole processor rather than one arithmetic unit; they are in the detail and can
be passed in. It ranks networks; it is not a reading of this machine.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nas_workbench import _compat
from nas_workbench.metrics import METRICS, Measurement
from nas_workbench.profiling._device import resolve_device, use_threads
from nas_workbench.profiling._trace import Trace
from nas_workbench.profiling.latency import example_inputs
from nas_workbench.profiling.lock import measurement_lock

__all__ = [
    "ENERGY_CONSTANTS",
    "EnergyCounter",
    "energy_counter",
    "estimate_energy",
    "measure_energy",
]

POWERCAP = Path("/sys/class/powercap")

#: Picojoules per FLOP and per byte moved, by device kind, for the analytic estimate.
ENERGY_CONSTANTS: dict[str, dict[str, float]] = {
    "cpu": {"pj_per_flop": 20.0, "pj_per_byte": 100.0},
    "cuda": {"pj_per_flop": 2.0, "pj_per_byte": 30.0},
    "mps": {"pj_per_flop": 2.0, "pj_per_byte": 30.0},
}


@dataclass
class EnergyCounter:
    """A cumulative energy counter: ``read()`` returns joules since some fixed origin."""

    source: str
    read: Callable[[], float]
    close: Callable[[], None] = lambda: None


def _rapl_domains(root: Path) -> list[Path]:
    """The package-level RAPL zones (``intel-rapl:0``, ``intel-rapl:1``...; subzones are inside them)."""
    return sorted(
        p for p in root.glob("intel-rapl:*") if p.name.count(":") == 1 and (p / "energy_uj").exists()
    )


def rapl_counter(root: Path = POWERCAP) -> tuple[EnergyCounter | None, str]:
    """A counter summing the CPU packages' RAPL energy, or None and why it is not available."""
    domains = _rapl_domains(root)
    if not domains:
        return None, f"no RAPL zones under {root}"
    ranges: list[int] = []
    try:
        for domain in domains:
            (domain / "energy_uj").read_text()
            ranges.append(int((domain / "max_energy_range_uj").read_text()))
    except PermissionError:
        return None, f"RAPL counters under {root} are not readable (they usually need root)"
    except (OSError, ValueError) as error:
        return None, f"RAPL counters under {root} cannot be read: {error}"
    last = [int((d / "energy_uj").read_text()) for d in domains]
    total = [0]  # microjoules accumulated across wrap-arounds

    def read() -> float:
        for i, domain in enumerate(domains):
            now = int((domain / "energy_uj").read_text())
            total[0] += now - last[i] if now >= last[i] else now + ranges[i] - last[i]
            last[i] = now
        return total[0] / 1e6

    return EnergyCounter("rapl", read), ""


def nvml_counter(device: torch.device) -> tuple[EnergyCounter | None, str]:
    """A counter of an NVIDIA GPU's total energy through NVML, or None and why it is not available."""
    try:
        import pynvml
    except ImportError:
        return None, "NVML needs nvidia-ml-py (pip install 'nas-workbench[energy]')"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        return None, f"NVML did not start: {error}"
    try:
        # NVML numbers all GPUs; torch's own mapping honours CUDA_VISIBLE_DEVICES (as torch.cuda.power_draw).
        handle = pynvml.nvmlDeviceGetHandleByIndex(_compat.nvml_device_index(device))
        pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except (pynvml.NVMLError, RuntimeError) as error:
        pynvml.nvmlShutdown()
        return None, f"NVML has no energy counter for {device}: {error}"

    def read() -> float:
        return pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1e3  # millijoules → joules

    return EnergyCounter("nvml", read, pynvml.nvmlShutdown), ""


def energy_counter(device: str | torch.device) -> tuple[EnergyCounter | None, str]:
    """The hardware energy counter for ``device``, or None and a one-line reason."""
    dev = resolve_device(device)
    if dev.type == "cuda":
        return nvml_counter(dev)
    if dev.type == "cpu":
        return rapl_counter()
    return None, f"no energy counter is known for {dev.type}"


def estimate_energy(
    result: Trace, device: str | torch.device, batch_size: int, constants: dict[str, float] | None = None
) -> Measurement:
    """The analytic energy of one forward pass, from FLOPs and bytes moved, labelled as an estimate."""
    kind = torch.device(device).type
    constants = constants or ENERGY_CONSTANTS.get(kind, ENERGY_CONSTANTS["cpu"])
    picojoules = result.flops * constants["pj_per_flop"] + result.traffic_bytes * constants["pj_per_byte"]
    detail = {
        "batch_size": batch_size,
        "flops": result.flops,
        "bytes_moved": result.traffic_bytes,
        **constants,
    }
    return Measurement(
        picojoules * 1e-9, METRICS["energy_mj"].unit, "estimated", "analytic (FLOPs, bytes)", detail
    )


def measure_energy(
    model: nn.Module,
    result: Trace,
    device: str | torch.device = "cpu",
    threads: int | None = None,
    min_seconds: float | None = None,
) -> Measurement:
    """Energy of one forward pass of ``model`` on an input of the shape ``result`` (its trace) was made
    with, batch included, in millijoules.

    Measured when the device has a readable counter; otherwise `estimate_energy` with a ``note`` in the
    detail saying why (never an error).
    """
    dev, batch_size = resolve_device(device), result.batch_size
    counter, reason = energy_counter(dev)
    if counter is None:
        return estimate_energy(result, dev, batch_size).with_note(reason)
    seconds = min_seconds if min_seconds is not None else (1.0 if dev.type == "cuda" else 0.3)
    x = example_inputs(model, result.input_shape[1:], batch_size, dev)[0]
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    try:
        with measurement_lock() as lock, use_threads(threads), torch.inference_mode():
            for _ in range(3):
                model(x)
            sync()
            calls = 0
            start_j, start_t = counter.read(), time.perf_counter()
            while calls == 0 or time.perf_counter() - start_t < seconds:
                model(x)
                calls += 1
                if calls % 16 == 0:
                    sync()
            sync()
            joules, elapsed = counter.read() - start_j, time.perf_counter() - start_t
    finally:
        with contextlib.suppress(Exception):
            counter.close()
    detail: dict[str, Any] = {
        "batch_size": batch_size,
        "inferences": calls,
        "seconds": round(elapsed, 4),
        "average_power_w": joules / elapsed if elapsed > 0 else 0.0,
        "scope": "CPU packages (includes idle and other processes)"
        if counter.source == "rapl"
        else "GPU board",
        **lock.detail(),
    }
    return Measurement(joules * 1e3 / calls, METRICS["energy_mj"].unit, "measured", counter.source, detail)
