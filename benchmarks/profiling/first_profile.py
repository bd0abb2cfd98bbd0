"""Is a network's first profile in a process slower than its later ones, and why?

Each of ``--processes`` fresh processes (the arms in turn, so that every arm samples the same stretch of the
machine) builds the ten networks of ``repeatability.py`` as that script does, then profiles one of them
(``--network``, default cell seed 0: the first network of ``repeatability.py``, whose first profile read
8.74 ms against 7.93-8.07 ms for its other nine in the lead's idle run of 2026-12-05 15:26 UTC) ``--profiles``
times in a row. Per profile: the reported figure, the profile's own figure (its minimum, ``min_ms``), whether
it was stable, the reference workload's level and baseline, page faults per call and the CPU the timing
thread ended on. The table gives, per arm, the first profile's own figure over the median of the process's
later ones (``first/later``; 1.00: no first-profile effect), the same for the reported figure, the worst
such ratio, and the CV over each process's profiles (median and worst, own and reported).

Arms (``--arm``, repeatable; each a hypothesis for the first profile's level):

- ``plain``: as ``repeatability.py`` profiles;
- ``warm``: the network called untimed for ``--warm-s`` seconds first (allocator, first-touch pages and
  oneDNN's primitive caches warmed; the CPU's clock up);
- ``other``: another network (nb201 seed 3) profiled first, so that the network's first profile is not the
  process's first timing (the reference workload's first baseline, the heap thresholds, torch's thread pool);
- ``pin0`` / ``pin1``: the process pinned to one vCPU (``os.sched_setaffinity``), the busy core on the
  other or on the same, to tell whether the two vCPUs differ;
- ``cache``: the profiling cache kept between processes (the reference's history known before the first
  profile) instead of a fresh one per process;
- ``busynew`` / ``busyold``: the process starts its own busy core (run without ``--busy``) as
  ``repeatability.py --busy`` does, right before building the networks or `BUSY_BEFORE_S` earlier: whether
  the first profile pays for a busy process that has just started.

Findings (2026-12-05, under the other engineers' load): benchmarks/profiling/README.md.

    python benchmarks/profiling/first_profile.py [--processes 20] [--profiles 6] [--arm plain --arm warm]
        [--network "cell seed 0"] [--warm-s 1.0] [--busy] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _busy import add_kind_option, busy_core, load  # this folder is on the path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

ARMS = ("plain", "warm", "other", "pin0", "pin1", "cache", "busynew", "busyold")
#: Seconds the ``busyold`` arm's busy process runs before the network is built.
BUSY_BEFORE_S = 10.0
#: What each profile keeps of its measurement's detail.
DETAIL = (
    "min_ms",
    "median_ms",
    "stable",
    "repeats",
    "warmup_calls",
    "elapsed_s",
    "reference_level_ms",
    "reference_baseline_ms",
    "reference_slowdown",
    "retries",
    "page_faults_per_call",
    "reported_from",
    "confirmation",
    "unstable_reason",
    "halves_disagree",
)
OTHER = "nb201 seed 3"


def current_cpu() -> int:
    """The CPU the calling thread last ran on (Linux: field 39 of its ``stat``)."""
    stat = Path(f"/proc/self/task/{threading.get_native_id()}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[36])


def child(arm: str, network: str, profiles: int, warm_s: float) -> dict[str, Any]:
    """One fresh process's profiles of ``network`` under ``arm`` (the module docstring)."""
    if arm.startswith("pin"):
        os.sched_setaffinity(0, {int(arm[3:])})
    if arm.startswith("busy"):
        busy = busy_core(True)
        busy.__enter__()  # ended with the process (the busy process stops when its parent is gone)
        time.sleep(BUSY_BEFORE_S if arm == "busyold" else 0.0)
    import torch
    from repeatability import networks

    from nas_workbench.profiling import profile
    from nas_workbench.profiling.latency import example_inputs

    torch.set_num_threads(1)
    shape = (3, 32, 32)
    models = networks(10, shape)
    model = models[network]
    if arm == "warm":
        inputs = example_inputs(model, shape, 1, torch.device("cpu"), 16)
        with torch.inference_mode():
            start, calls = time.perf_counter(), 0
            while time.perf_counter() - start < warm_s:
                model(inputs[calls % len(inputs)])
                calls += 1
    if arm == "other":
        profile(models[OTHER], shape, metrics=["latency_ms"], threads=1)
    out = []
    for _ in range(profiles):
        started = time.perf_counter()
        measured = profile(model, shape, metrics=["latency_ms"], threads=1)["latency_ms"]
        row = {key: measured.detail.get(key) for key in DETAIL}
        row |= {"value": measured.value, "seconds": time.perf_counter() - started, "cpu": current_cpu()}
        out.append(row)
    return {"arm": arm, "profiles": out}


