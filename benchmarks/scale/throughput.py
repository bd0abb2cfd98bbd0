"""Trials per hour against 1, 2 and 4 local workers on one study, on a cheap objective.

Each worker is a `nas-workbench worker` process started by ``run.run(workers=N)``; every trial builds a
network of the tiny chain space, counts its parameters and waits ``--eval-seconds`` (an evaluation that
does not use the CPU: an accelerator, a remote service). Throughput is measured in the steady state, from
the moment every worker has completed a trial to the last completion, so worker start-up (importing
torch) is left out; the wall time with start-up is printed too. Speed-up is against one worker, in the
same run.

    python benchmarks/scale/throughput.py [--storage postgresql://postgres@127.0.0.1/test] \
        [--trials-per-worker 30] [--eval-seconds 0.5] [--json out.json]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import optuna
from _evaluate import wait_then_score  # this script's folder is on the path, and so on the workers'

import nas_workbench as nw
from nas_workbench.engine.storage import open_storage
from nas_workbench.engine.storage_urls import masked_url
from nas_workbench.testing.workers import TINY_CHAIN

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


def measure(storage: str, workers: int, trials: int) -> dict[str, float]:
    name = f"bench-throughput-{uuid.uuid4().hex[:8]}"
    config = nw.SearchConfig(
        space="chain", space_options=TINY_CHAIN, strategy="random", objectives=["accuracy", "params"],
        profile_metrics=["params"], n_trials=trials, storage=storage, study_name=name,
    )  # fmt: skip
    run = nw.search(config, evaluate=wait_then_score)
    started = time.perf_counter()
    run.run(workers=workers)
    wall = time.perf_counter() - started
    done = sorted(t.datetime_complete for t in run.study.trials if t.datetime_complete is not None)
    # From the moment every worker has finished a trial to the last completion: start-up left out.
    steady = (done[-1] - done[workers - 1]).total_seconds()
    optuna.delete_study(study_name=name, storage=open_storage(storage))
    return {
        "workers": workers,
        "trials": len(done),
        "wall_s": wall,
        "steady_s": steady,
        "trials_per_hour": (len(done) - workers) / steady * 3600,
    }


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--storage", help="storage URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--trials-per-worker", type=int, default=30)
    parser.add_argument("--eval-seconds", type=float, default=0.5)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.environ["NAS_BENCH_EVAL_S"] = str(args.eval_seconds)

    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # worker logs go to ./runs, inside the temporary folder
        storage = args.storage or f"sqlite:///{folder}/throughput.db"
        rows = [measure(storage, n, n * args.trials_per_worker) for n in args.workers]
    base = rows[0]["trials_per_hour"] / rows[0]["workers"]
    print(
        f"storage {masked_url(storage)}, {args.eval_seconds:g} s per evaluation, {os.cpu_count()} CPU cores"
    )
    print(f"{'workers':>8}{'trials':>8}{'wall s':>9}{'steady s':>10}{'trials/hour':>13}{'speed-up':>10}")
    for row in rows:
        speedup = row["trials_per_hour"] / base
        row["speedup_vs_1"] = speedup
        print(f"{row['workers']:>8}{row['trials']:>8}{row['wall_s']:>9.1f}{row['steady_s']:>10.1f}"
              f"{row['trials_per_hour']:>13.0f}{speedup:>9.2f}x")  # fmt: skip
    if args.json:
        payload = {"storage": masked_url(storage), "eval_seconds": args.eval_seconds,
                   "cpu_count": os.cpu_count(), "rows": rows}  # fmt: skip
        _report.write_json(args.json, payload)


if __name__ == "__main__":
    main()
