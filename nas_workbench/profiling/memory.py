"""Peak memory: measured from the allocator, beside an analytic breakdown.

Both figures mean the same thing: the most bytes held at once by the network's parameters, buffers, input
batch and the tensors made while running it (for ``mode="training"``: one forward pass, backward pass and
optimiser step, so gradients and optimiser state count too). Megabytes are SI (10^6 bytes); the detail also
gives bytes.

- CUDA: the caching allocator's peak (``torch.cuda.max_memory_allocated``) over the run.
- CPU: torch's profiler with ``profile_memory=True``, which sees every allocation and free of the CPU
  allocator, including an operator's scratch buffers; the peak of its running total.
- Analytic (``method="estimated"``, also in every measurement's detail): parameters, buffers and input by
  size; inference activations from the shape-only trace, outputs alive from their creation until Python
  drops them; training adds every operator output (kept for the backward pass), gradients and optimiser
  state.

Kineto, the engine under torch's profiler, registers its client on the thread that loads torch and prints
"External init callback must run in same thread as registerClient" on stderr (from C, past Python's
warnings and logging) when its one-time initialisation later runs on another thread. A background search
measures on its own thread, so `SearchRun.start` calls `prepare_profiler` first, on the caller's thread (in
a notebook, the one that loaded torch). Importing this module starts nothing; code of one's own that
measures memory on a new thread calls `prepare_profiler` before starting it.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
from typing import Any, Literal

import torch
from torch import nn

from nas_workbench import _compat
from nas_workbench.exceptions import ConfigError
from nas_workbench.metrics import METRICS, Measurement
from nas_workbench.profiling._device import resolve_device, use_threads
from nas_workbench.profiling._trace import Trace, input_dtype
from nas_workbench.profiling.lock import measurement_lock

__all__ = [
    "OPTIMIZER_STATES",
    "estimate_peak_memory",
    "measure_peak_memory",
    "memory_breakdown",
    "prepare_profiler",
]

logger = logging.getLogger("nas_workbench")

Mode = Literal["inference", "training"]

#: Optimiser state per parameter, in parameter-sized tensors.
OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "sgd": 1, "sgd-nomomentum": 0}

_MB = 1e6


def _check(mode: str, optimizer: str) -> None:
    if mode not in ("inference", "training"):
        raise ConfigError("memory_mode", mode, "'inference' or 'training'")
    if optimizer not in OPTIMIZER_STATES:
        raise ConfigError("optimizer", optimizer, f"one of {', '.join(OPTIMIZER_STATES)}")


def memory_breakdown(result: Trace, mode: Mode = "inference", optimizer: str = "adam") -> dict[str, int]:
    """The analytic peak, by part, in bytes: parameters, buffers, input, activations (and, for training,
    gradients and optimiser state) and their ``total``."""
    _check(mode, optimizer)
    parts = {
        "parameters": result.param_bytes,
        "buffers": result.buffer_bytes,
        "input": result.input_bytes,
        "activations": result.peak_live_bytes if mode == "inference" else result.activation_bytes,
    }
    if mode == "training":
        parts["gradients"] = result.param_bytes
        parts["optimizer_state"] = OPTIMIZER_STATES[optimizer] * result.param_bytes
    parts["total"] = sum(parts.values())
    return parts


def estimate_peak_memory(
    result: Trace, batch_size: int, mode: Mode = "inference", optimizer: str = "adam"
) -> Measurement:
    """The analytic peak memory of a traced network, labelled as an estimate."""
    parts = memory_breakdown(result, mode, optimizer)
    detail: dict[str, Any] = {
        "mode": mode,
        "batch_size": batch_size,
        "breakdown_bytes": parts,
        "unit_bytes": int(_MB),
    }
    if mode == "training":
        detail["optimizer"] = optimizer
    return Measurement(parts["total"] / _MB, METRICS["peak_memory_mb"].unit, "estimated", "analytic", detail)


def _run_once(model: nn.Module, x: torch.Tensor, mode: Mode, optimizer: str) -> None:
    if mode == "inference":
        with torch.inference_mode():
            model(x)
        return
    opt: torch.optim.Optimizer
    params = list(model.parameters())
    if optimizer in ("adam", "adamw"):
        opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW)(params, foreach=False)
    else:
        opt = torch.optim.SGD(params, lr=0.01, momentum=0.9 if optimizer == "sgd" else 0.0, foreach=False)
    out = model(x)
    loss = sum(t.float().sum() for t in (out if isinstance(out, tuple | list) else [out]))
    loss.backward()
    opt.step()


@functools.cache  # once per process: Kineto initialises once
def prepare_profiler() -> None:
    """Run Kineto's one-time initialisation on this thread, with an empty profiler session.

    Kineto initialises on the first profiler session in the process; run first on a thread other than the
    one that loaded torch (the search's), it prints an error line on stderr. The autograd profiler starts
    Kineto without `torch.profiler.profile`'s import of torch._dynamo (a second), so this costs about a
    millisecond. Skipped in torch builds without Kineto and while a profiler is already running here.
    Sets ``KINETO_LOG_LEVEL`` for the process (unless already set). Measuring memory calls it too, so
    the level holds wherever Kineto starts.
    """
    # torch has no public "is a profiler running" check; starting a second one would raise
    if not torch.autograd.kineto_available() or _compat.profiler_running():
        return
    # Kineto reads its level as it initialises, and prints "profiler_start/stop" lines on stderr at its
    # default; a user's setting wins.
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    try:
        with torch.autograd.profiler.profile(use_kineto=True, use_cpu=True):
            pass
    except RuntimeError:  # a broken Kineto build: measuring will say so; starting a search must not fail
        logger.debug("could not start Kineto", exc_info=True)


def _cpu_run_peak(model: nn.Module, x: torch.Tensor, mode: Mode, optimizer: str) -> int:
    """Bytes allocated at the peak of one run above what was allocated before it, from the profiler."""
    from torch.profiler import ProfilerActivity, profile

    prepare_profiler()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        _run_once(model, x, mode, optimizer)
    events = _compat.cpu_allocations(prof)
    if not events:
        return 0
    events.sort()
    before = events[0][2] - events[0][1]
    return max(total for _, _, total in events) - before


def _cuda_run_peak(
    model: nn.Module, x: torch.Tensor, mode: Mode, optimizer: str, device: torch.device
) -> int:
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    _run_once(model, x, mode, optimizer)
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - before


def measure_peak_memory(
    model: nn.Module,
    result: Trace,
    device: str | torch.device = "cpu",
    threads: int | None = None,
    mode: Mode = "inference",
    optimizer: str = "adam",
) -> Measurement:
    """Measure the peak memory of one run of ``model`` (on ``device``) on an input of the shape
    ``result`` (its trace) was made with, batch included.

    The trace also gives the resident part (parameters, buffers, input) and the analytic breakdown kept
    beside the measured figure. Training runs on a copy, so the model's weights are untouched. On MPS,
    which has no peak counter, this returns the analytic estimate with a note.
    """
    _check(mode, optimizer)
    dev, batch_size = resolve_device(device), result.batch_size
    if dev.type == "mps":
        note = "MPS has no peak-memory counter; analytic estimate instead"
        return estimate_peak_memory(result, batch_size, mode, optimizer).with_note(note)
    x = torch.randn(result.input_shape, dtype=input_dtype(model)).to(dev)
    subject = model
    if mode == "training":
        subject = copy.deepcopy(model).train()
    with measurement_lock() as lock, use_threads(threads):
        _run_once(subject, x, mode, optimizer)  # warm-up: lazy initialisation, allocator caches
        if dev.type == "cuda":
            run_peak, source = _cuda_run_peak(subject, x, mode, optimizer, dev), "cuda allocator peak"
        else:
            run_peak, source = _cpu_run_peak(subject, x, mode, optimizer), "torch.profiler memory events"
    resident = result.param_bytes + result.buffer_bytes + result.input_bytes
    detail: dict[str, Any] = {
        "mode": mode,
        "batch_size": batch_size,
        "bytes": resident + run_peak,
        "resident_bytes": resident,
        "run_peak_bytes": run_peak,
        "unit_bytes": int(_MB),
        "analytic_breakdown_bytes": memory_breakdown(result, mode, optimizer),
        **lock.detail(),
    }
    if mode == "training":
        detail["optimizer"] = optimizer
    return Measurement(
        (resident + run_peak) / _MB, METRICS["peak_memory_mb"].unit, "measured", source, detail
    )
