"""Engine overhead per trial against plain Optuna running the same objective, in the same run.

Both sides sample an architecture of the same space with the same sampler, build it, profile it with
the same `nas_workbench.profile` call and score it with the same cheap function (no training), on a SQLite
storage. What differs is the engine's own bookkeeping (events, user attributes, constraints, budget checks),
which is what this measures. Also times the demo end to end when given --demo.

    python benchmarks/engine_overhead.py --trials 40 [--repeats 3] [--demo] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import torch

import nas_workbench as nw
from nas_workbench.profiling import profile


def cheap_score(spec: nw.ArchSpec) -> float:
    """A deterministic stand-in for accuracy, so neither side trains."""
    return (int(spec.id, 16) % 1000) / 1000.0


def plain_optuna(space_name: str, trials: int, storage: str) -> float:
    torch.set_num_threads(1)
    space = nw.spaces.get(space_name)
    task = nw.load_task("digits")

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        spec = space.sample(trial)
        model = space.build(spec, task.input_shape, task.num_classes)
        prof = profile(
            model, task.input_shape, metrics=["params", "flops", "macs", "latency_ms", "peak_memory_mb"]
        )
        return cheap_score(spec), prof["latency_ms"].value

    sampler = nw.strategies.make_sampler("tpe", seed=0, space=space, directions=("maximize", "minimize"))
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"], sampler=sampler)
    started = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return (time.perf_counter() - started) / trials


def workbench(space_name: str, trials: int, storage: str) -> float:
    config = nw.SearchConfig(
        space=space_name, strategy="tpe", n_trials=trials, storage=storage, study_name="bench", threads=1
    )
    run = nw.search(config, evaluate=lambda spec, model: {"accuracy": cheap_score(spec)})
    run.task  # noqa: B018 - load data outside the timed region, as plain_optuna does
    started = time.perf_counter()
    run.run()
    return (time.perf_counter() - started) / trials


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="chain")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--demo", action="store_true", help="also time `nas-workbench demo` end to end")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    plain, engine = [], []
    for repeat in range(args.repeats):  # interleaved, so machine noise hits both sides alike
        with tempfile.TemporaryDirectory() as folder:
            plain.append(plain_optuna(args.space, args.trials, f"sqlite:///{folder}/plain{repeat}.db"))
            engine.append(workbench(args.space, args.trials, f"sqlite:///{folder}/engine{repeat}.db"))
    p, e = statistics.median(plain), statistics.median(engine)
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
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
