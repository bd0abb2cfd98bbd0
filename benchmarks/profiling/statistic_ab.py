"""Which statistic of a timing repeats best from one profile to the next? All of them from the same blocks.

The ten networks of ``repeatability.py`` are each profiled ``--repeats`` times, round after round, every
profile a fixed ``--blocks`` blocks (no stopping rule) with the reference workload read between them, as
`measure_latency` reads it. From each profile's blocks every candidate is computed, so the candidates see the
very same machine and differ only in the statistic: the minimum of the first 10 blocks (what a profile that
stops early reports), of blocks 6-15 (a longer warm-up), of blocks 11-40, of all of them; p10; the median;
and the minimum over the reference workload's fastest reading in the same profile (duet-style: the network
at the machine's speed of the moment), p10 over the reference's p10, and the minimum over the median of the
minima of the reference's groups of five readings (``min/ref level``, which one lucky reading does not
move; `reference.Canary` reports it as ``reference_level_ms``). For each: the coefficient of
variation (CV) over the profiles of each network, its median over the networks and how many are at most 3%
(the goal of issue 13, with one core busy: ``--busy``).

    python benchmarks/profiling/statistic_ab.py [--repeats 8] [--blocks 60] [--busy] [--json out.json]
"""

from __future__ import annotations

import itertools
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from _busy import busy_core, load  # this folder is on the path when run as a script
from repeatability import cv, networks

from nas_workbench.profiling._device import use_threads
from nas_workbench.profiling.latency import INPUT_COPIES, TimingOptions, example_inputs, time_callable
from nas_workbench.profiling.reference import group_minima

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

Profile = dict[str, list[float]]  # "blocks" (s per call, in time order) and "reference" (s per reading)


def _p10(values: Sequence[float]) -> float:
    return float(np.quantile(values, 0.1))


def _level(readings: Sequence[float]) -> float:
    """The reference's speed in a profile: the median of its group minima (the least reading with fewer
    readings than one group)."""
    groups = group_minima(list(readings))
    return statistics.median(groups) if groups else min(readings)


#: The candidate statistics of one profile.
STATISTICS: dict[str, Callable[[Profile], float]] = {
    "min 1-10": lambda p: min(p["blocks"][:10]),
    "min 6-15": lambda p: min(p["blocks"][5:15]),
    "min 11-40": lambda p: min(p["blocks"][10:40]),
    "min all": lambda p: min(p["blocks"]),
    "p10": lambda p: _p10(p["blocks"]),
    "median": lambda p: statistics.median(p["blocks"]),
    "min/ref": lambda p: min(p["blocks"]) / min(p["reference"]),
    "p10/ref p10": lambda p: _p10(p["blocks"]) / _p10(p["reference"]),
    "min/ref level": lambda p: min(p["blocks"]) / _level(p["reference"]),
}


def profile_blocks(model: torch.nn.Module, shape: tuple[int, ...], blocks: int) -> Profile:
    """One profile of ``model``: ``blocks`` blocks and the reference readings between them."""
    cpu = torch.device("cpu")
    inputs = itertools.cycle(example_inputs(model, shape, 1, cpu, INPUT_COPIES))
    options = TimingOptions(min_repeats=blocks, max_repeats=blocks, max_time_s=60.0)
    with torch.inference_mode():
        result = time_callable(lambda: model(next(inputs)), cpu, options)
    assert result.canary is not None
    return {"blocks": result.samples, "reference": result.canary.readings}


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--networks", type=int, default=10)
    parser.add_argument("--blocks", type=int, default=60)
    parser.add_argument("--input-shape", default="3,32,32")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.input_shape.split(","))
    with busy_core(args.busy), use_threads(1):
        models = networks(args.networks, shape)
        started = load()
        profiles: dict[str, list[Profile]] = {name: [] for name in models}
        for _ in range(args.repeats):  # round after round, so that every network sees the whole run
            for name, model in models.items():
                profiles[name].append(profile_blocks(model, shape, args.blocks))
        ended = load()
    table = {
        name: {stat: cv([f(p) for p in runs]) for stat, f in STATISTICS.items()}
        for name, runs in profiles.items()
    }
    print(f"{'network':<20}" + "".join(f"{stat:>12}" for stat in STATISTICS))
    for name, row in table.items():
        print(f"{name:<20}" + "".join(f"{100 * value:>11.1f}%" for value in row.values()))
    columns = {stat: [row[stat] for row in table.values()] for stat in STATISTICS}
    print(f"{'median CV':<20}" + "".join(f"{100 * statistics.median(v):>11.1f}%" for v in columns.values()))
    print(f"{'networks ≤ 3%':<20}" + "".join(f"{sum(x <= 0.03 for x in v):>12}" for v in columns.values()))
    print(
        f"{args.repeats} profiles of {args.blocks} blocks per network, busy core "
        f"{'yes' if args.busy else 'no'}, load {started} -> {ended}"
    )
    if args.json:
        summary = {"busy": args.busy, "blocks": args.blocks, "load_start": started, "load_end": ended}
        _report.write_json(args.json, {**summary, "cv": table, "profiles": profiles})


if __name__ == "__main__":
    main()
