"""The fields that say where a search runs: a device of this kernel, or a saved target device's profile."""

from __future__ import annotations

import sys
from pathlib import Path

import ipywidgets as W

from nas_workbench.ui._fields import DESCRIPTION_WIDTH, Field
from nas_workbench.ui._schema import Row

__all__ = ["available_devices", "target_device_field"]


def available_devices() -> list[tuple[str, str]]:
    """``(label, device)`` for each device this kernel can search on: the CPU, each GPU, Apple MPS.

    Torch is asked where it could find an accelerator; where it could not (Linux with no GPU driver
    loaded) the answer is the CPU alone, found without importing torch, which would be most of what a
    first workbench costs on such a machine.
    """
    if "torch" not in sys.modules and not _may_have_accelerator():
        return [("cpu", "cpu")]
    import torch

    devices = [("cpu", "cpu")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices.append((f"cuda:{index} ({torch.cuda.get_device_name(index)})", f"cuda:{index}"))
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        devices.append(("mps (Apple GPU)", "mps"))
    return devices


def _may_have_accelerator() -> bool:
    """False only where torch can find no GPU: on Linux, torch's CUDA needs NVIDIA's kernel driver (which
    lists its GPUs under /proc/driver/nvidia, in containers too) and its ROCm build AMD's (/dev/kfd)."""
    if sys.platform != "linux":
        return True
    return Path("/proc/driver/nvidia/gpus").is_dir() or Path("/dev/kfd").exists()


def target_device_field(row: Row) -> Field:
    """The saved device profile latency is predicted for (``target_device``), or this machine; each
    profile labelled with the space it was fitted on ("pixel3 (nb201, predicted)"): one of another space
    is refused when chosen, and the names alone did not say which those were."""
    from nas_workbench.profiling.device_files import saved_spaces

    here = ("this machine (measured)", "")  # not None: a dropdown shows None as no choice, a blank box
    box = W.Dropdown(
        options=[here, *((f"{name} ({space}, predicted)", name) for name, space in saved_spaces().items())],
        description=row.label,
        tooltip=row.help,
        style={"description_width": DESCRIPTION_WIDTH},
        layout=W.Layout(width="max-content", min_width="300px"),  # "this machine (measured)" never cut
    )

    def write(name: str | None) -> None:
        if name and name not in [value for _, value in box.options]:
            box.options = [*box.options, (f"{name} (not saved here)", name)]
        box.value = name or ""

    return Field("target_device", box, lambda: box.value or None, write)
