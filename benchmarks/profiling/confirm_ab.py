"""Does timing again a stable figure far from the network's recent ones steady the reported latency?

The ten networks of ``repeatability.py``, each profiled ``--repeats`` times in a row as that script does,
every profile timed twice back to back (`measure_latency`, the default options). Two rules are then applied
to the very same timings, with the workbench's own `StableFigures` on the timings' clock:

- ``main``: the first timing of each profile, an unstable one replaced by the median of the network's recent
  stable figures (`StableFigures.settle`, the rule before `confirm`);
- ``confirm``: the same, after `StableFigures.confirm`: a stable first timing more than
  `CONFIRM_TOLERANCE` from the median of the network's recent stable figures takes the second timing as its
  retime, and the one nearer that median is reported.

For each: the coefficient of variation (CV) of the reported latency over each network's profiles, its
median over the networks, how many are at most 3% (the goal of issue 13, with one core busy: ``--busy``),
and how many profiles ``confirm`` timed again (what it costs: one timing each). Same data, same machine: the
arms differ only in the rule.

    python benchmarks/profiling/confirm_ab.py [--repeats 10] [--networks 10] [--busy] [--json out.json]
"""

from __future__ import annotations

import functools
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _busy import busy_core, load  # this folder is on the path when run as a script
from repeatability import cv, networks
from torch import nn

from nas_workbench.metrics import Measurement
from nas_workbench.profiling.latency import TimingOptions, measure_latency
from nas_workbench.profiling.stable_figures import StableFigures

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

Pair = tuple[float, Measurement, Measurement]  # when the first timing ended (monotonic s), both timings


def record(model: nn.Module, shape: tuple[int, ...], repeats: int) -> list[Pair]:
    """``repeats`` profiles of ``model``, each two default timings back to back."""
    pairs = []
    for _ in range(repeats):
        first = measure_latency(model, shape, "cpu", 1, 1, TimingOptions())
        ended = time.monotonic()
        second = measure_latency(model, shape, "cpu", 1, 1, TimingOptions())
        pairs.append((ended, first, second))
    return pairs


def _same(measurement: Measurement) -> Measurement:
    """The recorded second timing, as the retime `StableFigures.confirm` asks for."""
    return measurement


def replay(pairs: list[Pair], confirm: bool) -> tuple[list[float], int]:
    """The figures one rule reports for a network's profiles, and how many profiles it timed again."""
    figures, values, retimes = StableFigures(), [], 0
    for ended, first, second in pairs:
        measured = first
        if confirm:
            measured = figures.confirm("network", first, functools.partial(_same, second), now=ended)
            retimes += "confirmation" in (measured.detail or {})
        values.append(figures.settle("network", measured, now=ended).value)
    return values, retimes


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--networks", type=int, default=10)
    args = parser.parse_args()
    shape = (3, 32, 32)
    rows: list[dict[str, Any]] = []
    with busy_core(args.busy):
        started = load()
        for name, model in networks(args.networks, shape).items():
            pairs = record(model, shape, args.repeats)
            main_values, _ = replay(pairs, confirm=False)
            confirm_values, retimes = replay(pairs, confirm=True)
            rows.append(
                {
                    "network": name,
                    "cv_main": cv(main_values),
                    "cv_confirm": cv(confirm_values),
                    "retimes": retimes,
                    "main_ms": main_values,
                    "confirm_ms": confirm_values,
                    "first_ms": [first.value for _, first, _ in pairs],
                    "second_ms": [second.value for _, _, second in pairs],
                    "first_stable": [first.detail["stable"] for _, first, _ in pairs],
                }
            )
        ended = load()
    print(f"{'network':<20} {'CV main':>8} {'CV confirm':>10} {'timed again':>11}")
    for row in rows:
        print(
            f"{row['network']:<20} {100 * row['cv_main']:>7.1f}% {100 * row['cv_confirm']:>9.1f}% "
            f"{row['retimes']:>11}"
        )
    for arm in ("main", "confirm"):
        values = [row[f"cv_{arm}"] for row in rows]
        print(
            f"{arm}: median CV {100 * statistics.median(values):.1f}%, "
            f"{sum(v <= 0.03 for v in values)} of {len(values)} ≤ 3%, worst {100 * max(values):.1f}%"
        )
    print(
        f"timed again: {sum(row['retimes'] for row in rows)} of {args.repeats * len(rows)} profiles; "
        f"busy core {'yes' if args.busy else 'no'}, load {started} -> {ended}"
    )
    if args.json:
        _report.write_json(
            args.json, {"busy": args.busy, "load_start": started, "load_end": ended, "networks": rows}
        )


if __name__ == "__main__":
    main()
