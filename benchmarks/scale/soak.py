"""Soak: a long search does not grow. Resident memory after 300 trials against after 30, in one run.

Runs one search in this process on the default chain space (millions of architectures, so nearly every
trial builds and profiles a new network: parameters and FLOPs counted, latency measured unless
--no-latency), scored by a cheap function instead of training, on a SQLite storage. Records the process's
resident set size after every trial (from /proc/self/statm) and, with a GPU, the memory torch holds on it.
The growth from trial 30 to trial 300 is what a longer search would keep adding.

    python benchmarks/scale/soak.py [--trials 300] [--baseline 30] [--device cpu] [--json out.json]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import optuna
import torch

import nas_workbench as nw
from nas_workbench.engine import events as ev
from nas_workbench.testing.workers import score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--baseline", type=int, default=30, help="the trial whose memory is the reference")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-latency", action="store_true", help="count parameters and FLOPs only")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    metrics = ["params", "flops"] if args.no_latency else ["params", "flops", "latency_ms"]
    rss: list[float] = []
    gpu: list[int] = []

    def record(event: ev.Event) -> None:
        if isinstance(event, ev.TrialFinished):
            rss.append(rss_mb())
            if torch.cuda.is_initialized():
                gpu.append(torch.cuda.memory_allocated())

    with tempfile.TemporaryDirectory() as folder:
        config = nw.SearchConfig(
            space="chain", strategy="random", objectives=["accuracy", "params"], profile_metrics=metrics,
            n_trials=args.trials, device=args.device, storage=f"sqlite:///{folder}/soak.db",
            study_name="soak",
        )  # fmt: skip
        run = nw.search(config, evaluate=score)
        run.subscribe(record)
        started = time.perf_counter()
        run.run()
        wall = time.perf_counter() - started
        statuses = [r.status for r in run.results()]

    base, end = rss[args.baseline - 1], rss[-1]
    figures = {
        "trials": len(rss),
        "baseline_trial": args.baseline,
        "rss_mb_at_baseline": base,
        "rss_mb_at_end": end,
        "growth_mb": end - base,
        "growth_kb_per_trial": (end - base) * 1024 / (len(rss) - args.baseline),
        "rss_mb_peak": max(rss),
        "wall_s": wall,
        "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
        "metrics": metrics,
        "gpu_bytes_after_trials": gpu[-1] if gpu else None,
    }
    print(f"{len(rss)} trials in {wall:.0f} s on {args.device} ({', '.join(metrics)}), {figures['statuses']}")
    for trial in sorted({1, 10, args.baseline, 100, 200, len(rss)} & set(range(1, len(rss) + 1))):
        print(f"  RSS after trial {trial:>4}: {rss[trial - 1]:8.1f} MB")
    print(f"growth from trial {args.baseline} to {len(rss)}: {end - base:+.1f} MB "
          f"({figures['growth_kb_per_trial']:+.1f} KB per trial)")  # fmt: skip
    if gpu:
        print(f"GPU memory held by torch after the last trial: {gpu[-1]} bytes")
    _report.write_json(args.json, figures)


if __name__ == "__main__":
    main()
