"""Engine overhead per trial against plain Optuna running the same objective, and one tree against another.

Both sides sample an architecture of the same space with the same sampler, build it, profile it with
the same `nas_workbench.profile` call and score it with the same cheap function (no training), on a SQLite
storage. What differs is the engine's own bookkeeping (events, user attributes, constraints, budget checks),
which is what this measures: wall and CPU time per trial, the run's set-up (``nw.search``) apart.

``--counted`` profiles only counted metrics (params, FLOPs, MACs: objectives accuracy and params), so that
latency timing, whose length depends on how busy the machine is, does not hide the engine's own work.
``--profile`` runs the engine side under cProfile and splits its time into the profiling calls
(`nas_workbench.profiling.profile`), the storage's calls (``optuna/storages``) and the rest, the engine.

``--trees BEFORE AFTER`` compares two checkouts of the project (e.g. ``git worktree add ../before
e7487cb``): each repeat runs one process per tree, in ABBA order, so that the machine's load falls on
both alike, and the table gives each tree's median and the ratio after/before. Each tree's code runs
from a copy compiled to bytecode, as an installed package is (`_report.compiled_copy`; ``--source`` runs
the checkouts themselves, compiling every module the run imports from source where
``PYTHONDONTWRITEBYTECODE`` is set).

    python benchmarks/engine_overhead.py --trials 40 [--repeats 3] [--demo] [--json out.json]
    python benchmarks/engine_overhead.py --counted --trials 20 --repeats 4 --trees ../before .
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _report  # this folder is on the path when run as a script
import optuna
import torch

import nas_workbench as nw
from nas_workbench.profiling import profile

#: What each side profiles: everything a search records by default, or counted figures only.
METRICS = {
    "default": ["params", "flops", "macs", "latency_ms", "peak_memory_mb"],
    "counted": ["params", "flops", "macs"],
}


def cheap_score(spec: nw.ArchSpec) -> float:
    """A deterministic stand-in for accuracy, so neither side trains."""
    return (int(spec.id, 16) % 1000) / 1000.0


def timed(work: Callable[[], Any]) -> dict[str, float]:
    """Wall and CPU seconds of ``work()`` (CPU: this process's, all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def plain_optuna(space_name: str, trials: int, storage: str, metrics: list[str]) -> dict[str, float]:
    torch.set_num_threads(1)
    space = nw.spaces.get(space_name)
    task = nw.load_task("digits")
    second = "latency_ms" if "latency_ms" in metrics else "params"

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        spec = space.sample(trial)
        model = space.build(spec, task.input_shape, task.num_classes)
        return cheap_score(spec), profile(model, task.input_shape, metrics=metrics)[second].value

    sampler = nw.strategies.make_sampler("tpe", seed=0, space=space, directions=("maximize", "minimize"))
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"], sampler=sampler)
    return timed(lambda: study.optimize(objective, n_trials=trials))


def workbench(space_name: str, trials: int, storage: str, metrics: list[str]) -> dict[str, float]:
    counted: dict[str, Any] = {"objectives": ["accuracy", "params"], "profile_metrics": metrics}
    runs: list[Any] = []

    def prepare() -> None:
        """The config, the run's set-up and its data, all of which a user's first search pays for: trees
        differ in where they import and load (a study now records the data's identity, so ``nw.search``
        loads the data; the config's validation imports lazily), not only in how much."""
        config = nw.SearchConfig(
            space=space_name, strategy="tpe", n_trials=trials, storage=storage, study_name="bench", threads=1,
            **(counted if "latency_ms" not in metrics else {}),
        )  # fmt: skip
        runs.append(nw.search(config, evaluate=lambda s, m: {"accuracy": cheap_score(s)}))
        runs[0].task  # noqa: B018

    setup = timed(prepare)
    figures = timed(runs[0].run)
    return {**figures, "setup_wall_s": setup["wall_s"], "setup_cpu_s": setup["cpu_s"]}


def attribution(stats: pstats.Stats) -> dict[str, float]:
    """Seconds (cumulative, under cProfile) in the profiling calls and in the storage's top-level calls,
    and the number of Python calls made."""
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined] # pstats keeps its table here
    profiling = sum(
        e[3]
        for (file, _, name), e in entries.items()
        if name == "profile" and "nas_workbench/profiling" in file
    )
    storage = sum(
        e[3]
        for (file, _, name), e in entries.items()
        if "optuna/storages/_rdb/storage.py" in file and not name.startswith("_")
    )  # public methods only: they call each other rarely, so their cumulative times barely overlap
    # Python calls: a count the machine's load does not move, unlike the seconds
    return {"profiling_s": profiling, "storage_s": storage, "python_calls": stats.total_calls}  # type: ignore[attr-defined]


def one_side(args: argparse.Namespace) -> dict[str, Any]:
    """Both sides once, in this process, with the ``nas_workbench`` on ``sys.path``: the engine first, so
    its set-up is a fresh kernel's first search (the project's lazy imports and the data included)."""
    metrics = METRICS["counted" if args.counted else "default"]
    figures: dict[str, Any] = {"tree": str(Path(nw.__file__).parents[1])}
    with tempfile.TemporaryDirectory() as folder:
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
        figures["engine"] = workbench(args.space, args.trials, f"sqlite:///{folder}/engine.db", metrics)
        if args.profile:
            profiler.disable()
            figures["engine"].update(attribution(pstats.Stats(profiler)))
        figures["plain"] = plain_optuna(args.space, args.trials, f"sqlite:///{folder}/plain.db", metrics)
    return figures


