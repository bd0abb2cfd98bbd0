"""Slow episodes of the machine, seen by a network and by the reference workload side by side.

Each of ``--networks`` random networks (seeds 0.., the spaces in turn) is built and, from its first call,
timed call after call for ``--seconds`` on the thread's CPU time (1 thread), each call followed by one
warm reading of the reference workload (`nas_workbench.profiling.reference`). Per window of ``--window``
seconds the table gives the fastest call of the network and of the reference over their fastest in the
whole run, as ``network/reference``: a machine-wide slow episode shows in both (1.54/1.47), and a network
that runs slower in its first second than later (which would call for a longer warm-up) shows as first
windows above the rest in the footer's per-window medians.

    python benchmarks/profiling/slow_episodes.py [--networks 12] [--seconds 3] [--window 0.25] [--busy]
"""

from __future__ import annotations

import gc
import itertools
import statistics
import sys
import time
from pathlib import Path

import torch
from _busy import busy_core, load  # this folder is on the path when run as a script

import nas_workbench as nw
from nas_workbench.profiling.reference import Canary

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


def windows(
    space: nw.spaces.SearchSpace, seed: int, seconds: float, window: float
) -> list[tuple[float, float]]:
    """Per window: the network's and the reference's fastest call over their fastest of the run."""
    shape = (3, 32, 32)
    model = space.build(space.random(seed), shape, 10).eval()
    generator = torch.Generator().manual_seed(0)
    inputs = itertools.cycle([torch.randn(1, *shape, generator=generator) for _ in range(16)])
    reference = Canary.for_device(torch.device("cpu"), "cpu thread time", 1).workload
    rows = []
    start = time.perf_counter()
    with torch.inference_mode():
        while time.perf_counter() - start < seconds:
            t0 = time.thread_time()
            model(next(inputs))
            t1 = time.thread_time()
            reference()  # warm, as a reading is
            t2 = time.thread_time()
            reference()
            rows.append((time.perf_counter() - start, t1 - t0, time.thread_time() - t2))
    fastest_net, fastest_ref = min(r[1] for r in rows), min(r[2] for r in rows)
    out = []
    for k in range(int(seconds / window)):
        inside = [r for r in rows if k * window <= r[0] < (k + 1) * window] or rows
        out.append((min(r[1] for r in inside) / fastest_net, min(r[2] for r in inside) / fastest_ref))
    return out


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    parser.add_argument("--networks", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--window", type=float, default=0.25)
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = nw.spaces.list()
    table = {}
    gc.disable()
    with busy_core(args.busy):
        started = load()
        for seed in range(args.networks):
            space = nw.spaces.get(names[seed % len(names)])
            table[f"{space.name} seed {seed}"] = windows(space, seed, args.seconds, args.window)
            line = " ".join(f"{a:.2f}/{b:.2f}" for a, b in table[f"{space.name} seed {seed}"])
            print(f"{space.name + ' seed ' + str(seed):<20} {line}", flush=True)
        ended = load()
    columns = list(zip(*table.values(), strict=True))
    print(
        f"{'median network':<20} " + " ".join(f"{statistics.median(a for a, _ in c):9.3f}" for c in columns)
    )
    print(
        f"{'median reference':<20} " + " ".join(f"{statistics.median(b for _, b in c):9.3f}" for c in columns)
    )
    print(f"windows of {args.window} s from each network's first call; load {started} -> {ended}")
    _report.write_json(args.json, {"load_start": started, "load_end": ended, "windows": table})


if __name__ == "__main__":
    main()
