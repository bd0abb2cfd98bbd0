"""Calibration: fill this device's lookup table and fit its corrections against measured networks.

For each search space, a few random architectures are built and traced; every operator they call is timed
once (the lookup table), then each whole network is measured, and the linear correction that maps table
sums to measured latency is fitted per space and over all spaces. ``nas-workbench calibrate`` runs it with
a progress bar; ``profile(..., method="proxy")`` then predicts in milliseconds without timing networks.

Networks are measured in several rounds, one over all of them after another, and each is fitted on the
minimum of its rounds (each round's figure is itself the minimum of many blocks, `latency`). A burst of load
from other processes slows every network measured meanwhile by the same factor, which a fit on one round
takes for the device's and carries into every later prediction (on a shared 2-core VM, one such burst during
a 10-second calibration made a space's predictions 16% too high in the median); with rounds spread over time
it spoils at most one measurement of each network.

Right after the fits, each correction's drift references get their baseline (`drift.reference_baseline`),
so that later re-timings measure how much the machine changed since (its drift): for a space's own
correction, five of its calibration networks that span their measured latencies (`drift.spanning_seeds`),
whose calibration figures are the baseline where they were timed as the re-timings will be (else they are
timed then).

Fits are guarded (`correction`): one that ignores the table or predicts worse than the plain sum out of
sample is refused for a simpler one, with a log line; the quality of the fit used is printed and stored.
A prediction that finds no fitted correction calibrates automatically, on fewer networks
(`auto_calibrate`), so no prediction is silently uncalibrated.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling._device import use_threads
from nas_workbench.profiling._trace import Trace, trace
from nas_workbench.profiling.correction import Correction, FitQuality, fit_quality
from nas_workbench.profiling.drift import reference_baseline
from nas_workbench.profiling.latency import TimingOptions, measure_latency
from nas_workbench.profiling.lut import OP_TIMING, LookupTable

__all__ = [
    "CalibrationResult",
    "FitQuality",
    "auto_calibrate",
    "calibrate",
    "fit_quality",
]

logger = logging.getLogger("nas_workbench")

#: The automatic calibration of a first prediction: fewer networks, rounds and timing than `calibrate`'s
#: defaults, to take well under a minute on 2 cores.
AUTO_NETWORKS = 8
AUTO_ROUNDS = 2
AUTO_TIMING = TimingOptions(min_time_s=0.0, max_time_s=0.15, slow_time_s=0.0, stable_repeats=10)

#: ``progress(stage, done, total)``: stage is "operators" (timing the table) or "networks" (measuring).
Progress = Callable[[str, int, int], None]


@dataclass
class CalibrationResult:
    """What `calibrate` did: the table, its file, the corrections' in-sample fit (by space, and "all")
    and the time taken."""

    table: LookupTable
    path: Path
    fits: dict[str, FitQuality] = field(default_factory=dict)
    #: Each space's calibration networks as ``(seed, latency_ms)``: the seed of ``space.random`` and the
    #: minimum of the network's rounds, the figure its correction was fitted on.
    measured: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    operators_timed: int = 0
    rounds: int = 1
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.path),
            "fingerprint": self.table.device.to_dict(),
            "entries": len(self.table.entries),
            "operators_timed": self.operators_timed,
            "rounds": self.rounds,
            "seconds": round(self.seconds, 2),
            "corrections": {name: asdict(c) for name, c in self.table.corrections.items()},
            "fits": {name: asdict(q) for name, q in self.fits.items()},
        }


def calibrate(
    device: str | torch.device = "cpu",
    threads: int | None = None,
    spaces: Sequence[str] | None = None,
    input_shape: Sequence[int] = (3, 32, 32),
    num_classes: int = 10,
    networks: int = 20,
    rounds: int = 3,
    batch_size: int = 1,
    seed: int = 0,
    directory: Path | None = None,
    timing: TimingOptions | None = None,
    op_timing: TimingOptions = OP_TIMING,
    progress: Progress | None = None,
    table: LookupTable | None = None,
) -> CalibrationResult:
    """Build this device's lookup table and fit its corrections on ``networks`` random networks per space.

    Args:
        device: The device to calibrate ("cpu", "cuda", ...).
        threads: Torch intra-op threads (part of the fingerprint; default: torch's current setting).
        spaces: Search-space names (default: every registered space).
        input_shape: The input (C, H, W) the networks are built for; tables are per input shape, since
            operator latencies depend on it.
        num_classes: Classifier outputs of the built networks.
        networks: Random architectures measured per space (at least 3).
        rounds: Times each network is measured, in rounds over all of them; the median is fitted.
        batch_size: Batch size the table and corrections are for.
        seed: Seed of the random architectures.
        directory: Where tables live (default: the profiling cache).
        timing: Options for measuring whole networks.
        op_timing: Options for timing each operator of the table.
        progress: Called as ``progress(stage, done, total)`` while operators and networks are measured.
        table: The table to fill and fit (default: the one of ``device`` at ``threads`` in ``directory``).
    """
    from nas_workbench import spaces as registry

    if isinstance(networks, bool) or not isinstance(networks, int) or networks < 3:
        raise ConfigError("networks", networks, "a whole number of at least 3 (the correction has 3 terms)")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ConfigError("rounds", rounds, "a whole number of at least 1")
    start = time.perf_counter()
    names = list(spaces) if spaces else registry.list()
    table = table or LookupTable.for_device(device, threads, directory)
    shape = tuple(input_shape)
    built: dict[str, list[tuple[int, torch.nn.Module, Trace]]] = {}
    with use_threads(table.device.threads):
        for name in names:
            space = registry.get(name)
            specs: dict[str, tuple[int, Any]] = {}
            for i in range(networks):  # distinct architectures, each with its first seed
                spec = space.random(seed + i)
                specs.setdefault(spec.id, (seed + i, spec))
            models = [(at, space.build(spec, shape, num_classes).eval()) for at, spec in specs.values()]
            built[name] = [(at, model, trace(model, shape, batch_size)) for at, model in models]

    all_ops = [op for group in built.values() for _, _, result in group for op in result.ops]
    report = (lambda done, total: progress("operators", done, total)) if progress else None
    timed = table.fill(all_ops, op_timing, report)
    table.save()

    networks_built = [
        (name, at, model, result) for name, group in built.items() for at, model, result in group
    ]
    latencies: list[list[float]] = [[] for _ in networks_built]
    total = rounds * len(networks_built)
    for done in range(total):  # round after round over every network (see the module docstring)
        _, _, model, _ = networks_built[done % len(networks_built)]
        latency = measure_latency(model, shape, table.device.device, batch_size, table.device.threads, timing)
        latencies[done % len(networks_built)].append(latency.value)
        if progress is not None:
            progress("networks", done + 1, total)

    rows: dict[str, tuple[list[float], list[float], list[int], list[float]]] = {
        name: ([], [], [], []) for name in [*built, "all"]
    }
    rounds_by_space: dict[str, list[tuple[int, list[float]]]] = {name: [] for name in built}
    for (name, at, _, result), values in zip(networks_built, latencies, strict=True):
        rounds_by_space[name].append((at, values))
        for key in (name, "all"):
            sums, compute, counts, measured = rows[key]
            sums.append(table.table_ms(result.ops))
            compute.append(table.compute_ms(result.ops))
            counts.append(len(result.ops))
            measured.append(min(values))
    fits: dict[str, FitQuality] = {}
    for name, (sums, compute, counts, measured) in rows.items():
        key = table.correction_name(None if name == "all" else name, (batch_size, *shape))
        correction = Correction.fit(sums, counts, measured, name=key, compute_ms=compute)
        table.corrections[key] = correction
        predicted = [correction.apply(*row) for row in zip(sums, counts, compute, strict=True)]
        fits[name] = fit_quality(predicted, measured)
    for name in rows:  # the drift references' baseline, in the fits' conditions (`drift`)
        own = name != "all"
        reference_baseline(table, shape, batch_size, name if own else None,
                           rounds_by_space[name] if own else (), timing or TimingOptions())  # fmt: skip
    path = table.save()
    seconds = time.perf_counter() - start
    figures = {name: [(at, min(values)) for at, values in pairs] for name, pairs in rounds_by_space.items()}
    return CalibrationResult(table, path, fits, figures, timed, rounds, seconds)


def auto_calibrate(
    table: LookupTable,
    input_shape: Sequence[int],
    batch_size: int = 1,
    space: str | None = None,
    progress: Progress | None = None,
) -> CalibrationResult:
    """Calibrate ``table`` quickly for networks of ``space`` (default: every space) on ``input_shape``
    (C, H, W), because a prediction found no fitted correction: `AUTO_NETWORKS` networks in all (at least
    3 per space), `AUTO_ROUNDS` rounds, short timings. Logs what it does, and reports to ``progress``."""
    from nas_workbench import spaces as registry

    names = [space] if space else registry.list()
    per_space = max(3, AUTO_NETWORKS // len(names))
    where = f"{table.device.key}, input {'x'.join(str(n) for n in input_shape)}, {space or 'all spaces'}"
    logger.warning(
        "no fitted lookup-table correction for %s: calibrating now on %d networks (run "
        "`nas-workbench calibrate` for a fuller calibration)",
        where,
        per_space * len(names),
    )
    result = calibrate(
        table.device.device,
        table.device.threads,
        names,
        input_shape,
        networks=per_space,
        rounds=AUTO_ROUNDS,
        batch_size=batch_size,
        timing=AUTO_TIMING,
        progress=progress or _log_progress,
        table=table,
    )
    for name, quality in result.fits.items():
        logger.info("automatic calibration, %s: %s", name, quality)
    return result


def _log_progress(stage: str, done: int, total: int) -> None:
    """Progress as log lines (a quarter at a time), where no progress bar is shown."""
    if done == total or done % max(1, total // 4) == 0:
        logger.info("calibrating: %s %d/%d", stage, done, total)
