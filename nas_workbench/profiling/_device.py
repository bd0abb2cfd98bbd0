"""Devices: parsing a device name, checking it is present, fingerprinting it, holding the thread count, and
reading how busy the machine is (the load average).

A fingerprint (`DeviceInfo`) names everything that changes a timing: the CPU or GPU model, the cores, the
torch version and its intra-op thread count, and the GPU driver. Measurements and lookup tables are only
reused under an equal fingerprint.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import time
from collections.abc import Iterator
from typing import Any

import torch

from nas_workbench.exceptions import ConfigError, ProfilingError
from nas_workbench.metrics import DeviceInfo

__all__ = ["busy_machine", "device_info", "load_average", "resolve_device", "use_threads"]

_KINDS = "'cpu', 'cuda', 'cuda:N' or 'mps'"


def resolve_device(device: str | torch.device) -> torch.device:
    """Parse ``device`` and check this machine has it.

    Raises:
        ConfigError: The name is not a device kind the profiler measures on.
        ProfilingError: The device kind is known but absent here (no CUDA build, no such GPU index, no MPS).
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError("device", device, f"use {_KINDS}") from None
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = f"this torch {torch.__version__} " + (
                "has CUDA " + torch.version.cuda if torch.version.cuda else "is a CPU-only build"
            )
            raise ProfilingError(
                f"device {str(device)!r} is not available: no CUDA device is visible ({build})"
            )
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise ProfilingError(
                f"device {str(device)!r} is not available: "
                f"this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
        return torch.device("cuda", index)
    if dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ProfilingError(
                f"device {str(device)!r} is not available: MPS needs Apple silicon and macOS 12.3+"
            )
        return torch.device("mps")
    raise ConfigError("device", device, f"use {_KINDS}")


@functools.lru_cache(maxsize=1)
def _cpu_model() -> str:
    """The CPU's marketing name (from /proc/cpuinfo on Linux, else what `platform` knows)."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    if platform.system() == "Darwin":
        with contextlib.suppress(OSError, ValueError):
            import subprocess

            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=2,
                check=True,
            )
            return out.stdout.strip()
    return platform.processor() or platform.machine() or "unknown cpu"


def _nvidia_driver() -> str | None:
    """The NVIDIA driver version through NVML, when nvidia-ml-py is installed; else None."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        try:
            version = pynvml.nvmlSystemGetDriverVersion()
        finally:
            pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        return None
    return version.decode() if isinstance(version, bytes) else str(version)


def device_info(device: str | torch.device = "cpu", threads: int | None = None) -> DeviceInfo:
    """The fingerprint of ``device`` as it would measure with ``threads`` intra-op threads.

    Args:
        device: "cpu", "cuda", "cuda:N" or "mps".
        threads: The torch intra-op thread count the measurement uses; None means the current one.
    """
    dev = resolve_device(device)
    threads = _check_threads(threads)
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        driver = _nvidia_driver() or f"cuda-runtime-{torch.version.cuda}"
        return DeviceInfo(
            device=str(dev),
            name=props.name,
            torch_version=torch.__version__,
            threads=threads,
            cores=props.multi_processor_count,
            driver=driver,
        )
    if dev.type == "mps":
        return DeviceInfo(
            device="mps", name=f"Apple MPS ({_cpu_model()})", torch_version=torch.__version__, threads=threads
        )
    return DeviceInfo(
        device="cpu",
        name=_cpu_model(),
        torch_version=torch.__version__,
        threads=threads,
        cores=os.cpu_count(),
    )


def _check_threads(threads: int | None) -> int:
    if threads is None:
        return torch.get_num_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(
            "threads", threads, "a whole number of at least 1, or None for torch's current setting"
        )
    return threads


@contextlib.contextmanager
def use_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``threads`` torch intra-op threads (None: leave as is), then restore the count."""
    threads = _check_threads(threads)
    before = torch.get_num_threads()
    if threads != before:
        torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def load_average() -> float | None:
    """The 1-minute load average, or None where the system does not report one."""
    if not hasattr(os, "getloadavg"):  # pragma: no cover - Windows
        return None
    return os.getloadavg()[0]


def _machine_busy_s() -> float | None:
    """Seconds of CPU time all processes have used since boot (``/proc/stat``: all but idle and I/O wait,
    steal included), or None where there is no ``/proc/stat``."""
    try:
        with open("/proc/stat") as stat:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cores_used_by_others(window_s: float = 0.25) -> float | None:
    """How many cores other processes (and, in a VM, its neighbours' steal) kept busy over the next
    ``window_s``: the machine's busy time less this process's own CPU time, or None where the machine's is
    not known. Not the load average, which counts this process's own recent work too (a search that has
    just timed its budget's sample would warn about itself)."""
    before, own_before = _machine_busy_s(), time.process_time()
    time.sleep(window_s)
    after, own_after = _machine_busy_s(), time.process_time()
    if before is None or after is None:
        return None
    return max(0.0, (after - before) - (own_after - own_before)) / window_s


def threads_outnumber_idle_cores(threads: int) -> str | None:
    """Why timing on ``threads`` torch threads is unreliable now, or None: more threads than the cores that
    other processes leave idle (`cores_used_by_others`). An operator split over threads waits for the
    slowest, so one thread waiting for a core stalls every operator: at load 8 on 2 cores a 0.8 ms
    multi-branch network timed on 2 threads took 230 ms in three profiles running (2026-12-05), while on
    one thread its own CPU time is timed and load cannot move it (`latency`)."""
    if threads <= 1:
        return None
    others, cores = cores_used_by_others(), os.cpu_count() or 1
    if others is None or cores - others >= threads - 0.5:
        return None
    return (
        f"latency is timed on {threads} torch threads while other processes keep {others:.1f} of the "
        f"{cores} cores busy: a thread waiting for a core stalls every operator, so figures can come out "
        f"tens of times too high; set threads=1 (`threads: 1` in a config file) for figures that load "
        f"cannot move, or free the cores"
    )


def busy_machine() -> dict[str, Any]:
    """The load average, and a note when more processes wanted the CPUs than there are cores.

    Other processes (another user, a parallel build) slow measurements down in a way no lock can prevent;
    the note makes a figure measured on a busy machine say so.
    """
    load = load_average()
    if load is None:  # pragma: no cover - Windows
        return {}
    cores = os.cpu_count() or 1
    detail: dict[str, Any] = {"load_average": round(load, 2)}
    if load > cores + 0.5:
        detail["note"] = f"busy machine (load {load:.1f} on {cores} cores): the figure may be inflated"
    return detail
