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

With ``--pareto`` the search has two objectives, validation accuracy (maximised) and FLOPs
(``nb201_cost_derived.csv``, minimised), and the figure is the hypervolume of the queried points above 80 %
accuracy and below 220 MFLOPs (%·MFLOPs; larger is better).

    python benchmarks/strategies/nb201_tabular.py /work/shared/data/nb201 --seeds 20 --limit gp=100 \\
        --json benchmarks/results/strategies_nb201.json
    python benchmarks/strategies/nb201_tabular.py /work/shared/data/nb201 --pareto --queries 100,300,1000 \\
        --strategies tpe,nsga2,evolution --seeds 12
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import optuna

import nas_workbench as nw

PAPER = {"random": (93.70, 0.36), "rl": (93.85, 0.37)}
OPTIMUM = 94.37
#: The hypervolume's reference point: (accuracy %, MFLOPs).
REFERENCE = (80.0, 220.0)


def load_table(folder: Path, space: nw.spaces.SearchSpace) -> dict[str, dict[str, float]]:
    """The space's notation of each architecture → its validation and test accuracy, training seconds and
    MFLOPs (when the cost table is there)."""
    with (folder / "nb201.csv").open() as f:
        table = {
            space.format(space.parse(row["arch"])): {
                "valid": float(row["c10_valid_val_200ep"]),
                "test": float(row["c10_test_200ep"]),
                "train_s": 200 * float(row["c10_valid_train_time_per_epoch_s"]),
            }
            for row in csv.DictReader(f)
        }
    costs = folder / "nb201_cost_derived.csv"
    if costs.exists():
        with costs.open() as f:
            for row in csv.DictReader(f):
                table[space.format(space.parse(row["arch"]))]["mflops"] = float(row["flops_c10_M"])
    return table


def hypervolume(points: list[tuple[float, float]]) -> float:
    """Area dominated by (accuracy ↑, MFLOPs ↓) points, bounded by `REFERENCE`."""
    front: list[tuple[float, float]] = []
    for accuracy, mflops in sorted(points, key=lambda p: (p[1], -p[0])):
        if not front or accuracy > front[-1][0]:
            front.append((accuracy, mflops))
    edges = [mflops for _, mflops in front[1:]] + [REFERENCE[1]]
    return sum(
        (edge - mflops) * max(0.0, accuracy - REFERENCE[0])
        for (accuracy, mflops), edge in zip(front, edges, strict=True)
    )


def best_test(rows: list[dict[str, float]]) -> float:
    """The test accuracy of the architecture with the best validation accuracy so far."""
    return max(rows, key=lambda row: row["valid"])["test"]


def pareto_volume(rows: list[dict[str, float]]) -> float:
    return hypervolume([(row["valid"], row["mflops"]) for row in rows])


def run_one(
    name: str,
    seed: int,
    queries: int,
    space: nw.spaces.SearchSpace,
    table: dict,
    score: Callable[[list[dict[str, float]]], float],
    pareto: bool,
) -> dict[str, list]:
    """One search: after each trial, ``score`` of the queried rows and the clocks."""
    directions = ("maximize", "minimize") if pareto else ("maximize",)
    # Grid search refuses spaces over 10,000 architectures unless told otherwise: here it is told.
    options = {"max_size": space.size()} if name == "grid" else {}
    sampler = nw.strategies.make_sampler(name, seed=seed, space=space, directions=directions, **options)
    study = optuna.create_study(directions=list(directions), sampler=sampler)
    queried: list[dict[str, float]] = []
    curve, train_clock, wall_clock = [], [], []
    started = time.perf_counter()

    def objective(trial: optuna.Trial) -> list[float]:
        spec = space.sample(trial)
        trial.set_user_attr("spec", spec.to_dict())
        row = table[space.format(spec)]
        queried.append(row)
        return [row["valid"], row["mflops"]] if pareto else [row["valid"]]

    def record(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        curve.append(score(queried))
        train_clock.append(sum(row["train_s"] for row in queried))
        wall_clock.append(time.perf_counter() - started)

    study.optimize(objective, n_trials=queries, callbacks=[record])
    return {"score": curve, "train_s": train_clock, "wall_s": wall_clock}


def summary(values: list[float], digits: int) -> str:
    if not values:
        return "—"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nb201_dir", type=Path, help="folder holding nb201.csv (and nb201_cost_derived.csv)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--queries", default="100,300", help="comma-separated query counts to report")
    parser.add_argument("--strategies", default=None, help="comma-separated (default: every sampling one)")
    parser.add_argument("--pareto", action="store_true", help="accuracy vs FLOPs; report the hypervolume")
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
    if args.pareto and "mflops" not in next(iter(table.values())):
        print("--pareto needs nb201_cost_derived.csv beside nb201.csv", file=sys.stderr)
        return 2
    score, digits = (pareto_volume, 1) if args.pareto else (best_test, 2)
    checkpoints = [int(q) for q in args.queries.split(",")]
    names = (
        args.strategies.split(",")
        if args.strategies
        else [n for n in nw.strategies.list() if not nw.strategies.get(n).relaxation]
    )
    names = ["random", *[n for n in names if n != "random"]]  # the baseline first, in the same run
    if args.pareto:
        names = [n for n in names if nw.strategies.get(n).multi_objective]
    limits = {k: int(v) for k, v in (item.split("=") for item in args.limit)}

    what = (
        "hypervolume of accuracy vs MFLOPs"
        if args.pareto
        else f"test accuracy of the choice (optimum {OPTIMUM})"
    )
    print(f"NAS-Bench-201 CIFAR-10, {args.seeds} seeds; {what}")
    print(f"{'strategy':<10}" + "".join(f"{f'@ {q}':>18}" for q in checkpoints) + f"{'ms/trial':>10}")
    results = {}
    for name in names:
        queries = min(max(checkpoints), limits.get(name, max(checkpoints)))
        runs = [run_one(name, seed, queries, space, table, score, args.pareto) for seed in range(args.seeds)]
        at = {q: [r["score"][q - 1] for r in runs] if q <= queries else [] for q in checkpoints}
        per_trial_ms = statistics.mean(r["wall_s"][-1] / queries * 1000 for r in runs)
        results[name] = {
            "queries": queries,
            "at": {q: {"mean": statistics.mean(v), "std": statistics.stdev(v)} for q, v in at.items() if v},
            "ms_per_trial": per_trial_ms,
            **{
                f"mean_curve{suffix}": [
                    round(statistics.mean(r[key][i] for r in runs), 4) for i in range(queries)
                ]
                for key, suffix in (("score", ""), ("train_s", "_train_s"), ("wall_s", "_wall_s"))
            },
        }
        row = f"{name:<10}" + "".join(f"{summary(at[q], digits):>18}" for q in checkpoints)
        paper = None if args.pareto else PAPER.get(name)
        paper_note = f"   paper: {paper[0]:.2f} ± {paper[1]:.2f}" if paper else ""
        print(row + f"{per_trial_ms:>10.1f}" + paper_note, flush=True)
    if args.json:
        settings = {
            "seeds": args.seeds,
            "pareto": args.pareto,
            "reference": REFERENCE if args.pareto else None,
        }
        args.json.write_text(json.dumps({**settings, "optimum": OPTIMUM, "paper": PAPER, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
