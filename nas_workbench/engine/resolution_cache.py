"""Relative limits resolved before on this machine, kept in the profiling cache and reused by later searches.

Resolving "p60" profiles 32 networks of the space: 13 s of the 17 s before a second search's first trial
in the same process on the 2-core VM (s1's benchmarks/engine/first_trial.py), and the same again for
every new search of that space on that machine. What a resolution depends on is its key
(`resolution_key`): the space and its options, the fixed decisions, the metric and its relative form, how
networks are built and profiled (input shape, classes, width, batch, method, device, threads), the
device's fingerprint (its model, cores, torch version and thread count) and the sample's size and seed.
The machine's speed can change under the same fingerprint (another host of the same VM type, a throttled
one), so each resolution is kept with the reference workload's quiet time on the device then (its
baseline, `nas_workbench.profiling.reference`), and is reused only while that baseline stays within
`BASELINE_TOLERANCE` of it; otherwise the limit is resolved again and replaces the kept one. A reused
limit says so in its detail, with when it was resolved (the CLI's budget line, the log), and
`forget_resolutions` makes the next searches resolve again.

Only limits profiled on this machine with ``profiling_method="measured"`` are kept: a target device's
predicted latency resolves at once, and the lookup table's predictions follow its calibration and drift,
re-timed as a search starts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nas_workbench import __version__
from nas_workbench.config import SearchConfig
from nas_workbench.engine.narration import narrate
from nas_workbench.engine.relative import SAMPLE_SEED, SAMPLE_SIZE, ResolvedBudget
from nas_workbench.profiling.cache import cache_dir, read_json, write_json_atomic
from nas_workbench.profiling.lock import file_lock
from nas_workbench.relative_budget import parse_relative_budget

if TYPE_CHECKING:
    from nas_workbench.engine.preflight import Networks

__all__ = [
    "BASELINE_TOLERANCE",
    "RESOLVED_FILE",
    "forget_resolutions",
    "resolution_key",
    "reused_or_resolved",
]

logger = logging.getLogger("nas_workbench")

#: The file in the profiling cache that keeps resolved limits.
RESOLVED_FILE = "resolved-budgets.json"
#: A kept resolution is reused while the reference workload's baseline is within this fraction of the one
#: it was resolved with (above it the machine is another, or changed: resolved again).
BASELINE_TOLERANCE = 0.10


def resolution_key(config: SearchConfig, networks: Networks, metric: str, text: str) -> dict[str, Any]:
    """Everything a resolution of ``metric``'s relative limit ``text`` depends on but the machine's speed
    (see the module docstring); ``networks`` is the search's `nas_workbench.engine.preflight.Networks`."""
    from nas_workbench.profiling._device import device_info

    return {
        "space": config.space,
        "space_options": config.space_options,
        "fixed_choices": config.fixed_choices,
        "metric": metric,
        "limit": parse_relative_budget(f"budget.{metric}", text).text,
        "networks": dataclasses.asdict(networks),
        "device": device_info(networks.device, networks.threads).key,
        "sample": [SAMPLE_SIZE, SAMPLE_SEED],
        "version": __version__,
    }


def reference_baseline_ms(device: str, threads: int | None) -> float | None:
    """The reference workload's quiet time on ``device`` at ``threads`` now (ms; None before any timing):
    the machine's speed, as the profiler's slow-episode check knows it."""
    import torch

    from nas_workbench.profiling._clocks import resolve_clock
    from nas_workbench.profiling._device import resolve_device
    from nas_workbench.profiling.reference import Canary

    count = threads if threads is not None else torch.get_num_threads()
    where = resolve_device(device)
    baseline = Canary.for_device(where, resolve_clock(where, "auto", count), count).baseline_s
    return None if baseline is None else baseline * 1e3


def reused_or_resolved(
    config: SearchConfig, networks: Networks, metric: str, text: str, resolve: Callable[[], ResolvedBudget]
) -> ResolvedBudget:
    """The resolution of ``metric``'s relative limit ``text`` kept in the profiling cache, when its key is
    this search's and the machine's speed is the same (module docstring), its detail saying it is reused
    and since when; else ``resolve()``, kept for the next search."""
    key = resolution_key(config, networks, metric, text)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:24]
    path = cache_dir() / RESOLVED_FILE
    kept = (read_json(path) or {}).get(digest)
    speed = reference_baseline_ms(networks.device, networks.threads)
    why = _why_not_reused(kept, speed)
    if why is None:
        assert kept is not None  # _why_not_reused says why not otherwise
        resolved = ResolvedBudget.from_dict(kept["resolved"])
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(kept["resolved_at"]))
        detail = f"reused, resolved on this machine at {when} (delete {path} to resolve again): "
        resolved = dataclasses.replace(resolved, detail=detail + resolved.detail)
        logger.info("budget.%s %r reused: %s", metric, resolved.spec, resolved.label())
        narrate(f"reusing the budget {metric} {resolved.spec} = {resolved.label()}, resolved here at {when}")
        return resolved
    logger.info("budget.%s %r: resolving on this machine (%s)", metric, text, why)
    resolved = resolve()
    speed = reference_baseline_ms(networks.device, networks.threads)  # the resolution timed the reference
    entry = {"key": key, "resolved": resolved.to_dict(), "resolved_at": time.time(), "baseline_ms": speed}
    with file_lock(path.with_suffix(".lock")):
        write_json_atomic(path, {**(read_json(path) or {}), digest: entry})
    return resolved


def _why_not_reused(kept: Any, speed: float | None) -> str | None:
    """Why the ``kept`` entry cannot stand for a resolution now, with the machine's reference baseline at
    ``speed`` ms; None when it can."""
    if not isinstance(kept, dict) or not {"resolved", "resolved_at", "baseline_ms"} <= set(kept):
        return "none kept for this space, input, device and threads"
    then = kept["baseline_ms"]
    if speed is None or not isinstance(then, int | float) or then <= 0:
        return "the machine's reference speed is unknown"
    if abs(speed / then - 1) > BASELINE_TOLERANCE:
        return f"the machine's reference workload now takes {speed:.4g} ms against {then:.4g} ms then"
    return None


def forget_resolutions(directory: Path | None = None) -> int:
    """Forget every kept resolution (of the profiling cache, or ``directory``), so that the next searches
    resolve their relative limits again; returns how many were kept."""
    path = (directory if directory is not None else cache_dir()) / RESOLVED_FILE
    with file_lock(path.with_suffix(".lock")):
        count = len(read_json(path) or {})
        path.unlink(missing_ok=True)
    return count
