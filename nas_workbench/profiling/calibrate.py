"""Calibration: fill this device's lookup table and fit its corrections against measured networks.

For each search space, a few random architectures are built and traced; every operator they call is timed
once (the lookup table), then each whole network is measured, and the linear correction that maps table
sums to measured latency is fitted per space and over all spaces. ``nas-workbench calibrate`` runs it with
a progress bar; ``profile(..., method="proxy")`` then predicts in milliseconds without timing networks.

Networks are measured in several rounds, one over all of them after another, and each is fitted on the
median of its rounds. A burst of load from other processes slows every network measured meanwhile by the
same factor, which a fit on one round takes for the device's and carries into every later prediction
(on a shared 2-core VM, one such burst during a 10-second calibration made a space's predictions 16%
too high in the median); with rounds spread over time it spoils at most one measurement of each network.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling._device import use_threads
from nas_workbench.profiling._trace import Trace, trace
from nas_workbench.profiling.latency import TimingOptions, measure_latency
from nas_workbench.profiling.lut import OP_TIMING, Correction, LookupTable

__all__ = [
    "CalibrationResult",
    "FitQuality",
    "add_calibrate_arguments",
    "calibrate",
    "calibrate_command",
    "fit_quality",
]

#: ``progress(stage, done, total)``: stage is "operators" (timing the table) or "networks" (measuring).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class FitQuality:
    """How well a correction reproduces the measured latencies it was fitted on."""

    networks: int
    spearman: float
    within_10pct: float
    median_abs_error_pct: float

    def __str__(self) -> str:
        return (
            f"{self.networks} networks, Spearman {self.spearman:.3f}, "
            f"{100 * self.within_10pct:.0f}% within ±10%, median error {self.median_abs_error_pct:.1f}%"
        )


def fit_quality(predicted: Sequence[float], measured: Sequence[float]) -> FitQuality:
    """Rank correlation and relative error of ``predicted`` against ``measured`` latencies."""
    from scipy.stats import spearmanr

    pred, meas = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    error = np.abs(pred - meas) / meas
    rho = float(spearmanr(pred, meas).statistic) if len(meas) > 2 else float("nan")
    return FitQuality(len(meas), rho, float(np.mean(error <= 0.10)), float(100 * np.median(error)))


@dataclass
class CalibrationResult:
    """What `calibrate` did: the table, its file, the corrections' in-sample fit (by space, and "all")
    and the time taken."""

    table: LookupTable
    path: Path
    fits: dict[str, FitQuality] = field(default_factory=dict)
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
    """
    from nas_workbench import spaces as registry

    if isinstance(networks, bool) or not isinstance(networks, int) or networks < 3:
        raise ConfigError("networks", networks, "a whole number of at least 3 (the correction has 3 terms)")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ConfigError("rounds", rounds, "a whole number of at least 1")
    start = time.perf_counter()
    names = list(spaces) if spaces else registry.list()
    table = LookupTable.for_device(device, threads, directory)
    shape = tuple(input_shape)
    built: dict[str, list[tuple[torch.nn.Module, Trace]]] = {}
    with use_threads(table.device.threads):
        for name in names:
            space = registry.get(name)
            specs = {spec.id: spec for spec in (space.random(seed + i) for i in range(networks))}
            models = [space.build(spec, shape, num_classes).eval() for spec in specs.values()]
            built[name] = [(model, trace(model, shape, batch_size)) for model in models]

    all_ops = [op for pairs in built.values() for _, result in pairs for op in result.ops]
    report = (lambda done, total: progress("operators", done, total)) if progress else None
    timed = table.fill(all_ops, op_timing, report)
    table.save()

    networks_built = [(name, model, result) for name, pairs in built.items() for model, result in pairs]
    latencies: list[list[float]] = [[] for _ in networks_built]
    total = rounds * len(networks_built)
    for done in range(total):  # round after round over every network (see the module docstring)
        _, model, _ = networks_built[done % len(networks_built)]
        latency = measure_latency(model, shape, device, batch_size, table.device.threads, timing)
        latencies[done % len(networks_built)].append(latency.value)
        if progress is not None:
            progress("networks", done + 1, total)

    rows: dict[str, tuple[list[float], list[int], list[float]]] = {name: ([], [], []) for name in built}
    rows["all"] = ([], [], [])
    for (name, _, result), values in zip(networks_built, latencies, strict=True):
        for key in (name, "all"):
            sums, counts, measured = rows[key]
            sums.append(table.table_ms(result.ops))
            counts.append(len(result.ops))
            measured.append(statistics.median(values))
    fits: dict[str, FitQuality] = {}
    for name, (sums, counts, measured) in rows.items():
        correction = Correction.fit(sums, counts, measured)
        key = table.correction_name(None if name == "all" else name, (batch_size, *shape))
        table.corrections[key] = correction
        predicted = [correction.apply(s, c) for s, c in zip(sums, counts, strict=True)]
        fits[name] = fit_quality(predicted, measured)
    path = table.save()
    return CalibrationResult(table, path, fits, timed, rounds, time.perf_counter() - start)


# -- command line ----------------------------------------------------------------------------------------
def add_calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``nas-workbench calibrate``."""
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default: cpu)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's setting)")
    parser.add_argument("--spaces", help="comma-separated search spaces (default: all)")
    parser.add_argument("--input-shape", default="3,32,32", help="C,H,W of the inputs (default: 3,32,32)")
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--networks", type=int, default=20, help="random networks measured per space")
    parser.add_argument("--rounds", type=int, default=3, help="times each network is measured (median)")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise ConfigError("--input-shape", text, "comma-separated positive integers such as 3,32,32")
    return shape


def calibrate_command(args: argparse.Namespace) -> int:
    """``nas-workbench calibrate``: build this device's lookup table, with a progress bar on stderr."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="op" if stage == "operators" else "net")
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    result = calibrate(
        device=args.device,
        threads=args.threads,
        spaces=args.spaces.split(",") if args.spaces else None,
        input_shape=_shape(args.input_shape),
        num_classes=args.num_classes,
        networks=args.networks,
        rounds=args.rounds,
        batch_size=args.batch_size,
        seed=args.seed,
        progress=progress,
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"Lookup table for {result.table.device.key}: {result.path}")
    entries, timed = len(result.table.entries), result.operators_timed
    print(f"{entries} operator entries ({timed} timed now) in {result.seconds:.1f} s")
    shape = (args.batch_size, *_shape(args.input_shape))
    for name, quality in result.fits.items():
        c = result.table.corrections[result.table.correction_name(None if name == "all" else name, shape)]
        print(
            f"  {name:<13} {quality}  [ms = {c.scale:.3f} x table + {1e3 * c.per_op_ms:.2f} us x ops"
            f" + {c.offset_ms:.3f}]"
        )
    return 0
