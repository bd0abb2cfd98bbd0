"""Repeatability of measured latency, memory and energy on a CUDA device, against torch.utils.benchmark.

Five networks (nb201 seeds 0-2 at 3x32x32, chain seeds 0-1 at 1x8x8): each is profiled ``--repeats``
times with `nas_workbench.profile(..., device="cuda")` and timed as often with
``torch.utils.benchmark.Timer.blocked_autorange``; the table gives the median latency and its coefficient
of variation (CV) for both, the seconds per profile, and the peak memory and energy of the last profile
with how each was obtained (the allocator's peak; NVML's board energy counter, or an estimate where the
driver has none). Skips, saying so, on a machine without CUDA.

    python benchmarks/profiling/cuda_latency.py [--repeats 10] [--json out.json]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch
import torch.utils.benchmark as torch_benchmark

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import parser, write_json

import nas_workbench as nw

NETWORKS = [("nb201", 0, (3, 32, 32)), ("nb201", 1, (3, 32, 32)), ("nb201", 2, (3, 32, 32)),
            ("chain", 0, (1, 8, 8)), ("chain", 1, (1, 8, 8))]  # fmt: skip


def cv(values: list[float]) -> float:
    """Coefficient of variation: population standard deviation over the mean."""
    return statistics.pstdev(values) / statistics.mean(values)


def network_row(space_name: str, seed: int, shape: tuple[int, ...], repeats: int) -> dict[str, object]:
    """One network's figures: ``repeats`` profiles by the workbench and as many torch.utils.benchmark runs."""
    space = nw.spaces.get(space_name)
    model = space.build(space.random(seed), input_shape=shape, num_classes=10)
    latencies, started = [], time.perf_counter()
    for _ in range(repeats):
        last = nw.profile(model, shape, device="cuda")
        latencies.append(last["latency_ms"].value)
    per_profile_s = (time.perf_counter() - started) / repeats
    on_device, x = model.cuda().eval(), torch.randn(1, *shape, device="cuda")
    timer = torch_benchmark.Timer("m(x)", globals={"m": on_device, "x": x})
    with torch.no_grad():
        medians = [timer.blocked_autorange(min_run_time=0.2).median * 1e3 for _ in range(repeats)]
    model.cpu()
    memory, energy = last["peak_memory_mb"], last["energy_mj"]
    return {
        "network": f"{space_name} seed {seed}",
        "latency_ms": statistics.median(latencies),
        "cv": cv(latencies),
        "torch_benchmark_ms": statistics.median(medians),
        "torch_benchmark_cv": cv(medians),
        "s_per_profile": per_profile_s,
        "peak_memory_mb": memory.value,
        "memory_source": memory.source,
        "energy_mj": energy.value,
        "energy": f"{energy.method} ({energy.source})",
    }


def main() -> None:
    """Profile each network, print the table, write JSON when asked."""
    args_parser = parser(__doc__)
    args_parser.add_argument("--repeats", type=int, default=10)
    args = args_parser.parse_args()
    if not torch.cuda.is_available():
        print("skipped: no CUDA device on this machine")
        return
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}; {args.repeats} profiles per network")
    print(f"{'network':<14} {'ms':>7} {'CV':>6} {'t.u.b. ms':>9} {'t.u.b. CV':>9} {'s/prof':>6} "
          f"{'peak MB':>8} {'energy mJ':>9}  energy")  # fmt: skip
    rows = []
    for space_name, seed, shape in NETWORKS:
        row = network_row(space_name, seed, shape, args.repeats)
        rows.append(row)
        timer_cells = f"{row['torch_benchmark_ms']:9.3f} {row['torch_benchmark_cv']:9.1%}"
        print(f"{row['network']:<14} {row['latency_ms']:7.3f} {row['cv']:6.1%} {timer_cells} ", end="")
        cost_cells = f"{row['s_per_profile']:6.2f} {row['peak_memory_mb']:8.3f} {row['energy_mj']:9.1f}"
        print(cost_cells, row["energy"])
    write_json(args.json, {"device": torch.cuda.get_device_name(), "repeats": args.repeats, "networks": rows})


if __name__ == "__main__":
    main()
