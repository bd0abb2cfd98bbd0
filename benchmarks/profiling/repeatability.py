"""Repeatability of measured latency on random networks, against torch.utils.benchmark in the same run.

Ten random networks (seeds 0-9, the search spaces in turn): each is profiled ``--repeats`` times (default
10) and the coefficient of variation (CV) of the reported latency is computed (goal: at most 3% with one
core kept busy, ``--busy``). In the same run each is timed ``--repeats`` times with
``torch.utils.benchmark.Timer.blocked_autorange``, whose median's CV is the comparison, and the
workbench's figure (the minimum of its blocks) is compared with that timer's median and minimum. Also:
how many profiles were marked unstable, how many attempts the reference workload had dropped as taken
while the machine ran slow (retries) and its largest slowdown in a profile's last attempt, the median gap
between a profile's median block and its minimum (the interference it saw), the share of its core the timing
thread got (``core``: its CPU time over the wall time of the network's blocks, median over the profiles;
1.00 when nothing else ran on its core) and how many profiles had every block interrupted by another
process (``shared``: unstable by that rule), the seconds per profile, how often the timing thread moved
to the other CPU during the network's profiles (``migr``, Linux) and the seconds of CPU the hypervisor
gave to other guests meanwhile (``steal s``, /proc/stat): the two suspects for a quiet machine repeating
worse than a busy one (the lead's idle runs of 2026-12-05: 5 and 6 of 10 ≤ 3% quiet, 7 and 9 busy). An
unstable profile of a network profiled stably in the last two minutes reports the median of those stable
figures (`nas_workbench.profiling.stable_figures`): ``earlier`` counts such profiles, ``again`` the stable
profiles timed a second time as too far from the network's recent figures (since 2026-12-05, t13),
``faults`` the median minor page faults per call (glibc's heap thresholds fixed, `profiling._heap`), and
``own CV`` is the CV of the profiles' own figures (each one's minimum, as before those rules), from the same
profiles.
``CV/ref`` is the CV the latency would have if it were reported over the reference workload's speed in
the same timing (duet-style normalisation to the machine's speed; the median of the minima of its groups of
five readings, ``reference_level_ms``, which one lucky reading does not move as it moved the fastest
reading, used until 2026-12-04), and ``corr`` the median over networks of the correlation between a
profile's latency and that speed: the evidence for or against reporting it that way (kept raw while it does
not lower the CV; benchmarks/profiling/README.md).
``--no-reference`` times without the reference workload, for a before/after comparison.

Why one network varies more than another: ``MB`` is each network's footprint, the bytes one forward pass
touches (parameters, buffers, input and every operator's output, from the shape-only trace), against the
1 MB of L2 cache per core of the 2-core development VM (its 32 MB L3 is shared with the other core and the
host); ``--first-again`` profiles the first network once more after the others (``(again)``, not counted
in the goal's figures), to tell a network's own variation from that of the run's first seconds (cell seed
0, the first network, had the worst CV in every run of 2026-12-04). ``--device cuda`` profiles on a GPU
(CUDA events) and times torch.utils.benchmark's networks there too.

    python benchmarks/profiling/repeatability.py [--repeats 10] [--networks 10] [--busy] [--no-reference]
        [--max-time-s S] [--min-repeats N] [--stable-repeats N] [--min-time-s S] [--slow-time-s S]
        [--first-again] [--no-huge-pages]
        [--device cuda] [--json out.json]
"""

from __future__ import annotations

import copy
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import torch
from _busy import add_kind_option, busy_core, load  # this folder is on the path when run as a script
from torch import nn
from torch.utils.benchmark import Timer

import nas_workbench as nw
from nas_workbench.profiling import profile
from nas_workbench.profiling._trace import trace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: What the JSON keeps of each profile's detail, to tell a profile that went astray from the others.
PROFILE_DETAIL = (
    "min_ms",
    "median_ms",
    "stable",
    "stopped",
    "repeats",
    "uninterrupted_blocks",
    "switches_per_block",
    "core_share",
    "reference_slowdown",
    "reference_fastest_ms",
    "reference_level_ms",
    "retries",
    "load_average",
    "reported_from",
    "own_unstable_reason",
    "page_faults_per_call",
    "confirmation",
)