def spawn(arm: str, args: Any, cache: str) -> dict[str, Any]:
    """Run one child process for ``arm`` and return what it measured."""
    command = [sys.executable, __file__, "--child", arm, "--network", args.network]
    command += ["--profiles", str(args.profiles), "--warm-s", str(args.warm_s)]
    with tempfile.TemporaryDirectory(prefix="nwfirst.") as fresh:
        env = {**os.environ, "NAS_WORKBENCH_CACHE": cache if arm == "cache" else fresh}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def ratios(process: dict[str, Any], key: str) -> float:
    """The first profile's ``key`` over the median of the later ones' in one process."""
    values = [p[key] for p in process["profiles"]]
    return values[0] / statistics.median(values[1:])


def cv(values: list[float]) -> float:
    return statistics.stdev(values) / statistics.mean(values)


def summary(arm: str, processes: list[dict[str, Any]]) -> dict[str, Any]:
    """Per arm: the first/later ratios and CVs over its processes (the module docstring)."""
    own = [ratios(p, "min_ms") for p in processes]
    reported = [ratios(p, "value") for p in processes]
    cv_own = [cv([x["min_ms"] for x in p["profiles"]]) for p in processes]
    cv_reported = [cv([x["value"] for x in p["profiles"]]) for p in processes]
    later = [statistics.median(x["min_ms"] for x in p["profiles"][1:]) for p in processes]
    seconds = [x["seconds"] for p in processes for x in p["profiles"]]
    return {
        "arm": arm,
        "processes": len(processes),
        "first_over_later_own": own,
        "first_over_later_reported": reported,
        "later_ms": later,
        "cv_own": cv_own,
        "cv_reported": cv_reported,
        "first_unstable": sum(p["profiles"][0]["stable"] is False for p in processes),
        "first_seconds": statistics.median(p["profiles"][0]["seconds"] for p in processes),
        "seconds_per_profile": statistics.median(seconds),
    }


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    add_kind_option(parser)
    parser.add_argument("--processes", type=int, default=20, help="fresh processes, the arms in turn")
    parser.add_argument("--profiles", type=int, default=6)
    parser.add_argument("--network", default="cell seed 0")
    parser.add_argument("--arm", action="append", choices=ARMS, help="default: plain and warm")
    parser.add_argument("--warm-s", type=float, default=1.0, help="the warm arm's untimed calls (s)")
    parser.add_argument("--child", choices=ARMS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.network, args.profiles, args.warm_s)))
        return
    arms = args.arm or ["plain", "warm"]
    found: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    with busy_core(args.busy, kind=args.busy_kind), tempfile.TemporaryDirectory(prefix="nwfirst.") as cache:
        started = load()
        for index in range(args.processes):
            arm = arms[index % len(arms)]
            found[arm].append(spawn(arm, args, cache))
            print(f"process {index + 1}/{args.processes} {arm}", file=sys.stderr)
        ended = load()
    rows = [summary(arm, processes) for arm, processes in found.items() if processes]
    header = (
        f"{'arm':<6} {'n':>3} {'first/later own':>22} {'worst':>6} {'reported':>9} {'worst':>6} "
        f"{'later ms':>9} {'CV own':>7} {'worst':>6} {'CV rep':>7} {'worst':>6} {'1st unst':>8} "
        f"{'s 1st':>6} {'s/prof':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        own, rep = r["first_over_later_own"], r["first_over_later_reported"]
        print(
            f"{r['arm']:<6} {r['processes']:>3} "
            f"{statistics.median(own):>8.3f} [{min(own):.3f}-{max(own):.3f}] {max(own):>6.3f} "
            f"{statistics.median(rep):>9.3f} {max(rep):>6.3f} {statistics.median(r['later_ms']):>9.3f} "
            f"{100 * statistics.median(r['cv_own']):>6.1f}% {100 * max(r['cv_own']):>5.1f}% "
            f"{100 * statistics.median(r['cv_reported']):>6.1f}% {100 * max(r['cv_reported']):>5.1f}% "
            f"{r['first_unstable']:>8} {r['first_seconds']:>6.2f} {r['seconds_per_profile']:>6.2f}"
        )
    print(
        f"network {args.network}, {args.profiles} profiles a process, busy core "
        f"{args.busy_kind if args.busy else 'no'}, load {started} -> {ended}"
    )
    _report.write_json(
        args.json,
        {"busy": args.busy, "load_start": started, "load_end": ended, "arms": rows, "processes": found},
    )


if __name__ == "__main__":
    main()
