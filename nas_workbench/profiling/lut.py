"""A per-device lookup table of operator latencies that predicts a network's latency without timing it.

In the manner of FBNet, ProxylessNAS and nn-Meter: the latency of each operator is measured once per
device, per argument shapes, strides and dtypes, and kept on disk; a network's latency is then the sum of
its operators' entries, passed through a linear correction fitted against real measurements:

    predicted_ms = scale * sum(entries) + per_op_ms * number_of_operators + offset_ms

with, where it predicts better out of sample, a scale of their own for the compute-bound operators
(convolutions, matrix products) among the entries (`correction`).

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
repeated input were over-predicted by 10-38%. Even with both on fresh data, compute-bound operators
and the rest deviate from their isolated timings by different factors (`correction` says why and how
much), so the calibration also tries a scale per kind, and keeps it where leave-one-out says it predicts
better.

Operators are timed like networks: the minimum of many short blocks (`latency`), so the table and the
measurements it is fitted against resist other processes' load alike.

Tables live in the profiling cache, one JSON file per device fingerprint (device, model, cores, torch
version, thread count, driver): change any of them and a new, empty table is filled instead of reusing
stale timings. Corrections are fitted by `calibrate` (``nas-workbench calibrate``), per search space and
overall, guarded against degenerate fits (`correction`), and stored with their quality. A prediction
that finds no fitted correction calibrates the table first (or, with ``auto_calibrate=False``, warns once
and is labelled "uncalibrated lookup table"). Each correction also has a drift factor (`drift`): a few
reference networks' latency now over their latency when the correction was fitted, re-timed at the start
of every search and when the load changes, by which predictions are multiplied, so a table calibrated
on a quiet machine still predicts on a busy one and the other way round.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nas_workbench._warnings import warn_caller
from nas_workbench.exceptions import ConfigError, ProfilingError
from nas_workbench.metrics import METRICS, DeviceInfo, Measurement
from nas_workbench.profiling._device import device_info, resolve_device, use_threads
from nas_workbench.profiling._trace import OpCall, Trace, trace
from nas_workbench.profiling.cache import cache_dir, read_json, write_json_atomic
from nas_workbench.profiling.correction import Correction, Drift
from nas_workbench.profiling.latency import TimingOptions, time_callable
from nas_workbench.profiling.lock import file_lock, measurement_lock

__all__ = ["Correction", "LookupTable", "predict_latency"]

logger = logging.getLogger("nas_workbench")

#: How carefully each operator is timed: short, since a network sums many of them.
OP_TIMING = TimingOptions(
    warmup_s=0.005,
    accelerator_warmup_s=0.02,  # one kernel, loaded by its first call: a network's 0.5 s would be minutes
    min_repeats=7,
    stable_repeats=7,
    max_repeats=300,
    rel_ci=0.02,
    min_time_s=0.0,
    max_time_s=0.1,
    slow_time_s=0.0,
    min_block_s=5e-5,
)

#: Bytes of argument copies an operator cycles through while timed (more than a core's L2 cache, and
#: around the working set of a small network), and the most copies made.
ROTATE_BYTES = 8_000_000
MAX_COPIES = 256

#: Version of the table file; tables of another version are ignored and rebuilt. 3: corrections fitted
#: against networks measured on fresh inputs (2's were fitted on one repeated input). 4: entries and
#: networks timed by their minimum (3's by the median), corrections guarded against degenerate fits and
#: stored with their quality, drift factors. 5: corrections may scale compute-bound operators apart.
_FORMAT = 5


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
        drift: dict[str, Drift] | None = None,
    ) -> None:
        self.device = device
        self.entries: dict[str, float] = dict(entries or {})
        self.corrections: dict[str, Correction] = dict(corrections or {})
        #: The drift factor of each correction (by its name), from `drift.refresh_drift`.
        self.drift: dict[str, Drift] = dict(drift or {})
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
        for name, fields in data.get("drift", {}).items():
            self.drift.setdefault(name, Drift(**fields))

    def save(self) -> Path:
        """Write the table (merged with entries other processes saved meanwhile, and with their drift factors
        where timed later than ours) and return its path."""
        if self.path is None:
            self.path = self.path_for(self.device)
        with file_lock(self.path.with_suffix(".lock")):
            on_disk = LookupTable(self.device)
            on_disk._merge(read_json(self.path))
            merged = {**on_disk.entries, **self.entries}
            corrections = {**on_disk.corrections, **self.corrections}
            drift = {**on_disk.drift, **self.drift}  # per correction, the one timed last
            drift.update({k: d for k, d in on_disk.drift.items() if d.timed_at > drift[k].timed_at})
            write_json_atomic(
                self.path,
                {
                    "format": _FORMAT,
                    "key": self.device.key,
                    "fingerprint": self.device.to_dict(),
                    "entries": merged,
                    "corrections": {name: c.to_dict() for name, c in corrections.items()},
                    "drift": {name: d.to_dict() for name, d in drift.items()},
                },
            )
        self.entries, self.corrections, self.drift = merged, corrections, drift
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

        Each is timed like a network (the minimum of many short blocks, `latency.time_callable`) on fresh
        tensors of the recorded layouts (random floats, zero integers), alone, under the
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
                self.entries[op.key] = result.estimate * 1e3
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

    def compute_ms(self, ops: Iterable[OpCall]) -> float:
        """The sum of the entries of the compute-bound operators of ``ops`` (see `is_compute_bound`)."""
        return self.table_ms(op for op in ops if is_compute_bound(op))

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
        return "none", Correction(kind="none")

    def predict(self, result: Trace, space: str | None = None) -> tuple[float, dict[str, Any]]:
        """The predicted latency (ms) of a traced network and how it was obtained: the table sum, through
        the fitted correction, times the drift factor last measured for that correction (at this network's
        corrected latency, for a drift that depends on the size: `correction.Drift.at`)."""
        raw, compute = self.table_ms(result.ops), self.compute_ms(result.ops)
        name, correction = self.correction(result.input_shape, space)
        drift = self.drift.get(name)
        value, factor = correction.predict(raw, len(result.ops), compute, drift)
        detail: dict[str, Any] = {
            "table_ms": raw,
            "compute_ms": compute,
            "operators": len(result.ops),
            "distinct_operators": len({op.key for op in result.ops}),
            "correction": name,
            "calibrated": name != "none",
            "fit": correction.kind,
            "coefficients": {k: getattr(correction, k) for k in COEFFICIENTS},
            "drift_factor": factor,
            "table": str(self.path) if self.path else None,
            "fingerprint": self.device.key,
        }
        if drift is not None:
            detail["drift_load_average"] = drift.load_average
        if name == "none":
            hint = calibrate_hint(self, result.input_shape, space)
            detail["note"] = f"uncalibrated: plain sum of operator latencies (run `{hint}`)"
        return value, detail


def is_compute_bound(op: OpCall) -> bool:
    """Whether ``op`` is a compute-bound operator, one whose time goes to arithmetic rather than memory
    traffic and call overhead: those `torch.utils.flop_counter` counts FLOPs for (convolutions, matrix
    products, attention)."""
    from torch.utils.flop_counter import flop_registry

    return op.func.overloadpacket in flop_registry


def calibrate_hint(table: LookupTable, input_shape: Sequence[int], space: str | None) -> str:
    """The command that calibrates ``table`` for networks of ``space`` on ``input_shape`` (batch first)."""
    (batch, *shape), device = input_shape, table.device
    return f"nas-workbench calibrate --device {device.device} --threads {device.threads} --input-shape " + (
        f"{','.join(str(n) for n in shape)} --batch-size {batch}" + (f" --spaces {space}" if space else "")
    )


#: The fitted fields of a correction, as a prediction's detail reports them.
COEFFICIENTS = ("scale", "compute_scale", "per_op_ms", "offset_ms", "samples")

#: (fingerprint, correction name) pairs already warned about as uncalibrated, in this process.
_warned: set[tuple[str, str]] = set()


def _warn_uncalibrated(table: LookupTable, result: Trace, space: str | None) -> None:
    """Warn once per table fingerprint and correction that predictions are the plain, uncalibrated sum."""
    key = (table.device.key, table.correction_name(space, result.input_shape))
    if key in _warned:
        return
    _warned.add(key)
    warn_caller(
        f"the lookup table of {table.device.key} has no fitted correction for {key[1]}: latency "
        f"predictions are the plain sum of operator latencies, often far from measured. "
        f"Run `{calibrate_hint(table, result.input_shape, space)}`."
    )


def predict_latency(
    model: nn.Module,
    input_shape: Sequence[int],
    table: LookupTable | None = None,
    *,
    batch_size: int = 1,
    space: str | None = None,
    result: Trace | None = None,
    auto_calibrate: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> Measurement:
    """Predict the latency of ``model`` on ``table``'s device from the table, without timing the network.

    Operators the table lacks are timed now (alone, once) and saved, so the first prediction of a new kind
    of network costs a little measuring and later ones none. The result is labelled ``estimated`` with
    source ``lookup table``.

    No prediction is silently uncalibrated: the first one for a device, input shape and space without a
    fitted correction calibrates the table first (`calibrate.auto_calibrate`: a small calibration, about
    half a minute on 2 cores, with ``progress`` called or log lines); with ``auto_calibrate=False`` it
    warns once with the command to run instead, and the figure's source is "uncalibrated lookup table".
    When a drift factor was measured for the correction (at the start of a search) and the load average
    has changed markedly since, the reference networks are re-timed first (`drift.refresh_drift`).

    The table says which device and thread count the prediction is for, so a call cannot name one device
    and use another's table; for another device, pass its table: ``LookupTable.for_device("cuda", 4)``.

    Args:
        table: The table to use; by default this machine's CPU table at torch's current thread count,
            from the cache.
        batch_size: The batch the prediction is for.
        space: The search space the network comes from, to pick its fitted correction.
        result: The network's trace at ``batch_size``, if already made.
        auto_calibrate: Calibrate when there is no fitted correction (else warn once).
        progress: ``progress(stage, done, total)`` during an automatic calibration.
    """
    from nas_workbench.profiling.calibration import auto_calibrate as calibrate_now
    from nas_workbench.profiling.drift import refresh_drift

    if table is None:
        table = LookupTable.for_device()
    elif not isinstance(table, LookupTable):  # the device, where it stood before the table named it
        raise ConfigError(
            "table", table, "a LookupTable, e.g. LookupTable.for_device(device, threads) for another device"
        )
    result = result or trace(model, input_shape, batch_size)
    if table.correction(result.input_shape, space)[0] == "none":
        if auto_calibrate:
            calibrate_now(table, tuple(input_shape), batch_size, space, progress)
        else:
            _warn_uncalibrated(table, result, space)
    name = table.correction(result.input_shape, space)[0]
    if name in table.drift:
        refresh_drift(table, tuple(input_shape), batch_size, space, force=False)
    measured_now = table.fill(result.ops)
    if measured_now:
        table.save()
    value, detail = table.predict(result, space)
    detail.update(
        {"batch_size": batch_size, "threads": table.device.threads, "operators_timed_now": measured_now}
    )
    source = "lookup table" if detail["calibrated"] else "uncalibrated lookup table"
    return Measurement(value, METRICS["latency_ms"].unit, "estimated", source, detail)