def networks(count: int, shape: tuple[int, ...]) -> dict[str, nn.Module]:
    """``count`` random networks: seed i of the i-th space, in turn."""
    names = nw.spaces.list()
    out = {}
    for seed in range(count):
        space = nw.spaces.get(names[seed % len(names)])
        out[f"{space.name} seed {seed}"] = space.build(space.random(seed), shape, 10).eval()
    return out


def cv(values: list[float]) -> float:
    return statistics.stdev(values) / statistics.mean(values)


def run(
    name: str,
    model: nn.Module,
    shape: tuple[int, ...],
    repeats: int,
    threads: int,
    timing: dict,
    device: str = "cpu",
) -> dict:
    values, seconds, unstable, gaps, retries, slowdowns, normalised, levels = [], [], 0, [], 0, [], [], []
    shares, interrupted, details, own, stand_ins, faults, confirmed = [], 0, [], [], 0, [], 0
    moved, stolen = migrations(), steal_s()
    for _ in range(repeats):
        t0 = time.perf_counter()
        latency = profile(model, shape, metrics=["latency_ms"], device=device, threads=threads, **timing)[
            "latency_ms"
        ]
        seconds.append(time.perf_counter() - t0 - latency.detail["lock_wait_s"])
        values.append(latency.value)
        own.append(latency.detail["min_ms"])  # the profile's own figure, also where an earlier one stood in
        stand_ins += "reported_from" in latency.detail
        confirmed += "confirmation" in latency.detail
        faults.append(latency.detail.get("page_faults_per_call") or 0.0)
        unstable += latency.detail["stable"] is False
        gaps.append(latency.detail["median_gap"])
        shares.append(latency.detail.get("core_share") or 1.0)
        interrupted += latency.detail.get("uninterrupted_blocks") == 0
        details.append({key: latency.detail.get(key) for key in PROFILE_DETAIL})
        retries += latency.detail.get("retries", 0)
        slowdowns.append(latency.detail.get("reference_slowdown") or 1.0)
        if level := latency.detail.get("reference_level_ms"):
            normalised.append(latency.value / level)  # in the reference's units: the duet idea, tested
            levels.append(level)
    moved_now, stolen_now = migrations(), steal_s()
    x = torch.randn(1, *shape, device=device)
    on_device = model if device == "cpu" else copy.deepcopy(model).to(device)  # profiled: the CPU copy
    bench_medians, bench_mins = [], []
    with torch.inference_mode():
        for _ in range(repeats):
            timer = Timer("model(x)", globals={"model": on_device, "x": x}, num_threads=threads)
            measured = timer.blocked_autorange(min_run_time=0.2)
            bench_medians.append(measured.median * 1e3)
            bench_mins.append(min(measured.raw_times) / measured.number_per_run * 1e3)
    reference = statistics.median(bench_medians)
    return {
        "network": name,
        "footprint_mb": footprint_mb(model, shape),
        "clock": latency.source,
        "values_ms": values,
        "cv": cv(values),
        "cv_own": cv(own),
        "stand_ins": stand_ins,
        "timed_again": confirmed,
        "page_faults_per_call": statistics.median(faults),
        "cv_reference_normalised": cv(normalised) if len(normalised) == len(values) else None,
        "reference_correlation": _correlation(values, levels),
        "latency_ms": statistics.median(values),
        "unstable": unstable,
        "retries": retries,
        "worst_reference_slowdown": max(slowdowns),
        "median_gap": statistics.median(gaps),
        "core_share": statistics.median(shares),
        "all_blocks_interrupted": interrupted,
        "seconds_per_profile": statistics.median(seconds),
        "migrations": None if moved is None or moved_now is None else moved_now - moved,
        "steal_s": None if stolen is None or stolen_now is None else stolen_now - stolen,
        "torch_benchmark_median_ms": reference,
        "torch_benchmark_median_cv": cv(bench_medians),
        "torch_benchmark_min_ms": statistics.median(bench_mins),
        "torch_benchmark_min_cv": cv(bench_mins),
        "vs_torch_median": statistics.median(values) / reference - 1,
        "vs_torch_min": statistics.median(values) / statistics.median(bench_mins) - 1,
        "profiles": details,
    }


