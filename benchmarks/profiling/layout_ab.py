"""Does a profile's level follow where its data lie in memory, or the machine? Kept against fresh allocations.

Why: on the Intel Xeon VM single profiles settle, by every sign inside them, a few percent off their
network's level, and levels move for tens of seconds unseen by the reference workload (issue 13;
benchmarks/profiling/README.md, 2026-12-05). Two suspects this tells apart. *Layout*: every profile times on
new input tensors, and what the heap holds then decides where the network's activations land, so each
profile could sample one memory layout (pages, cache sets), fixed within it and different in the next; if
so, timings on the same allocations repeat better than timings on fresh ones, and the two timings of a round
do not move together. *The machine* (the host's other guests in the shared L3, the core's speed): both
timings of a round move together, and with a probe of the memory the network spills into.

Each network (default: the five largest of ``repeatability.py``'s ten, the ones that miss) is timed in
``--rounds`` rounds of two timings back to back, the order alternating (`time_callable`, the default
options, the reference workload on, one thread):

- ``kept``: one list of input batches for the whole run, nothing else allocated between its timings;
- ``fresh``: new input batches each timing, made after a random perturbation of the heap (`PERTURB_BLOCKS`
  blocks of up to 1 MiB, every other one kept alive during the timing), so that the network's activations
  may land elsewhere; with ``--no-perturb``, new input batches only, as each profile times now.

Before each timing two probes read the machine: the fastest of five sums over an array larger than a core's
L2 (`L3_PROBE_MB`) and of five over one inside it (`L2_PROBE_MB`: the core's own speed). Per network: each
arm's coefficient of variation (CV) over its rounds, the median gap between the two timings of a round, the
correlation of the arms over the rounds (``r arms``), and of every timing's minimum with each probe.

    python benchmarks/profiling/layout_ab.py [--rounds 8] [--network NAME ...] [--busy] [--json PATH]
"""

from __future__ import annotations

import itertools
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _busy import busy_core, load  # this folder is on the path when run as a script
from repeatability import cv, networks
from torch import nn

from nas_workbench.profiling.latency import INPUT_COPIES, example_inputs, time_callable
from nas_workbench.profiling.timing_options import TimingOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: The networks that missed the 3% goal on the Intel Xeon VM, and the two nb201 networks of their size.
LARGE = ("cell seed 0", "nb201 seed 3", "cell seed 4", "nb201 seed 7", "cell seed 8")
#: Blocks allocated to move the heap before a ``fresh`` timing (every other one kept alive during it).
PERTURB_BLOCKS = 40
#: The probes' arrays (MiB): larger than the Intel Xeon VM's 2 MiB of L2 a core, and inside it.
L3_PROBE_MB = 12
L2_PROBE_MB = 1


def probe_ms(array: np.ndarray, reads: int = 5) -> float:
    """The fastest of ``reads`` sums over ``array``, in milliseconds of the thread's CPU time."""
    fastest = float("inf")
    for _ in range(max(1, reads)):
        start = time.thread_time()
        array.sum()
        fastest = min(fastest, time.thread_time() - start)
    return fastest * 1e3


def perturbed_heap(rng: random.Random) -> list[torch.Tensor]:
    """Allocate `PERTURB_BLOCKS` blocks of random sizes and keep every other one, so that the heap's free
    space differs for what is allocated next."""
    blocks = [torch.empty(rng.randint(1, 1 << 20), dtype=torch.uint8) for _ in range(PERTURB_BLOCKS)]
    return blocks[::2]


def time_once(model: nn.Module, inputs: list[torch.Tensor], probes: dict[str, np.ndarray]) -> dict[str, Any]:
    """The probes' readings, then one default timing of ``model`` cycling through ``inputs``."""
    read = {f"{name}_ms": probe_ms(array) for name, array in probes.items()}
    cycle = itertools.cycle(inputs)

    def forward() -> None:
        model(next(cycle))

    with torch.inference_mode():
        summary = time_callable(forward, torch.device("cpu"), TimingOptions()).summary_ms(0.02)
    keep = ("min_ms", "median_ms", "stable", "repeats", "reference_level_ms", "page_faults_per_call")
    return {**{key: summary.get(key) for key in keep}, **read}


