"""This machine's lookup-table latency as a prior of another device's profile (`targets.fit_device`).

A user's board or laptop usually ranks networks much more like the machine the workbench runs on than
like their FLOPs: the same kind of processor pays for the same operators at the same shapes. On a cell
space this machine's lookup-table prediction is a linear function of the choice counts the structure
model already fits (`device_model`), but on a chain space, or a user-defined one, the same choice costs
differently per stage, resolution and width, which the counts cannot see and the table can.

So the table's prediction (`lut.LookupTable`: the sum of the network's operator entries through the
correction calibrated for the space and input, `correction.Correction.apply`) enters the profile as one
more reference "device", `LOCAL`, in `device_transfer.TransferModel`'s evidence-weighted average:
``latency = a + b * lut_ms`` and ``a + b * lut_ms + c * FLOPs`` beside the structure model (and the
reference devices, with a table). The measurements decide by their evidence how much to trust it; for a
device unlike this machine it weighs little. Measured (benchmarks/devices/local_prior.py): on the chain,
from 10 of 60 networks measured on this machine in settings the table lacks (batch 8, 2 threads, 3x32x32),
Spearman 0.79-0.84 rose to 0.90-0.98; on NAS-Bench-201's published devices without a reference table it
cost up to 0.12 from 5 cells and 13 points within ±10% (a table approximated per multiset of edge
operations), with one it changed nothing. Hence off by default (`targets.fit_device`'s ``local_prior``).

The prior is a snapshot (`LocalPrior`): the correction as calibrated when the profile was fitted, without
the drift factor (a load of the moment; ``b`` absorbs a factor common to all networks), and the entry of
every operator the fit's networks called. The profile stores it, so the prior it was fitted against stays
the same function when this machine's table is recalibrated, and a profile copied to a machine without
the table still predicts. An architecture calling an operator the snapshot lacks takes the entry from
this machine's table (timing it if needed) where the table is the one of the snapshot's fingerprint, and
otherwise, elsewhere, gets the structure model alone (as one missing from a reference table does).

Cost: a fit with it calibrates the table first when it has no correction for the space and input
(`calibration.auto_calibrate`, about half a minute on 2 cores) and times the operators it lacks; a
prediction adds nothing to the shape-only trace the FLOPs prior already makes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nas_workbench.exceptions import ConfigError

if TYPE_CHECKING:
    from nas_workbench.profiling._trace import Trace
    from nas_workbench.profiling.device_transfer import Reference, TransferModel
    from nas_workbench.profiling.lut import LookupTable
    from nas_workbench.spec import ArchSpec

__all__ = ["LOCAL", "LocalPrior", "fit_average", "prior_columns"]

#: The prior's name among a profile's averaged models (a reference "device").
LOCAL = "this machine's lookup table"


@dataclass
class LocalPrior:
    """A snapshot of this machine's lookup table for one space and input: the table's ``fingerprint``
    (`metrics.DeviceInfo.key`), the ``correction`` (its fields) and its name, and the ``entries`` (ms)
    of the operators seen so far."""

    fingerprint: str
    correction_name: str
    correction: dict[str, Any]
    entries: dict[str, float] = field(default_factory=dict)
    _table: LookupTable | None = field(default=None, repr=False, compare=False)

    @classmethod
    def open(cls, space: str, input_shape: Sequence[int], calibrate: bool = True) -> LocalPrior | None:
        """The snapshot of this machine's CPU table (torch's thread count) for ``space`` at ``input_shape``
        (C, H, W, batch 1). A table without a correction for them is calibrated first, or, without
        ``calibrate``, gives None."""
        from nas_workbench.profiling.calibration import auto_calibrate
        from nas_workbench.profiling.lut import LookupTable

        table = LookupTable.for_device()
        batched = (1, *input_shape)
        if table.correction(batched, space)[0] == "none":
            if not calibrate:
                return None
            auto_calibrate(table, tuple(input_shape), 1, space)
        name, correction = table.correction(batched, space)
        return cls(table.device.key, name, correction.to_dict(), _table=table)

    @classmethod
    def choose(
        cls, option: bool | LocalPrior | None, space: str, input_shape: Sequence[int]
    ) -> LocalPrior | None:
        """`fit_device`'s ``local_prior``: a snapshot as given (a profile fitted again keeps its own), True
        this machine's (calibrating it if needed), None this machine's where calibrated, False none."""
        if isinstance(option, LocalPrior) or option is False:
            return option or None
        return cls.open(space, input_shape, calibrate=bool(option))

    def _here(self) -> LookupTable | None:
        """This machine's table, if it is the snapshot's (same fingerprint); None elsewhere."""
        if self._table is None:
            from nas_workbench.profiling.lut import LookupTable

            table = LookupTable.for_device()
            self._table = table if table.device.key == self.fingerprint else None
        return self._table

    def __call__(self, result: Trace) -> float | None:
        """The network's latency on this machine as the snapshot predicts it, or None where an operator
        is missing from it and this machine's table is not the snapshot's."""
        from nas_workbench.profiling.correction import Correction
        from nas_workbench.profiling.lut import is_compute_bound

        missing = [op for op in result.ops if op.key not in self.entries]
        if missing:
            table = self._here()
            if table is None:
                return None
            if table.fill(missing):
                table.save()
            self.entries.update({op.key: table.entries[op.key] for op in missing})
        entries = [self.entries[op.key] for op in result.ops]
        compute = sum(self.entries[op.key] for op in result.ops if is_compute_bound(op))
        # as a local budget's predicted latency is made (`engine.local_costs.LutLatency`), without drift
        return Correction(**self.correction).predict(sum(entries), len(entries), compute, None)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "correction_name": self.correction_name,
            "correction": self.correction,
            "entries": self.entries,
        }


def prior_columns(
    table: Reference | None, devices: Sequence[str], arch_ids: Sequence[str], local_ms: Sequence[float | None]
) -> np.ndarray | None:
    """The inputs of the averaged models for ``arch_ids`` (one row each, one column per ``devices``): a
    reference device's latencies from ``table``, `LOCAL`'s from ``local_ms``; None if one is missing."""
    named = [d for d in devices if d != LOCAL]
    rows = (
        table.rows(arch_ids, named) if table is not None else None if named else np.zeros((len(arch_ids), 0))
    )
    if rows is None or (LOCAL in devices and any(v is None for v in local_ms)):
        return None
    columns = {d: rows[:, j] for j, d in enumerate(named)}
    if LOCAL in devices:
        columns[LOCAL] = np.array(local_ms, dtype=float)
    return np.column_stack([columns[d] for d in devices]) if devices else np.zeros((len(arch_ids), 0))


def fit_average(
    rows: Sequence[Mapping[str, float]],
    y: np.ndarray,
    space: Any,
    specs: Sequence[ArchSpec],
    table: Reference | None,
    local: LocalPrior | None,
    local_ms: Sequence[float | None],
) -> TransferModel | None:
    """The evidence-weighted average over a profile's priors (`TransferModel`): the reference devices of
    ``table``, where every measured architecture (``specs``, of ``space``) must be, and this machine's
    table (``local``, which predicted ``local_ms``); None without either."""
    from nas_workbench.profiling.device_transfer import TransferModel  # it reads tables device_model's way

    if table is not None:
        for index, spec in enumerate(specs):
            if spec.id not in table.index:
                raise ConfigError(
                    f"archs[{index}]",
                    space.format(spec),
                    f"an architecture of the reference table {table.path}",
                )
    devices = [*(table.columns() if table is not None else []), *[LOCAL] * (local is not None)]
    others = prior_columns(table, devices, [s.id for s in specs], local_ms) if devices else None
    return None if others is None else TransferModel.fit(rows, others, devices, y)
