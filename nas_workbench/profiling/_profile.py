"""`profile`: every hardware figure of one network on one device, each labelled with how it was obtained."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.metrics import METRICS, Measurement, Profile, ProfilingMethod
from nas_workbench.profiling._device import device_info, resolve_device, use_threads
from nas_workbench.profiling._trace import trace
from nas_workbench.profiling.energy import estimate_energy, measure_energy
from nas_workbench.profiling.flops import counted_measurements
from nas_workbench.profiling.latency import TimingOptions, measure_latency
from nas_workbench.profiling.lock import measurement_lock
from nas_workbench.profiling.lut import LookupTable, predict_latency
from nas_workbench.profiling.memory import estimate_peak_memory, measure_peak_memory
from nas_workbench.profiling.stable_figures import KEEP_S, StableFigures, network_key

__all__ = ["PROFILE_OPTIONS", "profile"]

METHODS = ("measured", "proxy")

#: This process's recent stable latency figures per network (`stable_figures`).
STABLE_FIGURES = StableFigures()

#: Keyword options of `profile` beyond the timing options of `TimingOptions`.
PROFILE_OPTIONS = {
    "memory_mode": "'inference' (default) or 'training' (forward, backward and an optimiser step)",
    "optimizer": "the optimiser whose state training memory counts: 'adam' (default), 'adamw', 'sgd'",
    "energy_seconds": "how long to run inferences while reading the energy counter",
    "space": "the search space the network comes from (picks the lookup table's correction)",
    "lut": "a LookupTable to predict latency with (default: this device's, from the cache)",
    "lut_dir": "the directory of lookup tables (default: the profiling cache)",
    "auto_calibrate": "True (default): calibrate the lookup table when it has no fitted correction for this "
    "input and space; False: warn once and label the prediction uncalibrated",
    "calibration_progress": "progress(stage, done, total) during an automatic calibration (default: logs)",
    "keep_stable_s": "an unstable latency profile of a network profiled stably within this many seconds "
    "reports that figure, and a stable one far from it is timed again "
    f"(default {KEEP_S:.0f}; 0: never; `stable_figures`)",
}


def _check_metrics(metrics: Iterable[str] | None) -> list[str]:
    if metrics is None:
        return list(METRICS)
    if isinstance(metrics, str):
        metrics = [metrics]
    wanted = list(metrics)
    for name in wanted:
        if name not in METRICS:
            raise ConfigError("metrics", name, f"choose from {', '.join(METRICS)}")
    return [name for name in METRICS if name in wanted]  # cheapest first


def _check_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if not shape or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
        raise ConfigError(
            "input_shape", input_shape, "a sequence of positive whole numbers, e.g. (3, 32, 32)"
        )
    return shape


@contextlib.contextmanager
def _placed(model: nn.Module, device: torch.device) -> Iterator[nn.Module]:
    """The model on ``device`` in eval mode for the block; its device and mode are restored afterwards."""
    before = next((p.device for p in model.parameters()), None)
    was_training = model.training
    if before is not None and before != device:
        model.to(device)
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
        if before is not None and before != device:
            model.to(before)


def profile(
    model: nn.Module,
    input_shape: Sequence[int],
    device: str | torch.device = "cpu",
    method: ProfilingMethod = "measured",
    batch_size: int = 1,
    metrics: Iterable[str] | None = None,
    threads: int | None = None,
    **opts: Any,
) -> Profile:
    """Profile ``model`` on ``device``: the metrics of `METRICS`, each with unit, method and source.

    Parameters, FLOPs and MACs are always counted exactly, from one untimed pass (see `trace`). With
    ``method="measured"`` latency, peak memory and energy are measured on the device (energy falls back to
    an estimate, with a note, where no counter is readable). With ``method="proxy"`` nothing is timed:
    latency comes from the device's lookup table, memory and energy from analytic models, all labelled
    ``estimated``. Measurements hold the machine's measurement lock, so parallel trials never measure at
    the same time. A latency timing that stays unstable, of a network this process profiled stably in the
    last ``keep_stable_s`` seconds, reports the median of those stable figures instead, and says so in its
    detail; a stable one more than 4% from that median is timed once more, and the timing nearer it is
    reported, both in the detail (`stable_figures`).

    Args:
        model: The network; moved to ``device`` and put in eval mode for profiling, then restored.
        input_shape: One input without the batch dimension, e.g. (3, 32, 32).
        device: "cpu", "cuda", "cuda:N" or "mps".
        method: "measured" or "proxy".
        batch_size: The batch every figure is for (latency and energy are per forward pass of the batch).
        metrics: Names from `METRICS` to compute (default: all), e.g. ``["params", "flops"]`` to check a
            budget cheaply before measuring.
        threads: Torch intra-op threads for the measurement (default: torch's current setting); recorded
            in the device fingerprint.
        **opts: Timing options (the fields of `TimingOptions`: ``warmup_s``, ``min_repeats``,
            ``stable_repeats``, ``max_repeats``, ``rel_ci``, ``min_time_s``, ``max_time_s``, ``slow_time_s``,
            ``min_block_s``, ``clock``, ``reference``, ``huge_pages``) and those of `PROFILE_OPTIONS`.

    Raises:
        ConfigError: An unknown metric, method, option or a bad shape or batch size.
        ProfilingError: The device is not available on this machine.
    """
    if method not in METHODS:
        raise ConfigError("method", method, "'measured' or 'proxy'")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError("batch_size", batch_size, "a whole number of at least 1")
    unknown = sorted(set(opts) - set(TimingOptions.fields()) - set(PROFILE_OPTIONS))
    if unknown:
        allowed = ", ".join([*TimingOptions.fields(), *PROFILE_OPTIONS])
        raise ConfigError(unknown[0], opts[unknown[0]], f"profile options are {allowed}")
    wanted = _check_metrics(metrics)
    shape = _check_shape(input_shape)
    dev = resolve_device(device)
    info = device_info(dev, threads)
    timing = TimingOptions(**{k: v for k, v in opts.items() if k in TimingOptions.fields()})
    memory_mode, optimizer = opts.get("memory_mode", "inference"), opts.get("optimizer", "adam")
    keep_s = _check_keep_stable_s(opts.get("keep_stable_s", KEEP_S))  # before any timing, not after

    out: dict[str, Measurement] = {}
    with _placed(model, dev), use_threads(info.threads):  # everything at the fingerprint's thread count
        result = _first_pass(model, shape, batch_size)
        counted = counted_measurements(result, batch_size)
        out.update({name: counted[name] for name in wanted if name in counted})
        runs = [name for name in wanted if name not in counted]
        if method == "proxy":
            if "latency_ms" in runs:
                table = opts.get("lut") or LookupTable.for_device(dev, info.threads, _lut_dir(opts))
                out["latency_ms"] = predict_latency(
                    model,
                    shape,
                    table,
                    batch_size=batch_size,
                    space=opts.get("space"),
                    result=result,
                    auto_calibrate=opts.get("auto_calibrate", True),
                    progress=opts.get("calibration_progress"),
                )
            if "peak_memory_mb" in runs:
                out["peak_memory_mb"] = estimate_peak_memory(result, batch_size, memory_mode, optimizer)
            if "energy_mj" in runs:
                out["energy_mj"] = estimate_energy(result, dev, batch_size)
        elif runs:
            with measurement_lock():  # once for all: no other trial measures between our metrics
                if "latency_ms" in runs:

                    def timed() -> Measurement:
                        return measure_latency(model, shape, dev, batch_size, info.threads, timing)

                    key = network_key(info.key, timing.clock, (op.key for op in result.ops))
                    measured = STABLE_FIGURES.confirm(key, timed(), timed, keep_s)
                    out["latency_ms"] = STABLE_FIGURES.settle(key, measured, keep_s)
                if "peak_memory_mb" in runs:
                    out["peak_memory_mb"] = measure_peak_memory(
                        model, result, dev, info.threads, memory_mode, optimizer
                    )
                if "energy_mj" in runs:
                    out["energy_mj"] = measure_energy(
                        model, result, dev, info.threads, opts.get("energy_seconds")
                    )
    return Profile(
        measurements={name: out[name] for name in METRICS if name in out}, device=info, batch_size=batch_size
    )


def _first_pass(model: nn.Module, shape: tuple[int, ...], batch_size: int) -> Any:
    """`trace`, where a network that cannot run on the input (a wrong channel count or size) is refused as
    a bad ``input_shape`` naming torch's complaint, not torch's traceback from deep inside the network."""
    try:
        return trace(model, shape, batch_size)
    except NasWorkbenchError:
        raise
    except (RuntimeError, ValueError, TypeError, IndexError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(
            "input_shape", shape, f"an input shape this network runs on (torch: {reason})"
        ) from None


def _check_keep_stable_s(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise ConfigError("keep_stable_s", value, "seconds, 0 or more (0: never report an earlier figure)")
    return float(value)


def _lut_dir(opts: dict[str, Any]) -> Path | None:
    directory = opts.get("lut_dir")
    return Path(directory) if directory is not None else None
