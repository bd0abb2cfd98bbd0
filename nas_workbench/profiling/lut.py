"""A per-device lookup table of operator latencies that predicts a network's latency without timing it.

In the manner of FBNet, ProxylessNAS and nn-Meter: the latency of each operator is measured once per
device, per argument shapes, strides and dtypes, and kept on disk; a network's latency is then the sum of
its operators' entries, passed through a linear correction fitted against real measurements:

    predicted_ms = scale * sum(entries) + per_op_ms * number_of_operators + offset_ms

The operators are the ATen operators a shape-only trace of the network calls (see `_trace`), so every
network decomposes without knowing its modules: convolutions, norms, activations, pooling, and the
additions and concatenations between them. Eager PyTorch runs them one by one without fusion, so the sum
of their timings ranks networks well; inside a network each operator runs a little slower than alone
(colder instruction caches, Python and module-call overhead between operators: fitted scales of about
1.0-1.15 on a small x86 VM), which the fitted correction accounts for. Corrections are per search space
and input shape.

Operators are timed alone on fresh data each call, and networks are measured on a fresh input each call
(`latency.measure_latency`): both, as in use, never let the processor's branch predictors learn the data
(max pooling runs 2-3x faster on an input it has just seen). Timing either on one repeated input breaks
the linear law for networks rich in such operators: max-pool-heavy multi-branch networks measured on a
repeated input were over-predicted by 10-38%. With both on fresh data, one scale for all operator kinds
fits: separate scales per kind (convolutions, pooling, the rest, or each ATen operator, fitted by
non-negative least squares) predicted no better out of sample (benchmarks/profiling/README.md), with
more coefficients to fit on the same 20 calibration networks.

Tables live in the profiling cache, one JSON file per device fingerprint (device, model, cores, torch
version, thread count, driver): change any of them and a new, empty table is filled instead of reusing
stale timings. Corrections are fitted by `calibrate` (``nas-workbench calibrate``), per search space and
overall; an uncalibrated table predicts the plain sum and says so.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nas_workbench.exceptions import ProfilingError
from nas_workbench.profiling._base import METRICS, DeviceInfo, Measurement
from nas_workbench.profiling._device import device_info, resolve_device, use_threads
from nas_workbench.profiling._trace import OpCall, Trace, trace
from nas_workbench.profiling.cache import cache_dir, read_json, write_json_atomic
from nas_workbench.profiling.latency import TimingOptions, time_callable
from nas_workbench.profiling.lock import file_lock, measurement_lock

__all__ = ["Correction", "LookupTable", "predict_latency"]

logger = logging.getLogger("nas_workbench")

#: How carefully each operator is timed: short, since a network sums many of them.
OP_TIMING = TimingOptions(
    warmup_s=0.005, min_repeats=7, max_repeats=300, rel_ci=0.02, max_time_s=0.1, min_block_s=5e-5
)

#: Bytes of argument copies an operator cycles through while timed (more than a core's L2 cache, and
#: around the working set of a small network), and the most copies made.
ROTATE_BYTES = 8_000_000
MAX_COPIES = 256

#: Version of the table file; tables of another version are ignored and rebuilt. 3: corrections fitted
#: against networks measured on fresh inputs (2's were fitted on one repeated input).
_FORMAT = 3


@dataclass(frozen=True)
class Correction:
    """``predicted_ms = scale * table_sum_ms + per_op_ms * operators + offset_ms``, with fit statistics."""

    scale: float = 1.0
    per_op_ms: float = 0.0
    offset_ms: float = 0.0
    samples: int = 0

    def apply(self, table_ms: float, operators: int) -> float:
        return self.scale * table_ms + self.per_op_ms * operators + self.offset_ms

    @classmethod
    def fit(
        cls, table_ms: Sequence[float], operators: Sequence[int], measured_ms: Sequence[float]
    ) -> Correction:
        """Least squares on relative error (rows weighted by 1 / measured), coefficients kept non-negative."""
        from scipy.optimize import nnls

        measured = np.asarray(measured_ms, dtype=float)
        if len(measured) < 3:
            raise ProfilingError(
                f"fitting a correction needs at least 3 measured networks, got {len(measured)}"
            )
        design = np.column_stack([table_ms, operators, np.ones_like(measured)]) / measured[:, None]
        coef, _ = nnls(design, np.ones_like(measured))
        return cls(float(coef[0]), float(coef[1]), float(coef[2]), len(measured))


def _rotating_call(op: OpCall, device: torch.device) -> Callable[[], Any]:
    """A callable that runs ``op`` on the next of enough argument copies to total `ROTATE_BYTES`."""
    copies = max(1, min(MAX_COPIES, math.ceil(ROTATE_BYTES / max(op.bytes_read + op.bytes_written, 1))))
    cycle = itertools.cycle([op.materialise(device) for _ in range(copies)])
    func = op.func

    def call() -> None:
        args, kwargs = next(cycle)
        func(*args, **kwargs)

    return call


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40]


class LookupTable:
    """Operator latencies (milliseconds, by operator key) and fitted corrections for one device fingerprint.

    Use `for_device` to open the table of a device; `fill` measures what a network needs and is missing;
    `predict` combines. Tables are saved with `save`, which merges with what other processes saved.
    """

    def __init__(
        self,
        device: DeviceInfo,
        entries: dict[str, float] | None = None,
        corrections: dict[str, Correction] | None = None,
        path: Path | None = None,
    ) -> None:
        self.device = device
        self.entries: dict[str, float] = dict(entries or {})
        self.corrections: dict[str, Correction] = dict(corrections or {})
        self.path = path

    # -- storage -------------------------------------------------------------------------------------
    @staticmethod
    def path_for(device: DeviceInfo, directory: Path | None = None) -> Path:
        """The file of ``device``'s table: one per fingerprint key."""
        digest = hashlib.sha1(device.key.encode()).hexdigest()[:16]
        root = directory if directory is not None else cache_dir() / "lut"
        return root / f"{_slug(device.device)}-{_slug(device.name)}-{digest}.json"

    @classmethod
    def for_device(
        cls, device: str | torch.device = "cpu", threads: int | None = None, directory: Path | None = None
    ) -> LookupTable:
        """The table of this machine's ``device`` at ``threads``: loaded from disk, or new and empty."""
        info = device_info(device, threads)
        path = cls.path_for(info, directory)
        table = cls(info, path=path)
        table._merge(read_json(path))
        return table

    def _merge(self, data: dict[str, Any] | None) -> None:
        if not data or data.get("format") != _FORMAT or data.get("key") != self.device.key:
            return
        for key, ms in data.get("entries", {}).items():
            self.entries.setdefault(key, float(ms))
        for name, fields in data.get("corrections", {}).items():
            self.corrections.setdefault(name, Correction(**fields))

    def save(self) -> Path:
        """Write the table (merged with entries other processes saved meanwhile) and return its path."""
        if self.path is None:
            self.path = self.path_for(self.device)
        with file_lock(self.path.with_suffix(".lock")):
            on_disk = LookupTable(self.device)
            on_disk._merge(read_json(self.path))
            merged = {**on_disk.entries, **self.entries}
            corrections = {**on_disk.corrections, **self.corrections}
            write_json_atomic(
                self.path,
                {
                    "format": _FORMAT,
                    "key": self.device.key,
                    "fingerprint": self.device.to_dict(),
                    "entries": merged,
                    "corrections": {name: asdict(c) for name, c in corrections.items()},
                },
            )
        self.entries, self.corrections = merged, corrections
        return self.path

    # -- measuring -----------------------------------------------------------------------------------
    def missing(self, ops: Iterable[OpCall]) -> list[OpCall]:
        """The distinct operator calls of ``ops`` the table has no entry for, in first-seen order."""
        seen: dict[str, OpCall] = {}
        for op in ops:
            if op.key not in self.entries and op.key not in seen:
                seen[op.key] = op
        return list(seen.values())

    def fill(
        self,
        ops: Iterable[OpCall],
        options: TimingOptions = OP_TIMING,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Measure on this table's device every operator of ``ops`` without an entry; return how many.

        Each runs on fresh tensors of the recorded layouts (random floats, zero integers), alone, under the
        machine's measurement lock and the fingerprint's thread count. Calls cycle through enough distinct
        copies of the arguments to overflow the processor's caches (``ROTATE_BYTES``, at most
        ``MAX_COPIES``), since inside a network an operator meets data the previous ones wrote, not data it
        read a microsecond ago, and new data in every forward pass: timing one hot set of arguments
        underestimates it, data-dependent kernels (max pooling) by 2-3x. ``progress(done, total)`` is
        called after each operator.
        """
        todo = self.missing(ops)
        if not todo:
            return 0
        dev = resolve_device(self.device.device)
        logger.info("lookup table for %s: timing %d new operators", self.device.key, len(todo))
        with measurement_lock(), use_threads(self.device.threads), torch.inference_mode():
            for done, op in enumerate(todo, 1):
                try:
                    result = time_callable(_rotating_call(op, dev), dev, options)
                except Exception as error:
                    raise ProfilingError(f"cannot time operator {op.key} on {dev}: {error}") from error
                self.entries[op.key] = result.median * 1e3
                if progress is not None:
                    progress(done, len(todo))
        return len(todo)

    # -- predicting ----------------------------------------------------------------------------------
    def table_ms(self, ops: Iterable[OpCall]) -> float:
        """The plain sum of the entries of ``ops`` (every one must be in the table)."""
        total = 0.0
        for op in ops:
            try:
                total += self.entries[op.key]
            except KeyError:
                raise ProfilingError(f"the lookup table has no entry for {op.key}; fill it first") from None
        return total

    @staticmethod
    def correction_name(space: str | None, input_shape: Sequence[int]) -> str:
        """The name a correction is stored under: the space (or "all") and the batched input shape, since
        how much isolated timings miss depends on both."""
        return f"{space or 'all'}@{'x'.join(str(n) for n in input_shape)}"

    def correction(self, input_shape: Sequence[int], space: str | None = None) -> tuple[str, Correction]:
        """The correction for networks of ``space`` on ``input_shape`` (batch first): the space's own,
        else the one fitted over all spaces, else the identity (named "none")."""
        for name in (space, None) if space else (None,):
            key = self.correction_name(name, input_shape)
            if key in self.corrections:
                return key, self.corrections[key]
        return "none", Correction()

    def predict(self, result: Trace, space: str | None = None) -> tuple[float, dict[str, Any]]:
        """The predicted latency (ms) of a traced network and how it was obtained."""
        raw = self.table_ms(result.ops)
        name, correction = self.correction(result.input_shape, space)
        detail = {
            "table_ms": raw,
            "operators": len(result.ops),
            "distinct_operators": len({op.key for op in result.ops}),
            "correction": name,
            "coefficients": asdict(correction),
            "table": str(self.path) if self.path else None,
            "fingerprint": self.device.key,
        }
        if name == "none":
            detail["note"] = "uncalibrated: plain sum of operator latencies (run `nas-workbench calibrate`)"
        return correction.apply(raw, len(result.ops)), detail


def predict_latency(
    model: nn.Module,
    input_shape: Sequence[int],
    device: str | torch.device = "cpu",
    batch_size: int = 1,
    threads: int | None = None,
    table: LookupTable | None = None,
    space: str | None = None,
    result: Trace | None = None,
) -> Measurement:
    """Predict the latency of ``model`` on ``device`` from the lookup table, without timing the network.

    Operators the table lacks are timed now (alone, once) and saved, so the first prediction of a new kind
    of network costs a little measuring and later ones none. The result is labelled ``estimated`` with
    source ``lookup table``.

    Args:
        table: The table to use; by default the one of ``device`` at ``threads`` from the cache.
        space: The search space the network comes from, to pick its fitted correction.
        result: The network's trace at ``batch_size``, if already made.
    """
    table = table or LookupTable.for_device(device, threads)
    result = result or trace(model, input_shape, batch_size)
    measured_now = table.fill(result.ops)
    if measured_now:
        table.save()
    value, detail = table.predict(result, space)
    detail.update(
        {"batch_size": batch_size, "threads": table.device.threads, "operators_timed_now": measured_now}
    )
    return Measurement(value, METRICS["latency_ms"].unit, "estimated", "lookup table", detail)
