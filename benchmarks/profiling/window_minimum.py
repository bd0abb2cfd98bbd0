"""How steady is the minimum of a window of calls, by the window's length? For the stopping rule's fewest
blocks.

Each network is called back to back for ``--seconds`` (one thread, a fresh input each call, as
`measure_latency` does, without its blocks, reference workload or stopping rule), each call timed on the
thread's CPU time. The calls are then cut into consecutive, disjoint windows of n calls, and for each n
the coefficient of variation (CV) of the windows' minima is reported, with their largest / smallest: the
spread a profile that stopped after n one-call blocks would show from one profile to the next, had the
reference workload never restarted it. A stable profile of a network under a millisecond stops after 10
blocks (``TimingOptions.min_repeats``), about 15 ms.

    python benchmarks/profiling/window_minimum.py [--seconds 15] [--busy] [--json out.json]
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _busy import busy_core, load  # this folder is on the path when run as a script

import nas_workbench as nw
from nas_workbench.profiling.latency import INPUT_COPIES, example_inputs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

NETWORKS = [("chain", 1), ("chain", 5), ("multi_branch", 2), ("cell", 0)]
WINDOWS = (10, 30, 100, 300)


def call_times(model: torch.nn.Module, shape: tuple[int, ...], seconds: float) -> np.ndarray:
    """Milliseconds of thread CPU time of each call, back to back for ``seconds``."""
    inputs = itertools.cycle(example_inputs(model, shape, 1, torch.device("cpu"), INPUT_COPIES))
    times = []
    with torch.inference_mode():
        for _ in range(20):  # warm-up
            model(next(inputs))
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            start = time.thread_time()
            model(next(inputs))
            times.append(time.thread_time() - start)
    return np.array(times) * 1e3


def windows(times: np.ndarray) -> dict[int, dict[str, float]]:
    """Per window length with at least three windows: CV and largest / smallest of the windows' minima."""
    out = {}
    for n in WINDOWS:
        minima = np.array([times[i : i + n].min() for i in range(0, len(times) - n + 1, n)])
        if len(minima) >= 3:
            out[n] = {
                "ms": n * float(np.median(times)),
                "cv": float(np.std(minima) / np.mean(minima)),
                "max_over_min": float(minima.max() / minima.min()),
                "windows": len(minima),
            }
    return out


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    shape = (3, 32, 32)
    torch.set_num_threads(1)
    results = {}
    with busy_core(args.busy):
        started = load()
        for name, seed in NETWORKS:
            space = nw.spaces.get(name)
            times = call_times(space.build(space.random(seed), shape, 10).eval(), shape, args.seconds)
            results[f"{name} seed {seed}"] = {"calls": len(times), "windows": windows(times)}
            line = "; ".join(
                f"n={n} ({w['ms']:.0f} ms) CV {100 * w['cv']:.1f}%, max/min {w['max_over_min']:.2f}"
                for n, w in results[f"{name} seed {seed}"]["windows"].items()
            )
            print(f"{name} seed {seed} ({len(times)} calls): {line}", flush=True)
    print(f"busy core {'yes' if args.busy else 'no'}, load {started} -> {load()}")
    _report.write_json(args.json, {"busy": args.busy, "load": started, "networks": results})


if __name__ == "__main__":
    main()