def rounds(
    model: nn.Module, shape: tuple[int, ...], count: int, rng: random.Random, perturb: bool = True
) -> list[dict[str, Any]]:
    """``count`` rounds of a ``kept`` and a ``fresh`` timing (the heap perturbed first when ``perturb``), the
    order alternating."""
    cpu = torch.device("cpu")
    kept = example_inputs(model, shape, 1, cpu, INPUT_COPIES)
    probes = {
        "l3": np.ones(L3_PROBE_MB * 2**20 // 4, dtype=np.float32),
        "l2": np.ones(L2_PROBE_MB * 2**20 // 4, dtype=np.float32),
    }
    out = []
    for index in range(count):
        for arm in ("kept", "fresh") if index % 2 == 0 else ("fresh", "kept"):
            held = perturbed_heap(rng) if arm == "fresh" and perturb else []
            inputs = example_inputs(model, shape, 1, cpu, INPUT_COPIES) if arm == "fresh" else kept
            out.append({"round": index, "arm": arm, **time_once(model, inputs, probes)})
            del held, inputs
    return out


def _correlation(first: list[float], second: list[float]) -> float | None:
    if len(first) < 3 or len(set(first)) < 2 or len(set(second)) < 2:
        return None
    return statistics.correlation(first, second)


def summarise(name: str, timings: list[dict[str, Any]]) -> dict[str, Any]:
    """The per-network figures of the module docstring."""
    kept = [t["min_ms"] for t in timings if t["arm"] == "kept"]
    fresh = [t["min_ms"] for t in timings if t["arm"] == "fresh"]
    every = [t["min_ms"] for t in timings]
    return {
        "network": name,
        "cv_kept": cv(kept),
        "cv_fresh": cv(fresh),
        "round_gap": statistics.median(abs(a - b) / a for a, b in zip(kept, fresh, strict=True)),
        "corr_arms": _correlation(kept, fresh),
        "corr_l3": _correlation(every, [t["l3_ms"] for t in timings]),
        "corr_l2": _correlation(every, [t["l2_ms"] for t in timings]),
        "timings": timings,
    }


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--no-perturb", action="store_true", help="fresh inputs without moving the heap")
    parser.add_argument("--network", action="append", help=f"a network's name (default: {', '.join(LARGE)})")
    args = parser.parse_args()
    shape = (3, 32, 32)
    torch.set_num_threads(1)
    rng = random.Random(0)
    with busy_core(args.busy):
        started = load()
        models = networks(10, shape)
        wanted = args.network or list(LARGE)
        rows = [
            summarise(name, rounds(models[name], shape, args.rounds, rng, not args.no_perturb))
            for name in wanted
        ]
        ended = load()
    print(
        f"{'network':<14} {'CV kept':>7} {'CV fresh':>8} {'round gap':>9} "
        f"{'r arms':>6} {'r L3':>6} {'r L2':>6}"
    )
    for row in rows:
        print(
            f"{row['network']:<14} {100 * row['cv_kept']:>6.1f}% {100 * row['cv_fresh']:>7.1f}% "
            f"{100 * row['round_gap']:>8.1f}% {_signed(row['corr_arms']):>6} {_signed(row['corr_l3']):>6} "
            f"{_signed(row['corr_l2']):>6}"
        )
    perturbed, busy = "no" if args.no_perturb else "yes", "yes" if args.busy else "no"
    print(f"{args.rounds} rounds, heap perturbed {perturbed}, busy core {busy}, load {started} -> {ended}")
    _report.write_json(
        args.json,
        {"busy": args.busy, "perturb": not args.no_perturb, "load": [started, ended], "networks": rows},
    )


if __name__ == "__main__":
    main()
