"""Every sampling strategy on NAS-Bench-201's published table, random search as the baseline in the same run.

The protocol of NAS-Bench-201 (Dong & Yang, ICLR 2020) for CIFAR-10: a query returns the 200-epoch
accuracy on the validation split (``c10_valid_val_200ep``), the search keeps the architecture with the best
validation accuracy, and what is reported is that architecture's test accuracy (``c10_test_200ep``), here
after 100 and 300 queries (trials), over many seeds. The strategies are the workbench's Optuna samplers on
the "nb201" space, driven by plain Optuna (a table lookup needs no engine).

Also reported, because a query count hides what a search costs:

- **each sampler's overhead per trial**, measured: the CPU time of one trial of the search loop (ask, the
  sampler's answers, the table lookup, tell; one torch thread), which a shared, busy machine does not
  inflate as it does wall time (the JSON has the wall time too). A lookup costs microseconds, so this is
  the sampler's own cost with Optuna's in-memory bookkeeping (random search's figure is the floor). Given
  as the mean over all trials and at the end of the run (the mean over its last 10 trials), since
  model-based samplers grow more costly with every trial.
- **best-found against (simulated) wall time**: a trial's wall time is the training time the table
  records for the queried architecture (NAS-Bench-201's convention: 200 epochs at
  ``c10_valid_train_time_per_epoch_s``, the time of training on the 25k train split, on the benchmark's
  GPUs) plus the sampler's measured overhead for that trial. Every query counts, a repeated architecture
  too (as it does in the engine, which trains it again). The table gives the incumbent's test accuracy
  when the simulated clock reaches each of ``--hours``; a checkpoint that some seed's run did not reach
  within its queries is left out ("—"), since its incumbent there is unknown.

The paper's figures are beside ours: random 93.70 ± 0.36, REINFORCE 93.85 ± 0.37, optimum 94.37. They
come from a simulated time budget rather than a query count, so they compare in magnitude, not digit by
digit.

With ``--pareto`` the search has two objectives, validation accuracy (maximised) and FLOPs
(``nb201_cost_derived.csv``, minimised), and the figure is the hypervolume of the queried points above 80 %
accuracy and below 220 MFLOPs (%·MFLOPs; larger is better).

    python benchmarks/strategies/nb201_tabular.py /work/shared/data/nb201 --seeds 20 \\
        --strategies random,evolution,rl,tpe,nsga2 --json benchmarks/results/strategies_nb201.json
    python benchmarks/strategies/nb201_tabular.py /work/shared/data/nb201 --seeds 20 --strategies gp \\
        --json benchmarks/results/strategies_nb201_gp.json
    python benchmarks/strategies/nb201_tabular.py /work/shared/data/nb201 --pareto --queries 100,300,1000 \\
        --strategies tpe,nsga2,evolution --seeds 12
"""

from __future__ import annotations

import csv
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import torch

import nas_workbench as nw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

PAPER = {"random": (93.70, 0.36), "rl": (93.85, 0.37)}
OPTIMUM = 94.37
#: The hypervolume's reference point: (accuracy %, MFLOPs).
REFERENCE = (80.0, 220.0)
#: The table's training time per epoch of each architecture (on the train split the validation accuracy
#: comes from), and the epochs of the accuracies searched on.
TRAIN_TIME, EPOCHS = "c10_valid_train_time_per_epoch_s", 200


