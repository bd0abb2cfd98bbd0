"""A default search's seconds per trial and measured latency on one torch thread against torch's own count.

Why `SearchConfig.threads` defaults to 1: an operator split over threads waits for the slowest, so when
another process holds a core every operator stalls. Each arm is a default search (chain space, digits,
accuracy and latency, random sampling so both arms train the same networks) in its own SQLite file, run
quiet and, with ``--busy``, beside a process keeping one core busy.

    python benchmarks/search_threads.py --trials 4 --busy --json threads.json
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _report  # this folder is on the path when run as a script

import nas_workbench as nw

sys.path.insert(0, str(Path(__file__).resolve().parent / "profiling"))
from _busy import busy_core  # a sibling folder of scripts, not a package


def one_search(threads: int | None, trials: int, folder: Path) -> dict[str, Any]:
    """Seconds per trial (trial started to finished) and each trial's measured latency."""
    storage = f"sqlite:///{folder / f't{threads}.db'}"
    config = nw.SearchConfig(strategy="random", n_trials=trials, threads=threads, storage=storage)
    run = nw.search(config)
    stamps: dict[str, list[float]] = {"trial_started": [], "trial_finished": []}
    run.subscribe(lambda e: stamps[e.kind].append(time.monotonic()) if e.kind in stamps else None)
    run.run()
    seconds = [b - a for a, b in zip(stamps["trial_started"], stamps["trial_finished"], strict=True)]
    return {"seconds_per_trial": seconds, "latency_ms": [r.value("latency_ms") for r in run.results()]}


def main() -> None:
    args = _report.parser(__doc__, busy=True)
    args.add_argument("--trials", type=int, default=4)
    options = args.parse_args()
    figures: dict[str, Any] = {}
    conditions = ["quiet", "busy"] if options.busy else ["quiet"]
    print(f"{'condition':9} {'threads':>13} {'s per trial (median)':>21} {'latency ms':>30}")
    for condition in conditions:
        with tempfile.TemporaryDirectory() as folder, busy_core(condition == "busy"):
            for threads in (1, None):  # one thread first: the first arm pays the process's warm-up
                arm = one_search(threads, options.trials, Path(folder))
                figures[f"{condition}, threads={threads}"] = arm
                shown = "torch's" if threads is None else str(threads)
                latency = " ".join(f"{v:.3f}" for v in arm["latency_ms"])
                print(f"{condition:9} {shown:>13} {statistics.median(arm['seconds_per_trial']):>21.2f} "
                      f"{latency:>30}", flush=True)  # fmt: skip
    _report.write_json(options.json, figures)


if __name__ == "__main__":
    main()
