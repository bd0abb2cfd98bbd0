"""What a search can score under one latency budget on NAS-Bench-201, from the table alone.

`nb201_budgeted.py` chooses the best-validation cell a search queried (``c10_valid_val_200ep``: trained
on half of CIFAR-10's training images, judged on the other half) and reports its test accuracy
(``c10_test_200ep``: a separate training on all of them, judged on the test set), both means over
NAS-Bench-201's training seeds, so a cell's two figures are fixed and a seed of the benchmark changes
only which cells the search queries. The regret is the test accuracy of the best-validation feasible cell
of the whole table (the exact constrained optimum) minus that of the search's choice: a search that
queried the optimum scores exactly 0, and a figure below 0 means its choice, worse in validation, tested
better. This script says, for one budget, how far below 0 a search can get and what a search that
finds good cells by validation can expect:

- the FLOPs-greedy baseline's choice among its ``--queries`` cells and 25 cells (validation, test, rank);
- the best attainable figure: the feasible cell with the highest test accuracy, queried with only
  cells of lower validation (an oracle that sees the test set);
- by validation rank: the mean regret of the feasible cells ranked 1, 2-10, 11-50, ... by validation,
  what a search whose choice lands there expects, and the Spearman of validation with test among the
  top cells;
- a search whose choice is any of the feasible cells with a higher validation than the greedy's choice
  (uniformly): its mean regret, the share of those cells below the greedy's figure, and the chance that
  a mean over ``--seeds`` such choices falls below it (``--draws`` simulated runs).

    python benchmarks/strategies/nb201_noise_floor.py /work/shared/data/nb201 --device raspi4 --percentile 30
"""

from __future__ import annotations

import random
import statistics
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

import nas_workbench as nw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nb201_budgeted import DEVICES, flops_greedy, load_latencies, reference
from nb201_tabular import load_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: Validation-rank bands whose mean regret is printed (first rank, one past the last).
BANDS = ((0, 1), (1, 10), (10, 50), (50, 100), (100, 200))


def floor(feasible: dict[str, dict[str, float]], queries: int, seeds: int, draws: int) -> dict[str, object]:
    """The figures above for one budget's ``feasible`` cells (the table's rows)."""
    best = reference(feasible)
    rows = sorted(feasible.values(), key=lambda r: -r["valid"])
    regret = np.array([best - r["test"] for r in rows])
    valid = np.array([r["valid"] for r in rows])
    greedy = {n: best - flops_greedy(feasible, n) for n in (queries, 25)}
    greedy_valid = flops_greedy(feasible, queries, "valid")
    oracle = int(np.argmin(regret))
    above = regret[valid > greedy_valid]
    rng = random.Random(0)
    means = [statistics.mean(rng.choices(above.tolist(), k=seeds)) for _ in range(draws)]
    return {
        "feasible": len(rows),
        "optimum": {"valid": rows[0]["valid"], "test": best},
        "greedy": {
            "regret": greedy,
            "valid": greedy_valid,
            "valid_rank": int((valid > greedy_valid).sum()) + 1,
        },
        "best_attainable": {
            "regret": float(regret[oracle]),
            "valid": float(valid[oracle]),
            "valid_rank": oracle + 1,
        },
        "bands": {f"{a + 1}-{b}": float(regret[a:b].mean()) for a, b in BANDS},
        "spearman_top": {k: float(spearmanr(valid[:k], -regret[:k]).statistic) for k in (50, 100, 1000)},
        "above_greedy": {
            "cells": len(above),
            "mean_regret": float(above.mean()),
            "share_below_greedy": float((above < greedy[queries]).mean()),
            "chance_mean_below_greedy": sum(m < greedy[queries] for m in means) / draws,
        },
    }


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("nb201_dir", type=Path, help="folder holding nb201.csv, nb201_latency.csv, costs")
    parser.add_argument("--device", choices=list(DEVICES), default="raspi4")
    parser.add_argument("--percentile", type=float, default=30.0)
    parser.add_argument("--queries", type=int, default=10, help="trained queries of the greedy compared")
    parser.add_argument("--seeds", type=int, default=20, help="seeds a benchmark run averages")
    parser.add_argument("--draws", type=int, default=10_000)
    args = parser.parse_args()
    space = nw.spaces.get("nb201")
    table = load_table(args.nb201_dir, space)
    column = {arch: lat[args.device] for arch, lat in load_latencies(args.nb201_dir, space).items()}
    budget = float(np.percentile(list(column.values()), args.percentile))
    feasible = {arch: table[arch] for arch, ms in column.items() if ms <= budget}
    f = floor(feasible, args.queries, args.seeds, args.draws)
    g, b, a = f["greedy"], f["best_attainable"], f["above_greedy"]
    at = g["regret"][args.queries]
    print(f"{args.device} {args.percentile:g}th: budget {budget:.2f} ms, {f['feasible']} feasible cells")
    print(
        f"optimum (best validation): validation {f['optimum']['valid']:.3f}, test {f['optimum']['test']:.3f}"
    )
    print(
        f"flops-greedy: regret {at:.3f} with {args.queries} cells (its choice's "
        f"validation {g['valid']:.3f}, rank {g['valid_rank']}), {g['regret'][25]:.3f} with 25"
    )
    print(
        f"best attainable: {b['regret']:.3f} (the best-test feasible cell, validation rank {b['valid_rank']})"
    )
    print("mean regret by validation rank: " + ", ".join(f"{k}: {v:.3f}" for k, v in f["bands"].items()))
    print(
        "Spearman of validation with test among the top: "
        + ", ".join(f"{k}: {v:.2f}" for k, v in f["spearman_top"].items())
    )
    print(
        f"a choice among the {a['cells']} cells with validation above the greedy's: mean regret "
        f"{a['mean_regret']:.3f}, {a['share_below_greedy']:.0%} of them below {at:.3f}; a mean over "
        f"{args.seeds} such choices below it in {a['chance_mean_below_greedy']:.1%} of {args.draws} runs"
    )
    _report.write_json(args.json, {"device": args.device, "percentile": args.percentile, **f})
    return 0


if __name__ == "__main__":
    sys.exit(main())