def load_table(folder: Path, space: nw.spaces.SearchSpace) -> dict[str, dict[str, float]]:
    """The space's notation of each architecture → its validation and test accuracy, training seconds (0
    when the table has no training times), MFLOPs and parameters (when the cost table is there)."""
    with (folder / "nb201.csv").open() as f:
        table = {
            space.format(space.parse(row["arch"])): {
                "valid": float(row["c10_valid_val_200ep"]),
                "test": float(row["c10_test_200ep"]),
                "train_s": EPOCHS * float(row[TRAIN_TIME]) if TRAIN_TIME in row else 0.0,
            }
            for row in csv.DictReader(f)
        }
    costs = folder / "nb201_cost_derived.csv"
    if costs.exists():
        with costs.open() as f:
            for row in csv.DictReader(f):
                cell = table[space.format(space.parse(row["arch"]))]
                cell["mflops"] = float(row["flops_c10_M"])
                cell["params"] = 1e6 * float(row["params_c10_M"])
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
) -> dict[str, list[float]]:
    """One search: after each trial, ``score`` of the queried rows, the queried architecture's training
    seconds, and the trial's measured cost (the sampler's overhead): CPU seconds of this process, which a
    busy or paused machine does not inflate, and wall seconds."""
    directions = ("maximize", "minimize") if pareto else ("maximize",)
    # Grid search refuses spaces over 10,000 architectures unless told otherwise: here it is told.
    options = {"max_size": space.size()} if name == "grid" else {}
    sampler = nw.strategies.make_sampler(name, seed=seed, space=space, directions=directions, **options)
    study = optuna.create_study(directions=list(directions), sampler=sampler)
    queried: list[dict[str, float]] = []
    curve: list[float] = []
    overhead: list[float] = []
    wall: list[float] = []
    last = (time.process_time(), time.perf_counter())

    def objective(trial: optuna.Trial) -> list[float]:
        spec = space.sample(trial)
        trial.set_user_attr("spec", spec.to_dict())
        row = table[space.format(spec)]
        queried.append(row)
        return [row["valid"], row["mflops"]] if pareto else [row["valid"]]

    def record(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        nonlocal last
        now = (time.process_time(), time.perf_counter())
        overhead.append(now[0] - last[0])
        wall.append(now[1] - last[1])
        last = now
        curve.append(score(queried))

    study.optimize(objective, n_trials=queries, callbacks=[record])
    train_s = [row["train_s"] for row in queried]
    return {"score": curve, "train_s": train_s, "overhead_s": overhead, "overhead_wall_s": wall}


def at_wall_time(run: dict[str, list[float]], seconds: float) -> float | None:
    """The run's score when its simulated clock (training time plus measured overhead, trial by trial)
    reaches ``seconds``: that of the last trial finished by then; None when the run's queries ran out
    first, or none had finished."""
    clock, reached = 0.0, None
    for index, (train, overhead) in enumerate(zip(run["train_s"], run["overhead_s"], strict=True)):
        clock += train + overhead
        if clock > seconds:
            return reached
        reached = run["score"][index]
    return None


def cell(stat: dict[str, float] | None, digits: int) -> str:
    """``mean ± std``, or "—" for a figure not measured."""
    return "—" if stat is None else f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def mean_std(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def summarise(runs: list[dict[str, list[float]]], checkpoints: list[int], hours: list[float]) -> dict:
    """Scores at query counts and at simulated wall-time checkpoints, overheads, and mean curves."""
    queries = len(runs[0]["score"])
    at = {q: [r["score"][q - 1] for r in runs] for q in checkpoints if q <= queries}
    at_hours = {}
    for h in hours:
        values = [at_wall_time(r, h * 3600) for r in runs]
        if all(v is not None for v in values):  # every seed reached it: no survivor bias
            at_hours[h] = values
    overhead_ms = [1000 * statistics.mean(r["overhead_s"]) for r in runs]
    final_ms = [1000 * statistics.mean(r["overhead_s"][-10:]) for r in runs]
    wall_ms = [1000 * statistics.mean(r["overhead_wall_s"]) for r in runs]
    simulated_h = [
        [
            c / 3600
            for c in itertools.accumulate(t + o for t, o in zip(r["train_s"], r["overhead_s"], strict=True))
        ]
        for r in runs
    ]
    return {
        "queries": queries,
        "seeds": len(runs),
        "at": {q: mean_std(v) for q, v in at.items()},
        "at_hours": {h: mean_std(v) for h, v in at_hours.items()},
        "overhead_ms_per_trial": mean_std(overhead_ms),
        "overhead_ms_per_trial_at_end": mean_std(final_ms),
        "overhead_wall_ms_per_trial": mean_std(wall_ms),
        "simulated_hours_at_end": mean_std([h[-1] for h in simulated_h]),
        "mean_curve": [round(statistics.mean(r["score"][i] for r in runs), 4) for i in range(queries)],
        "mean_curve_simulated_h": [
            round(statistics.mean(h[i] for h in simulated_h), 4) for i in range(queries)
        ],
        "mean_curve_overhead_ms": [
            round(1000 * statistics.mean(r["overhead_s"][i] for r in runs), 3) for i in range(queries)
        ],
    }


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("nb201_dir", type=Path, help="folder holding nb201.csv (and nb201_cost_derived.csv)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--queries", default="100,300", help="comma-separated query counts to report")
    parser.add_argument(
        "--hours",
        default="10,25,50,100,140",
        help="comma-separated simulated wall-time checkpoints, in hours",
    )
    parser.add_argument("--strategies", default=None, help="comma-separated (default: every sampling one)")
    parser.add_argument("--pareto", action="store_true", help="accuracy vs FLOPs; report the hypervolume")
    parser.add_argument(
        "--limit", action="append", default=[], help="NAME=QUERIES: stop a costly strategy early (gp=100)"
    )
    args = parser.parse_args()

    if not (args.nb201_dir / "nb201.csv").exists():
        print(f"{args.nb201_dir / 'nb201.csv'} not found: nothing to benchmark", file=sys.stderr)
        return 2
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)  # GP's model fitting uses torch; the machine's cores are shared
    space = nw.spaces.get("nb201")
    table = load_table(args.nb201_dir, space)
    if args.pareto and "mflops" not in next(iter(table.values())):
        print("--pareto needs nb201_cost_derived.csv beside nb201.csv", file=sys.stderr)
        return 2
    score, digits = (pareto_volume, 1) if args.pareto else (best_test, 2)
    timed = any(row["train_s"] > 0 for row in table.values())
    clock = (
        f"simulated wall time ({EPOCHS} x {TRAIN_TIME} + measured sampler overhead)"
        if timed
        else f"the measured sampler overhead ONLY (the table has no {TRAIN_TIME})"
    )
    checkpoints = [int(q) for q in args.queries.split(",")]
    hours = [float(h) for h in args.hours.split(",")]
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
    print(
        f"NAS-Bench-201 CIFAR-10, {args.seeds} seeds; {what}, after N queries and after H hours of {clock}; "
        "the sampler's overhead in CPU ms per trial, mean and over the last 10 trials"
    )
    print(
        f"{'strategy':<10}"
        + "".join(f"{f'@ {q}':>16}" for q in checkpoints)
        + "".join(f"{f'@ {h:g} h':>16}" for h in hours)
        + f"{'ms/trial':>10}{'at end':>9}"
    )
    results = {}
    for name in names:
        queries = min(max(checkpoints), limits.get(name, max(checkpoints)))
        runs = [run_one(name, seed, queries, space, table, score, args.pareto) for seed in range(args.seeds)]
        result = results[name] = summarise(runs, checkpoints, hours)
        cells = [result["at"].get(q) for q in checkpoints] + [result["at_hours"].get(h) for h in hours]
        overheads = (result["overhead_ms_per_trial"]["mean"], result["overhead_ms_per_trial_at_end"]["mean"])
        row = f"{name:<10}" + "".join(f"{cell(c, digits):>16}" for c in cells)
        row += f"{overheads[0]:>10.1f}{overheads[1]:>9.1f}"
        paper = None if args.pareto else PAPER.get(name)
        paper_note = f"   paper: {paper[0]:.2f} ± {paper[1]:.2f}" if paper else ""
        print(row + paper_note, flush=True)
    if args.json:
        settings = {
            "seeds": args.seeds,
            "pareto": args.pareto,
            "reference": REFERENCE if args.pareto else None,
            "hours": hours,
            "clock": clock,
        }
        _report.write_json(args.json, {**settings, "optimum": OPTIMUM, "paper": PAPER, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
