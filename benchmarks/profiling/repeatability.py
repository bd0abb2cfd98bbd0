"""Repeatability of measured latency, and agreement with torch.utils.benchmark on the same network.

For a small CNN and one network of each search space: profile the latency ``--repeats`` times (default
10) and report the coefficient of variation of the reported medians (goal: at most 5%), with the default
clock (thread CPU time when single-threaded) and with the wall clock; then time the same network with
``torch.utils.benchmark.Timer.blocked_autorange`` in the same run and report how far the medians are apart
(goal: within 10%). torch.utils.benchmark uses the wall clock, so the wall-clock comparison is like for
like; the other shows what the default clock changes on this machine.

    python benchmarks/profiling/repeatability.py [--repeats 10] [--threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.benchmark import Timer

import nas_workbench as nw
from nas_workbench.profiling import profile


def networks(shape: tuple[int, ...]) -> dict[str, tuple[nn.Module, tuple[int, ...]]]:
    torch.manual_seed(0)
    small = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, 10),
    )  # fmt: skip
    nets = {"small CNN 1x8x8": (small, (1, 8, 8))}
    for name in nw.spaces.list():
        space = nw.spaces.get(name)
        nets[f"{name} (seed 0)"] = (space.build(space.random(0), shape, 10), shape)
    return nets


def cv(values: list[float]) -> float:
    return statistics.stdev(values) / statistics.mean(values)


def run(name: str, model: nn.Module, shape: tuple[int, ...], repeats: int, threads: int) -> dict:
    model.eval()
    result: dict = {"network": name, "threads": threads}
    for clock in ("auto", "wall"):
        medians, seconds, capped = [], [], 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            prof = profile(model, shape, metrics=["latency_ms"], threads=threads, clock=clock)
            latency = prof["latency_ms"]
            seconds.append(time.perf_counter() - t0 - latency.detail["lock_wait_s"])
            medians.append(latency.value)
            capped += latency.detail["stopped"] == "time cap"
        result[clock] = {
            "clock": latency.source,
            "medians_ms": medians,
            "cv": cv(medians),
            "median_ms": statistics.median(medians),
            "seconds_per_profile": statistics.median(seconds),
            "time_capped": capped,
        }
    x = torch.randn(1, *shape)
    with torch.inference_mode():
        timer = Timer("model(x)", globals={"model": model, "x": x}, num_threads=threads)
        reference = timer.blocked_autorange(min_run_time=1.0).median * 1e3
    result["torch_benchmark_ms"] = reference
    for clock in ("auto", "wall"):
        result[clock]["vs_torch_benchmark"] = result[clock]["median_ms"] / reference - 1
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--input-shape", default="3,32,32")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.input_shape.split(","))
    results = [
        run(name, model, s, args.repeats, args.threads) for name, (model, s) in networks(shape).items()
    ]
    header = (
        f"{'network':<22} {'median ms':>9} {'CV':>6} {'CV wall':>7} {'torch.bench ms':>14} "
        f"{'Δ wall':>7} {'Δ default':>9} {'s/profile':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        a, w = r["auto"], r["wall"]
        print(
            f"{r['network']:<22} {a['median_ms']:>9.3f} {100 * a['cv']:>5.1f}% {100 * w['cv']:>6.1f}% "
            f"{r['torch_benchmark_ms']:>14.3f} {100 * w['vs_torch_benchmark']:>+6.1f}% "
            f"{100 * a['vs_torch_benchmark']:>+8.1f}% {a['seconds_per_profile']:>9.3f}"
        )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"default clock: {results[0]['auto']['clock']}; threads {args.threads}; load average {load}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
