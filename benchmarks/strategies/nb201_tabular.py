"""Every sampling strategy on NAS-Bench-201's published table, random search as the baseline in the same run.

The protocol of NAS-Bench-201 (Dong & Yang, ICLR 2020) for CIFAR-10: a query returns the 200-epoch
accuracy on the validation split (``c10_valid_val_200ep``), the search keeps the architecture with the best
validation accuracy, and what is reported is that architecture's test accuracy (``c10_test_200ep``), here
after 100 and 300 queries (trials), over many seeds. The strategies are the workbench's Optuna samplers on
the "nb201" space, driven by plain Optuna (a table lookup needs no engine). Also reported: each sampler's
own time per trial (a lookup costs microseconds, so the trial time is the sampler's overhead), and the
best-found curves against trials, against the search's wall time and against the training time the
queried architectures would have cost (200 epochs at ``c10_valid_train_time_per_epoch_s``).

The paper's figures are beside ours: random 93.70 ± 0.36, REINFORCE 93.85 ± 0.37, optimum 94.37. They
come from a simulated time budget rather than a query count, so they compare in magnitude, not digit by
digit.

    python benchmarks/strategies/nb201_tabular.py /work/shared/data/nb201
    python benchmarks/strategies/nb201_tabular.py /work/shared/data/nb201 --seeds 20 --queries 100,300 \\
        --limit gp=100 --json benchmarks/results/strategies_nb201.json
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

import optuna

import nas_workbench as nw

PAPER = {"random": (93.70, 0.36), "rl": (93.85, 0.37)}
OPTIMUM = 94.37


def load_table(folder: Path, space: nw.spaces.SearchSpace) -> dict[str, tuple[float, float, float]]:
    """NB201 string → (validation accuracy, test accuracy, seconds of 200-epoch training)."""
    with (folder / "nb201.csv").open() as f:
        rows = list(csv.DictReader(f))
    table = {}
    for row in rows:
        arch = space.format(space.parse(row["arch"]))  # the space's canonical notation
        table[arch] = (
            float(row["c10_valid_val_200ep"]),
            float(row["c10_test_200ep"]),
            200 * float(row["c10_valid_train_time_per_epoch_s"]),
        )
    return table


def run_one(name: str, seed: int, queries: int, space: nw.spaces.SearchSpace, table: dict) -> dict[str, list]:
    """One search: per trial, the test accuracy of the best-so-far (by validation), and the clocks."""
    # Grid search refuses spaces over 10,000 architectures unless told otherwise: here it is told.
    options = {"max_size": space.size()} if name == "grid" else {}
    sampler = nw.strategies.make_sampler(name, seed=seed, space=space, **options)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    best_val, best_test, trained = -1.0, 0.0, 0.0
    curve: list[float] = []
    train_clock: list[float] = []
    wall_clock: list[float] = []
    started = time.perf_counter()

    def objective(trial: optuna.Trial) -> float:
        nonlocal best_val, best_test, trained
        spec = space.sample(trial)
        trial.set_user_attr("spec", spec.to_dict())
        val, test, seconds = table[space.format(spec)]
        if val > best_val:
            best_val, best_test = val, test
        trained += seconds
        return val

    def record(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        curve.append(best_test)
        train_clock.append(trained)
        wall_clock.append(time.perf_counter() - started)

    study.optimize(objective, n_trials=queries, callbacks=[record])
    return {"test": curve, "train_s": train_clock, "wall_s": wall_clock}


def summary(values: list[float]) -> str:
    if not values:
        return "—"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {spread:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nb201_dir", type=Path, help="folder holding nb201.csv")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--queries", default="100,300", help="comma-separated query counts to report")
    parser.add_argument("--strategies", default=None, help="comma-separated (default: every sampling one)")
    parser.add_argument(
        "--limit", action="append", default=[], help="NAME=QUERIES: stop a costly strategy early (gp=100)"
    )
    parser.add_argument("--json", type=Path, help="write summaries and mean curves here")
    args = parser.parse_args()

    if not (args.nb201_dir / "nb201.csv").exists():
        print(f"{args.nb201_dir / 'nb201.csv'} not found: nothing to benchmark", file=sys.stderr)
        return 2
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = nw.spaces.get("nb201")
    table = load_table(args.nb201_dir, space)
    checkpoints = [int(q) for q in args.queries.split(",")]
    names = (
        args.strategies.split(",")
        if args.strategies
        else [n for n in nw.strategies.list() if not nw.strategies.get(n).relaxation]
    )
    names = ["random", *[n for n in names if n != "random"]]  # the baseline first, in the same run
    limits = {k: int(v) for k, v in (item.split("=") for item in args.limit)}

    results = {}
    header = f"{'strategy':<10}" + "".join(f"{f'test @ {q}':>16}" for q in checkpoints) + f"{'ms/trial':>10}"
    print(f"NAS-Bench-201 CIFAR-10, {args.seeds} seeds; optimum {OPTIMUM}")
    print(header)
    for name in names:
        queries = min(max(checkpoints), limits.get(name, max(checkpoints)))
        runs = [run_one(name, seed, queries, space, table) for seed in range(args.seeds)]
        at = {q: [r["test"][q - 1] for r in runs] if q <= queries else [] for q in checkpoints}
        per_trial_ms = statistics.mean(r["wall_s"][-1] / queries * 1000 for r in runs)
        results[name] = {
            "queries": queries,
            "test_at": {
                q: {"mean": statistics.mean(v), "std": statistics.stdev(v)} for q, v in at.items() if v
            },
            "ms_per_trial": per_trial_ms,
            "mean_curve_test": [statistics.mean(r["test"][i] for r in runs) for i in range(queries)],
            "mean_curve_train_s": [statistics.mean(r["train_s"][i] for r in runs) for i in range(queries)],
            "mean_curve_wall_s": [statistics.mean(r["wall_s"][i] for r in runs) for i in range(queries)],
        }
        row = f"{name:<10}" + "".join(f"{summary(at[q]):>16}" for q in checkpoints) + f"{per_trial_ms:>10.1f}"
        paper = PAPER.get(name)
        print(row + (f"   paper: {paper[0]:.2f} ± {paper[1]:.2f}" if paper else ""), flush=True)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"seeds": args.seeds, "optimum": OPTIMUM, "paper": PAPER, "results": results}, indent=1
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
