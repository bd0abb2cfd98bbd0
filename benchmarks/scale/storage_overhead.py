"""Storage overhead per trial: in-memory vs SQLite vs PostgreSQL, in one run.

Replays the storage traffic of one engine trial, identical for every storage: create the trial, suggest
its architecture's four decisions, write the nine records the engine keeps (spec, architecture, summary,
worker, device, metrics twice, timings, status) and a budget constraint, then tell two objective values.
The RDB storages also pay what many processes need (`nas_workbench.engine.scheduler`): adding the trial
to the plan, a heartbeat before the claim, the atomic claim, and the check for dead workers' trials.
Nothing else runs, so the figures are the storage's own cost. SQLite is measured as the engine opens it
(write-ahead log) and as Optuna opens it by default (rollback journal, a disk flush per commit).

    python benchmarks/scale/storage_overhead.py [--trials 100] \
        [--postgres postgresql://postgres@127.0.0.1/test] [--json out.json]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

import optuna

from nas_workbench.engine.scheduler import claim
from nas_workbench.engine.storage import open_storage
from nas_workbench.engine.storage_urls import masked_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

CHOICES = {"stage1.depth": (1, 2), "stage1.block0.op": ("conv", "dwsep"), "stage1.block0.kernel": (3, 5),
           "stage1.block0.width": (8, 16)}  # fmt: skip
METRICS = {name: {"value": 1234.5, "unit": "ms", "method": "measured", "source": "cpu timer", "detail": {}}
           for name in ("params", "flops", "macs", "latency_ms", "peak_memory_mb")}  # fmt: skip
RECORDS = {
    "spec": {"space": "chain", "choices": {k: v[0] for k, v in CHOICES.items()}, "options": {}},
    "arch": '{"stage1.depth":1}',
    "summary": "conv3:8",
    "worker": "host:1234",
    "device": {"device": "cpu", "threads": 2, "torch": "2.13.0"},
    "metrics": METRICS,
    "timings": {"profile_s": 0.1, "evaluate_s": 0.2},
    "status": "ok",
}


def _trial_body(trial: optuna.Trial) -> list[float]:
    for name, options in CHOICES.items():
        trial.suggest_categorical(name, options)
    for key, value in RECORDS.items():
        trial.set_user_attr(key, value)
    trial.set_user_attr("metrics", METRICS)  # the engine writes them twice: after profiling, after scoring
    trial.set_constraint("params", -0.5)
    return [0.9, 1234.0]


def plain(study: optuna.Study) -> None:
    """One trial as `Study.ask` / `Study.tell` see it (what any storage must do)."""
    trial = study.ask()
    study.tell(trial, _trial_body(trial))


def engine(study: optuna.Study, storage: optuna.storages.BaseStorage, n_trials: int) -> Callable[[], None]:
    """One trial as the engine runs it on an RDB storage: plan, heartbeat, claim, dead-worker check."""

    def run() -> None:
        optuna.storages.fail_stale_trials(study)
        claimed = claim(study, storage, n_trials)
        assert claimed is not None
        trial, trial_id = claimed
        storage.record_heartbeat(trial_id)
        study.tell(trial, _trial_body(trial))

    return run


def time_per_trial(step: Callable[[], None], trials: int) -> float:
    started = time.perf_counter()
    for _ in range(trials):
        step()
    return (time.perf_counter() - started) / trials * 1000


def measure(
    storages: dict[str, tuple[optuna.storages.BaseStorage, bool]], trials: int, rounds: int
) -> list[dict]:
    """Milliseconds per trial for each storage: the median of ``rounds`` rounds, interleaved across storages
    so that a busy moment of the machine hits all of them alike."""
    studies = {}
    for label, (storage, rdb) in storages.items():
        study = optuna.create_study(storage=storage, study_name=f"bench-storage-{uuid.uuid4().hex[:8]}",
                                    directions=["maximize", "minimize"])  # fmt: skip
        steps = {"plain_ms": lambda study=study: plain(study)}
        if rdb:
            steps["engine_ms"] = engine(study, storage, 10**9)
        for step in steps.values():
            step()  # warm up: connections, table metadata
        studies[label] = (study, storage, steps)
    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for label, (_, _, steps) in studies.items():
            for kind, step in steps.items():
                samples.setdefault((label, kind), []).append(time_per_trial(step, trials // rounds))
    rows = []
    for label, (study, storage, steps) in studies.items():
        rows.append({"storage": label, **{kind: statistics.median(samples[label, kind]) for kind in steps}})
        optuna.delete_study(study_name=study.study_name, storage=storage)
    return rows


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--trials", type=int, default=100, help="trials per storage and kind")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the median is shown")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1/test", help="'' to leave out")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")  # Optuna's notices about experimental heartbeats

    with tempfile.TemporaryDirectory() as folder:
        storages = {
            "in-memory": (optuna.storages.InMemoryStorage(), False),
            "SQLite (as the engine opens it: WAL)": (open_storage(f"sqlite:///{folder}/wal.db"), True),
            "SQLite (Optuna's default)": (
                optuna.storages.RDBStorage(f"sqlite:///{folder}/default.db", heartbeat_interval=5),
                True,
            ),
        }
        if args.postgres:
            storages[f"PostgreSQL {masked_url(args.postgres)}"] = (open_storage(args.postgres), True)
        rows = measure(storages, args.trials, args.rounds)
    print(
        f"{args.trials} trials each, median of {args.rounds} interleaved rounds; ms of storage work per trial"
    )
    print(f"{'storage':<55}{'ask/tell':>10}{'engine':>10}")
    for row in rows:
        engine_ms = f"{row['engine_ms']:.1f}" if "engine_ms" in row else "-"
        print(f"{row['storage']:<55}{row['plain_ms']:>10.1f}{engine_ms:>10}")
    _report.write_json(args.json, {"trials": args.trials, "rounds": args.rounds, "rows": rows})


if __name__ == "__main__":
    main()
