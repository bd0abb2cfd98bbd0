"""Opening a large stored study in the workbench: time to plots, what the kernel is blocked for, what the
browser receives.

A synthetic study of ``--trials`` finished trials (recorded as the engine records them; written once to
``benchmarks/results/``, which takes minutes, and reused) is opened with ``Workbench.load``. Measured: the
time the call blocks the cell, the time until its plots show, the longest the kernel's loop was busy
meanwhile (the rest is read in a background thread), and the size of the plot's document. Baseline in
the same run: reading the study in the cell (what blocks a kernel that reads synchronously), and the
document with every trial instead of the sample (the full Pareto front and best-so-far curve are in
both).

    python benchmarks/ui/load_study.py [--trials 10000] [--json out.json]
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path

import optuna
from bokeh.embed import json_item
from bokeh.layouts import gridplot
from optuna.trial import TrialState, create_trial

import nas_workbench as nw
from nas_workbench.engine._bulk_read import read_trials
from nas_workbench.engine.records import trial_results
from nas_workbench.engine.study_record import StudyRecord, write_record
from nas_workbench.viz import TrialTable, make_sources, study_figures

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stream import LoopWatch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

RESULTS = Path(__file__).resolve().parents[1] / "results"


def make_study(path: Path, trials: int) -> None:
    """A finished chain-space study of ``trials`` trials, about a fifth over a 2 ms latency budget."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{path}"
    config = nw.SearchConfig(n_trials=trials, budget={"latency_ms": 2.0})
    study = optuna.create_study(storage=storage, study_name="big", directions=config.directions)
    write_record(
        study,
        StudyRecord(
            config=config.to_dict(),
            objectives=tuple(config.objectives),
            directions=tuple(config.directions),
            n_trials=trials,
            budget=config.budget,
            space="chain",
            strategy="tpe",
            version=nw.__version__,
        ),
    )
    space, rng = nw.spaces.get("chain"), random.Random(0)

    def entry(value: float, unit: str, method: str) -> dict:
        return {"value": value, "unit": unit, "method": method, "source": "benchmark", "detail": None}

    batch = []
    for number in range(trials):
        spec = space.random(number)
        accuracy, latency = rng.random(), rng.random() * 2.5
        metrics = {
            "accuracy": entry(accuracy, "fraction", "measured"),
            "latency_ms": entry(latency, "ms", "measured"),
            "params": entry(rng.randint(1_000, 100_000), "count", "counted"),
        }
        attrs = {
            "spec": spec.to_dict(),
            "arch": space.format(spec),
            "summary": space.summary(spec),
            "metrics": metrics,
            "status": "ok" if latency <= 2.0 else "infeasible",
            "worker": "bench:1",
        }
        batch.append(
            create_trial(
                state=TrialState.COMPLETE,
                values=[accuracy, latency],
                user_attrs=attrs,
                system_attrs={"constraints": [(latency - 2.0) / 2.0]},
            )
        )
    study.add_trials(batch)


async def open_in_workbench(url: str) -> dict[str, float]:
    started = time.perf_counter()
    workbench = nw.Workbench.load("big", storage=url)
    returned = time.perf_counter() - started
    watch = LoopWatch(asyncio.get_running_loop())  # from here on the kernel could run other cells
    while workbench.plots.points == 0:
        await asyncio.sleep(0.01)
    shown = time.perf_counter() - started
    bundle = json.dumps(workbench.plots.widget.render_bundle)
    return {
        "cell_blocked_s": returned,
        "plots_shown_s": shown,
        "longest_stall_after_s": watch.stop(),
        "points_drawn": workbench.plots.points,
        "front": len(workbench.plots.front.data["number"]),
        "document_mb": len(bundle) / 1e6,
    }


def read_in_the_cell(url: str) -> dict[str, float]:
    """Baseline: everything on the kernel's thread, every trial in the document."""
    started = time.perf_counter()
    study = optuna.load_study(study_name="big", storage=url)
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend(trial_results(study))
    trials, front = make_sources(table, max_points=len(table.results))
    blocked = time.perf_counter() - started
    recorded = ["latency_ms", "peak_memory_mb"]
    figures = study_figures(trials, front, table.objectives, {"latency_ms": 2.0}, recorded)
    document = json.dumps(json_item(gridplot(list(figures), ncols=2)))
    return {
        "cell_blocked_s": blocked,
        "points_drawn": len(trials.data["number"]),
        "document_mb": len(document) / 1e6,
    }


def read_speed(url: str) -> dict[str, float]:
    """Reading the trials alone: Optuna's ``get_trials`` against the engine's bulk read, best of 3 each.

    Optuna's read goes to a bare `RDBStorage`: a `Study` wraps its storage in a cache of finished trials
    after the first read, which would time a dictionary look-up instead of the storage.
    """
    storage = optuna.storages.RDBStorage(url)
    study_id = storage.get_study_id_from_name("big")
    study = optuna.load_study(study_name="big", storage=url)

    def best_of_3(read) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            read()
            times.append(time.perf_counter() - started)
        return min(times)

    optuna_s = best_of_3(lambda: storage.get_all_trials(study_id, deepcopy=False))
    bulk_s = best_of_3(lambda: read_trials(study))
    return {"optuna_get_trials_s": optuna_s, "bulk_read_s": bulk_s, "speedup": optuna_s / bulk_s}


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--trials", type=int, default=10_000)
    args = parser.parse_args()
    path = RESULTS / f"ui_study_{args.trials}.db"
    if not path.exists():
        RESULTS.mkdir(parents=True, exist_ok=True)
        print(
            f"writing the {args.trials}-trial study to {path} once (Optuna writes ~30 trials/s)...",
            flush=True,
        )
        make_study(path, args.trials)
    url = f"sqlite:///{path}"
    ours = asyncio.run(open_in_workbench(url))
    baseline = read_in_the_cell(url)
    reading = read_speed(url)
    print(f"{args.trials:,} trials from SQLite")
    print(
        f"  Workbench.load: the cell returns after {ours['cell_blocked_s']:.2f} s, plots show after "
        f"{ours['plots_shown_s']:.1f} s, the loop is never busy longer than "
        f"{ours['longest_stall_after_s']:.2f} s meanwhile; {ours['points_drawn']:,} points drawn "
        f"(full front of {ours['front']}), document {ours['document_mb']:.2f} MB"
    )
    print(
        f"  read in the cell: kernel blocked {baseline['cell_blocked_s']:.1f} s; "
        f"{baseline['points_drawn']:,} points, document {baseline['document_mb']:.2f} MB"
    )
    print(
        f"  reading the trials: Optuna's get_trials {reading['optuna_get_trials_s']:.2f} s, the bulk read "
        f"{reading['bulk_read_s']:.2f} s ({reading['speedup']:.1f}x faster)"
    )
    if args.json:
        figures = {"workbench": ours, "read_in_cell": baseline, "reading": reading}
        _report.write_json(args.json, figures)


if __name__ == "__main__":
    main()
