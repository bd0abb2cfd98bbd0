"""The side panel's listing against study size: seconds per ``GET studies`` and the server's memory.

A real Jupyter server with the extension lists one SQLite storage holding one ``--big``-trial study
(10,000 by default) and nine 100-trial studies, recorded as the engine records them. Measured over HTTP,
as the panel polls: the first call (which reads every trial once), then ``--calls`` calls with nothing
new, then ``--growing`` calls each after one more trial finished in the big study (written between
calls, untimed), and the server's resident memory after the first call and after the unchanged calls.
Goals (issue 18): at most 0.5 s per call after the first, memory growth under 50 MB over 100 calls.
Then ``nas-workbench show`` on the big study, in a fresh process: wall time, CPU time, peak memory.

The big study is 100 engine-like trials written through Optuna, copied in SQL to its size (writing
10,000 trials through Optuna takes minutes here): its copies repeat the first 100 trials' figures.
The script speaks only HTTP to the server, so it measures any version of the extension
(``PYTHONPATH=/other/checkout``) against the same data.

    python benchmarks/scale/listing.py [--big 10000] [--calls 100] [--growing 20] [--json out.json]
"""

from __future__ import annotations

import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import optuna
from optuna.storages._rdb import models
from optuna.trial import TrialState, create_trial

import nas_workbench as nw
from nas_workbench.engine.study_record import StudyRecord, write_record
from nas_workbench.testing.jupyter import jupyter_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

BUDGET_MS = 2.0


def engine_like_trial(
    space: nw.spaces.SearchSpace, rng: random.Random, number: int
) -> optuna.trial.FrozenTrial:
    """A finished trial with the records the engine keeps; about a fifth over the latency budget."""
    spec = space.random(number)
    accuracy, latency = rng.random(), rng.random() * 2.5

    def entry(value: float, unit: str, method: str) -> dict:
        return {"value": value, "unit": unit, "method": method, "source": "benchmark", "detail": {}}

    metrics = {
        "accuracy": entry(accuracy, "fraction", "measured"),
        "latency_ms": entry(latency, "ms", "measured"),
        "params": entry(rng.randint(1_000, 100_000), "count", "counted"),
        "flops": entry(rng.randint(10_000, 1_000_000), "FLOPs", "counted"),
    }
    attrs = {
        "spec": spec.to_dict(),
        "arch": space.format(spec),
        "summary": space.summary(spec),
        "metrics": metrics,
        "status": "ok" if latency <= BUDGET_MS else "infeasible",
        "worker": "bench:1",
        "device": {"kind": "cpu", "name": "benchmark"},
        "timings": {"profile_s": 0.1, "evaluate_s": 0.2},
    }
    return create_trial(
        state=TrialState.COMPLETE,
        values=[accuracy, latency],
        user_attrs=attrs,
        system_attrs={"constraints": [(latency - BUDGET_MS) / BUDGET_MS]},
    )


def write_study(url: str, name: str, trials: int, seed: int) -> optuna.Study:
    config = nw.SearchConfig(n_trials=trials, budget={"latency_ms": BUDGET_MS})
    study = optuna.create_study(storage=url, study_name=name, directions=config.directions)
    record = StudyRecord(
        config=config.to_dict(), objectives=tuple(config.objectives), directions=tuple(config.directions),
        n_trials=trials, budget=config.budget, space="chain", strategy="tpe", version=nw.__version__,
    )  # fmt: skip
    write_record(study, record)
    space, rng = nw.spaces.get("chain"), random.Random(seed)
    study.add_trials([engine_like_trial(space, rng, number) for number in range(trials)])
    return study