def migrations() -> int | None:
    """How often the calling thread (the one that times) has moved from one CPU to another (Linux with
    scheduler statistics; None elsewhere): a moved thread finds its core's caches cold, and on an otherwise
    idle machine the scheduler is free to move it."""
    try:
        lines = Path(f"/proc/self/task/{threading.get_native_id()}/sched").read_text().splitlines()
    except OSError:
        return None
    found = [line.split(":")[1] for line in lines if line.startswith("se.nr_migrations")]
    return int(found[0]) if found else None


def steal_s() -> float | None:
    """Seconds of CPU the hypervisor gave to others while this VM's CPUs wanted to run, over all CPUs
    (``steal`` of /proc/stat; None where not on Linux)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else None


def footprint_mb(model: nn.Module, shape: tuple[int, ...]) -> float:
    """Megabytes one forward pass at batch 1 touches: parameters, buffers, input and every operator's
    output (the shape-only trace): what competes for the caches while the network is timed."""
    result = trace(model, shape)
    return (result.param_bytes + result.buffer_bytes + result.input_bytes + result.activation_bytes) / 1e6


def _correlation(values: list[float], levels: list[float]) -> float | None:
    """Pearson's correlation of the profiles' latencies with the reference's speed in them (None when a
    profile had no reading or either is constant)."""
    if len(levels) != len(values) or len(values) < 3 or len(set(values)) < 2 or len(set(levels)) < 2:
        return None
    return statistics.correlation(values, levels)


def _median_correlation(results: list[dict]) -> str:
    known = [r["reference_correlation"] for r in results if r["reference_correlation"] is not None]
    return f"{statistics.median(known):+.2f}" if known else "-"


def _count(value: float | None) -> str:
    """A count or seconds for the table ("-" where not known)."""
    return "-" if value is None else f"{value:g}"


def _percent(row: dict) -> str:
    """The CV of the latency over the reference's fastest reading, as a percentage ("-" without one)."""
    value = row["cv_reference_normalised"]
    return "-" if value is None else f"{100 * value:.1f}%"


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    add_kind_option(parser)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--networks", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", default="auto", choices=["auto", "wall", "cpu"])
    parser.add_argument("--max-time-s", type=float, help="the timing cap (default: TimingOptions')")
    parser.add_argument("--min-repeats", type=int, help="fewest timed blocks (default: TimingOptions')")
    parser.add_argument(
        "--stable-repeats", type=int, help="fewest blocks before a stable stop (default: TimingOptions')"
    )
    parser.add_argument(
        "--slow-time-s",
        type=float,
        help="seconds beyond the cap to wait out a slow episode (default: TimingOptions')",
    )
    parser.add_argument(
        "--min-time-s",
        type=float,
        help="fewest seconds of timed blocks on the measurement clock (default: TimingOptions')",
    )
    parser.add_argument("--input-shape", default="3,32,32")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default: cpu)")
    parser.add_argument("--no-reference", action="store_true", help="time without the reference workload")
    parser.add_argument(
        "--first-again", action="store_true", help="profile the first network again, last (not in the goal)"
    )
    parser.add_argument(
        "--no-huge-pages", action="store_true", help="leave memory on 4 KiB pages (TimingOptions.huge_pages)"
    )
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.input_shape.split(","))
    timing = {"clock": args.clock, "reference": not args.no_reference, "huge_pages": not args.no_huge_pages}
    timing |= {"max_time_s": args.max_time_s} if args.max_time_s else {}
    timing |= {"min_repeats": args.min_repeats} if args.min_repeats else {}
    timing |= {"stable_repeats": args.stable_repeats} if args.stable_repeats else {}
    timing |= {"min_time_s": args.min_time_s} if args.min_time_s else {}
    timing |= {"slow_time_s": args.slow_time_s} if args.slow_time_s is not None else {}
    with busy_core(args.busy, kind=args.busy_kind):
        started = load()
        models = networks(args.networks, shape)
        results = [
            run(name, model, shape, args.repeats, args.threads, timing, args.device)
            for name, model in models.items()
        ]
        first = next(iter(models))
        again = (
            [run(f"{first} (again)", models[first], shape, args.repeats, args.threads, timing, args.device)]
            if args.first_again
            else []
        )
        ended = load()
    header = (
        f"{'network':<20} {'MB':>5} {'ms':>7} {'CV':>6} {'own CV':>6} {'CV/ref':>6} {'unstable':>8} "
        f"{'earlier':>7} {'again':>5} {'faults':>6} {'retries':>7} "
        f"{'slow':>5} {'gap':>5} {'core':>5} {'shared':>6} "
        f"{'t.bench med ms':>14} {'CV':>6} "
        f"{'t.bench min CV':>14} {'Δ med':>6} {'Δ min':>6} {'s/profile':>9} {'migr':>5} {'steal s':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in [*results, *again]:
        print(
            f"{r['network']:<20} {r['footprint_mb']:>5.1f} {r['latency_ms']:>7.3f} {100 * r['cv']:>5.1f}% "
            f"{100 * r['cv_own']:>5.1f}% {_percent(r):>6} {r['unstable']:>8} {r['stand_ins']:>7} "
            f"{r['timed_again']:>5} {r['page_faults_per_call']:>6.0f} {r['retries']:>7} "
            f"{r['worst_reference_slowdown']:>5.2f} {r['median_gap']:>5.2f} "
            f"{r['core_share']:>5.2f} {r['all_blocks_interrupted']:>6} "
            f"{r['torch_benchmark_median_ms']:>14.3f} "
            f"{100 * r['torch_benchmark_median_cv']:>5.1f}% {100 * r['torch_benchmark_min_cv']:>13.1f}% "
            f"{100 * r['vs_torch_median']:>+5.0f}% {100 * r['vs_torch_min']:>+5.0f}% "
            f"{r['seconds_per_profile']:>9.2f} {_count(r['migrations']):>5} {_count(r['steal_s']):>7}"
        )
    worst = max(r["cv"] for r in results)
    normalised = [r["cv_reference_normalised"] for r in results if r["cv_reference_normalised"] is not None]
    if normalised:
        print(
            f"median CV {100 * statistics.median(r['cv'] for r in results):.1f}% "
            f"({sum(r['cv'] <= 0.03 for r in results)} of {len(results)} ≤ 3%); over the reference: "
            f"{100 * statistics.median(normalised):.1f}% ({sum(v <= 0.03 for v in normalised)} ≤ 3%, worst "
            f"{100 * max(normalised):.1f}%); latency vs the reference's speed, median correlation "
            f"{_median_correlation(results)}"
        )
    print(
        f"the profiles' own figures (no earlier stable figure standing in for an unstable one): median CV "
        f"{100 * statistics.median(r['cv_own'] for r in results):.1f}% "
        f"({sum(r['cv_own'] <= 0.03 for r in results)} of {len(results)} ≤ 3%, worst "
        f"{100 * max(r['cv_own'] for r in results):.1f}%); earlier figures stood in for "
        f"{sum(r['stand_ins'] for r in results)} profiles"
    )
    print(
        f"worst CV {100 * worst:.1f}% (goal ≤ 3%), torch.utils.benchmark median worst CV "
        f"{100 * max(r['torch_benchmark_median_cv'] for r in results):.1f}%; clock {results[0]['clock']}, "
        f"threads {args.threads}, busy core {args.busy_kind if args.busy else 'no'}, reference workload "
        f"{'no' if args.no_reference else 'yes'}, huge pages {'no' if args.no_huge_pages else 'yes'}, "
        f"load {started} -> {ended}"
    )
    if args.json:
        summary = {"busy": args.busy, "busy_kind": args.busy_kind, "threads": args.threads}
        summary |= {"load_start": started, "load_end": ended}
        summary["reference"] = not args.no_reference
        summary["huge_pages"] = not args.no_huge_pages
        _report.write_json(args.json, {**summary, "networks": results, "first_network_again": again})


if __name__ == "__main__":
    main()
