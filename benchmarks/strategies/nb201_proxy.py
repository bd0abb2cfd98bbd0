"""Proxy-guided search without a budget on NAS-Bench-201 CIFAR-10: the optimum within 25 trained queries?

Each sampler is driven with plain Optuna as the engine drives it (``study.ask()``, the "nb201" space
samples the architecture, the study is told its validation accuracy ``c10_valid_val_200ep``); the figure
is the CIFAR-10 test accuracy (``c10_test_200ep``) of the best-validation cell queried so far, after 10,
25 and 100 queries, mean over the seeds (the optimum of the table is 94.37). In the same run: random,
tpe, evolution, and **flops-greedy**, the best-validation cell among the 10 / 25 / 100 cells with the most
FLOPs. ``proxy_guided`` is told each cell's parameter count (``costs``, as the engine counts it) and its
zero-cost scores (``--scores``: counted FLOPs, or FLOPs and the project's data-free synflow from
`nb201_scores`, whose computation time is printed); its pool is the whole space (``--pool-size``).

    python benchmarks/strategies/nb201_proxy.py ../shared/data/nb201 --seeds 20 \\
        --json benchmarks/results/strategies_nb201_proxy.json
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import optuna
import torch

import nas_workbench as nw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nb201_budgeted import SCORES  # the sibling benchmark's score kinds
from nb201_scores import proxy_scores  # and scores of every cell
from nb201_tabular import load_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

CHECKPOINTS = (10, 25, 100)


def run_one(
    name: str,
    seed: int,
    space: nw.spaces.SearchSpace,
    table: dict[str, dict[str, float]],
    scores: dict[str, dict[str, float]],
    options: dict[str, object],
) -> dict[str, object]:
    """One search of ``max(CHECKPOINTS)`` queries: the test accuracy of its best-validation choice at
    each checkpoint, and the sampler's CPU seconds per query."""
    sampler = nw.strategies.make_sampler(
        name,
        seed=seed,
        space=space,
        costs=lambda spec: {"params": table[space.format(spec)]["params"]},
        scores=(lambda spec: scores[space.format(spec)]) if scores else None,
        **options,
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    best: dict[str, float] | None = None
    at: dict[int, float] = {}
    started = time.process_time()
    for query in range(1, max(CHECKPOINTS) + 1):
        trial = study.ask()
        spec = space.sample(trial)
        trial.set_user_attr("spec", spec.to_dict())
        row = table[space.format(spec)]
        if best is None or row["valid"] > best["valid"]:
            best = row
        study.tell(trial, row["valid"])
        if query in CHECKPOINTS:
            at[query] = best["test"]
    return {"at": at, "cpu_s_per_query": (time.process_time() - started) / max(CHECKPOINTS)}


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("nb201_dir", type=Path, help="folder holding nb201.csv and nb201_cost_derived.csv")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--strategies", default="random,proxy_guided,tpe,evolution")
    parser.add_argument("--scores", choices=SCORES, default="synflow")
    parser.add_argument("--pool-size", type=int, default=15_625)
    args = parser.parse_args()
    if not (args.nb201_dir / "nb201_cost_derived.csv").exists():
        print(f"nb201 tables not found in {args.nb201_dir}: nothing to benchmark", file=sys.stderr)
        return 2
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    space = nw.spaces.get("nb201")
    table = load_table(args.nb201_dir, space)
    scores, proxy_seconds = proxy_scores(args.scores, table)
    names = args.strategies.split(",")
    print(
        f"NAS-Bench-201 CIFAR-10, no budget: test accuracy of the best-validation choice after "
        f"{'/'.join(map(str, CHECKPOINTS))} queries, mean ± std over {args.seeds} seeds; proxy_guided "
        f"scores: {args.scores}" + (f" ({proxy_seconds:.0f} s for all cells)" if proxy_seconds else "")
    )
    print(f"{'strategy':<14}" + "".join(f"{'@' + str(c):>16}" for c in CHECKPOINTS) + f"{'CPU ms/query':>14}")
    results: dict[str, dict] = {}
    for name in names:
        # the table holds every score already: the whole pool is scored before the first query, for free
        options = {"pool_size": args.pool_size, "score_batch": 0} if name == "proxy_guided" else {}
        runs = [run_one(name, seed, space, table, scores, options) for seed in range(args.seeds)]
        figures = {}
        for c in CHECKPOINTS:
            values = [r["at"][c] for r in runs]  # type: ignore[index]
            figures[c] = {"mean": statistics.mean(values), "std": statistics.stdev(values), "all": values}
        cpu = 1000 * statistics.mean(r["cpu_s_per_query"] for r in runs)  # type: ignore[misc]
        results[name] = {"at": figures, "cpu_ms_per_query": cpu}
        cells = "".join(f"{figures[c]['mean']:>10.2f}±{figures[c]['std']:<5.2f}" for c in CHECKPOINTS)
        print(f"{name:<14}{cells}{cpu:>14.1f}", flush=True)
    largest = sorted(table, key=lambda arch: -table[arch]["mflops"])
    greedy = {
        c: max((table[a] for a in largest[:c]), key=lambda row: row["valid"])["test"] for c in CHECKPOINTS
    }
    print(f"{'flops-greedy':<14}" + "".join(f"{greedy[c]:>16.2f}" for c in CHECKPOINTS))
    if args.json:
        settings = {"seeds": args.seeds, "scores": args.scores, "proxy_seconds": proxy_seconds}
        _report.write_json(args.json, {**settings, "strategies": results, "flops_greedy": greedy})
    return 0


if __name__ == "__main__":
    sys.exit(main())