def compare_trees(args: argparse.Namespace) -> dict[str, Any]:
    """Run `one_side` in a process per tree, ABBA-interleaved over the repeats; medians and ratios."""
    trees = [str(Path(tree).resolve()) for tree in args.trees]
    side_args = ["--space", args.space, "--trials", str(args.trials)]
    side_args += ["--counted"] * args.counted + ["--profile"] * args.profile
    runs: dict[str, list[dict[str, Any]]] = {tree: [] for tree in trees}
    n = args.trials
    with tempfile.TemporaryDirectory(prefix="engine-overhead-") as folder:
        code = {tree: tree if args.source else _report.compiled_copy(tree, Path(folder)) for tree in trees}
        for repeat in range(args.repeats):
            for tree in trees if repeat % 2 == 0 else trees[::-1]:
                out = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--one-side", *side_args],
                    env={**os.environ, "PYTHONPATH": code[tree]}, cwd=code[tree],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                runs[tree].append(json.loads(out.stdout.splitlines()[-1]))
                print(f"repeat {repeat} {Path(tree).name}: {runs[tree][-1]}", file=sys.stderr)
    keys = [(side, key) for side in ("plain", "engine") for key in runs[trees[0]][0][side]]
    medians = {  # per trial, but the run's set-up, which is per run
        tree: {
            f"{side}.{key}": statistics.median(r[side][key] for r in runs[tree])
            / (1 if "setup" in key else n)
            for side, key in keys
        }
        for tree in trees
    }
    before, after = (medians[tree] for tree in trees)
    print(f"median of {args.repeats}, s per trial ({n} trials), set-up per run")
    print(f"{'':28}{Path(trees[0]).name:>20}{Path(trees[1]).name:>20}{'after/before':>14}")
    for name in before:
        ratio = after[name] / before[name] if before[name] else float("nan")
        print(f"{name:28}{before[name]:>20.4f}{after[name]:>20.4f}{ratio:>14.2f}")
    return {"trees": trees, "trials": args.trials, "repeats": args.repeats, "counted": args.counted,
            "source": args.source, "per_trial_medians": medians, "runs": runs}  # fmt: skip


def compare_with_optuna(args: argparse.Namespace) -> dict[str, Any]:
    """Plain Optuna and the engine, interleaved in this process, seconds per trial."""
    metrics = METRICS["counted" if args.counted else "default"]
    plain, engine = [], []
    for repeat in range(args.repeats):  # interleaved, so machine noise hits both sides alike
        with tempfile.TemporaryDirectory() as folder:
            plain.append(
                plain_optuna(args.space, args.trials, f"sqlite:///{folder}/plain{repeat}.db", metrics)
            )
            engine.append(
                workbench(args.space, args.trials, f"sqlite:///{folder}/engine{repeat}.db", metrics)
            )
    p = statistics.median(r["wall_s"] for r in plain) / args.trials
    e = statistics.median(r["wall_s"] for r in engine) / args.trials
    figures = {
        "space": args.space,
        "trials": args.trials,
        "repeats": args.repeats,
        "plain_optuna_s_per_trial": p,
        "workbench_s_per_trial": e,
        "overhead_ms_per_trial": (e - p) * 1000,
        "ratio": e / p,
    }
    print(f"{'':32}{'s/trial (median of ' + str(args.repeats) + ')':>28}")
    print(f"{'plain Optuna (same objective)':32}{p:>28.4f}")
    print(f"{'NAS Workbench engine':32}{e:>28.4f}")
    print(f"{'engine overhead':32}{(e - p) * 1000:>25.1f} ms  (ratio {e / p:.2f}x)")
    if args.demo:
        figures["demo_wall_s"] = time_demo()
        print(f"{'nas-workbench demo, end to end':32}{figures['demo_wall_s']:>26.1f} s")
    return figures


def time_demo() -> float:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "nas_workbench.cli", "demo", "--storage", f"sqlite:///{folder}/demo.db",
             "--report", f"{folder}/demo.html"],
            check=True, capture_output=True,
        )  # fmt: skip
        return time.perf_counter() - started


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--space", default="chain")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--counted", action="store_true", help="profile counted metrics only (no timing)")
    parser.add_argument("--profile", action="store_true", help="split the engine side's time with cProfile")
    parser.add_argument("--trees", nargs=2, metavar=("BEFORE", "AFTER"), help="compare two checkouts")
    parser.add_argument("--source", action="store_true", help="--trees: the checkouts, not compiled copies")
    parser.add_argument("--one-side", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--demo", action="store_true", help="also time `nas-workbench demo` end to end")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.one_side:
        print(json.dumps(one_side(args)))
        return
    figures = compare_trees(args) if args.trees else compare_with_optuna(args)
    _report.write_json(args.json, figures)


if __name__ == "__main__":
    main()