def copy_trials(path: Path, name: str, copies: int) -> None:
    """Repeat study ``name``'s trials ``copies`` times in SQL, with new ids and numbers (Optuna's tables
    as its models define them)."""
    tables = [
        models.TrialValueModel,
        models.TrialUserAttributeModel,
        models.TrialSystemAttributeModel,
        models.TrialParamModel,
        models.TrialIntermediateValueModel,
    ]
    with sqlite3.connect(path) as db:
        (study_id,) = db.execute("SELECT study_id FROM studies WHERE study_name = ?", (name,)).fetchone()
        (last_id,) = db.execute("SELECT max(trial_id) FROM trials").fetchone()
        (count,) = db.execute("SELECT count(*) FROM trials WHERE study_id = ?", (study_id,)).fetchone()
        base = f"SELECT trial_id FROM trials WHERE study_id = {study_id} AND trial_id <= {last_id}"
        for k in range(1, copies):
            db.execute(
                "INSERT INTO trials (trial_id, number, study_id, state, datetime_start, datetime_complete) "
                "SELECT trial_id + ?, number + ?, study_id, state, datetime_start, datetime_complete "
                f"FROM trials WHERE trial_id IN ({base})",
                (k * last_id, k * count),
            )
            for model in tables:
                table = model.__table__
                columns = [c.name for c in table.columns if not c.primary_key and c.name != "trial_id"]
                db.execute(
                    f"INSERT INTO {table.name} (trial_id, {', '.join(columns)}) "
                    f"SELECT trial_id + ?, {', '.join(columns)} FROM {table.name} WHERE trial_id IN ({base})",
                    (k * last_id,),
                )


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def list_studies(url: str, token: str) -> tuple[float, dict]:
    request = urllib.request.Request(
        f"{url}/nas-workbench/api/studies", headers={"Authorization": f"token {token}"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        body = json.loads(response.read())
    return time.perf_counter() - started, body


def time_show(url: str) -> dict[str, float]:
    """`nas-workbench show big` in a fresh process: wall time, CPU time (its own and its children's)
    and peak resident memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "nas_workbench", "show", "big", "--storage", url],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "max_rss_mb": after.ru_maxrss / 1024}


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_s": statistics.median(ordered),
        "p95_s": ordered[max(0, round(0.95 * len(ordered)) - 1)],
        "max_s": ordered[-1],
    }


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--big", type=int, default=10_000, help="trials of the big study (a multiple of 100)")
    parser.add_argument("--calls", type=int, default=100, help="listings with nothing new")
    parser.add_argument("--growing", type=int, default=20, help="listings each after one more trial")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "runs").mkdir()
        path = root / "runs" / "nas_workbench.db"
        url = f"sqlite:///{path}"
        started = time.perf_counter()
        for index in range(9):
            write_study(url, f"small-{index}", 100, seed=index)
        big = write_study(url, "big", 100, seed=99)
        copy_trials(path, "big", args.big // 100)
        print(f"wrote the studies in {time.perf_counter() - started:.0f} s")

        with jupyter_server(root, frontend="lab") as server:
            idle_mb = rss_mb(server.pid)
            first_s, body = list_studies(server.url, server.token)
            done = {s["name"]: s["trials"]["done"] for s in body["studies"]}
            assert done["big"] == args.big and len(done) == 10, done
            after_first_mb = rss_mb(server.pid)
            unchanged = [list_studies(server.url, server.token)[0] for _ in range(args.calls)]
            after_calls_mb = rss_mb(server.pid)
            growing = []
            space, rng = nw.spaces.get("chain"), random.Random(7)
            for number in range(args.growing):
                big.add_trial(engine_like_trial(space, rng, args.big + number))
                seconds, body = list_studies(server.url, server.token)
                growing.append(seconds)
            done = {s["name"]: s["trials"]["done"] for s in body["studies"]}
            assert done["big"] == args.big + args.growing, done
        show = time_show(url)

    figures = {
        "studies": f"1 x {args.big} + 9 x 100 trials",
        "first_call_s": first_s,
        "unchanged": summary(unchanged),
        "growing": summary(growing) if growing else None,
        "rss_mb": {
            "idle": idle_mb,
            "after_first": after_first_mb,
            f"after_{args.calls}_calls": after_calls_mb,
        },
        "growth_over_calls_mb": after_calls_mb - after_first_mb,
        "show_big": show,
        "load": Path("/proc/loadavg").read_text().split()[:3],
    }
    print(f"listing {figures['studies']} (load {' '.join(figures['load'])})")
    print(f"{'calls':<34}{'median s':>10}{'p95 s':>10}{'max s':>10}")
    print(f"{'first':<34}{first_s:>10.3f}{first_s:>10.3f}{first_s:>10.3f}")
    rows = [(f"{args.calls} unchanged", figures["unchanged"])]
    if growing:
        rows.append((f"{args.growing} each after one new trial", figures["growing"]))
    for name, row in rows:
        print(f"{name:<34}{row['median_s']:>10.3f}{row['p95_s']:>10.3f}{row['max_s']:>10.3f}")
    print(
        f"server RSS: {idle_mb:.0f} MB idle, {after_first_mb:.0f} MB after the first call, "
        f"{after_calls_mb:.0f} MB after {args.calls} more ({figures['growth_over_calls_mb']:+.1f} MB)"
    )
    print(
        f"nas-workbench show big: {show['wall_s']:.1f} s wall, {show['cpu_s']:.1f} s CPU, "
        f"{show['max_rss_mb']:.0f} MB peak"
    )
    _report.write_json(args.json, figures)


if __name__ == "__main__":
    main()
