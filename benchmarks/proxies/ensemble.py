"""A zero-cost proxy ensemble on NAS-Bench-201, measured against each single proxy, on NASLib's stored scores.

NASLib's zero-cost scores of about 725 cells per data set (``nb201_naslib_zc_subset.csv``: CIFAR-10,
CIFAR-100, ImageNet16-120; thirteen estimators with FLOPs and parameters) and each cell's validation
accuracy. The figure is the Spearman rank correlation of a ranking with the validation accuracy, on the
cells not used to build it.

Rules, each weighed on ``--labelled`` cells drawn at random (left out of the evaluation; the figure is the
mean over ``--draws`` draws, with the worst draw):

- **subsets** (`nas_workbench.strategies.pool.subset_ensemble`): every subset of at least two of the five
  members below scores a cell by the harmonic mean of its members' percentile ranks; the labelled cells
  judge each subset by its Spearman, and a cell's score is its mean rank over the ``--top`` best subsets;
- **trust** (the proxy-guided strategy's own rule, `trust` and `combined_score`): each of all twelve
  estimators weighs its Spearman with the labelled cells (shrunk towards 1 as if ``--prior-trials`` cells
  had agreed), and a cell's score is the weighted mean of the percentile ranks.

Baselines in the same run, without labels: every single estimator, the plain mean of ranks of synflow,
NASWOT, FLOPs, jacov and snip, and the harmonic mean of their ranks.

    python benchmarks/proxies/ensemble.py /work/shared/data/nb201 \\
        --json benchmarks/results/proxies_ensemble.json
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from nas_workbench.strategies.pool import combined_score, subset_ensemble, trust

ESTIMATORS = (
    "synflow", "grasp", "fisher", "grad_norm", "l2_norm", "plain", "nwot", "epe_nas", "jacov", "snip",
    "flops_naslib_M", "params_M",
)  # fmt: skip
#: The plain rank-mean baseline's members.
RANK_MEAN = ("synflow", "nwot", "flops_naslib_M", "jacov", "snip")


def load(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Data set → (cells × `ESTIMATORS` scores, validation accuracies)."""
    rows: dict[str, list[dict[str, str]]] = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["dataset"], []).append(row)
    return {
        name: (
            np.array([[float(r[e]) for e in ESTIMATORS] for r in cells]),
            np.array([float(r["val_accuracy"]) for r in cells]),
        )
        for name, cells in rows.items()
    }


def rho(score: np.ndarray, accuracy: np.ndarray) -> float:
    return float(spearmanr(score, accuracy).statistic)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nb201_dir", type=Path, help="folder holding nb201_naslib_zc_subset.csv")
    parser.add_argument("--labelled", type=int, default=20, help="cells whose accuracy weighs the proxies")
    parser.add_argument("--prior-trials", type=float, default=5.0)
    parser.add_argument("--top", type=int, default=5, help="best-judged subsets averaged by 'subsets'")
    parser.add_argument("--draws", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path = args.nb201_dir / "nb201_naslib_zc_subset.csv"
    if not path.exists():
        print(f"{path} not found: nothing to benchmark", file=sys.stderr)
        return 2
    results = {}
    print(
        f"Spearman with validation accuracy on NASLib's NB201 cells; rules weighed on {args.labelled} "
        f"labelled cells (left out), mean (worst) over {args.draws} draws"
    )
    print(
        f"{'data set':<16}{'cells':>6}{'best single':>18}{'rank mean (5)':>15}{'harmonic (5)':>14}"
        f"{'trust (12)':>16}{'subsets (5)':>16}"
    )
    for name, (scores, accuracy) in load(path).items():
        singles = {e: rho(scores[:, k], accuracy) for k, e in enumerate(ESTIMATORS)}
        members = scores[:, [ESTIMATORS.index(e) for e in RANK_MEAN]]
        rank_mean = rho(combined_score(members, np.ones(len(RANK_MEAN))), accuracy)
        every = np.arange(len(accuracy))
        harmonic = rho(subset_ensemble(members, every, accuracy, top=1, min_size=len(RANK_MEAN)), accuracy)
        rng = random.Random(0)
        drawn: dict[str, list[float]] = {"trust": [], "subsets": []}
        weights = []
        for _ in range(args.draws):
            labelled = rng.sample(range(len(accuracy)), args.labelled)
            rest = np.setdiff1d(every, labelled)
            w = trust(scores[labelled], accuracy[labelled], np.ones(len(ESTIMATORS)), args.prior_trials)
            drawn["trust"].append(rho(combined_score(scores[rest], w), accuracy[rest]))
            chosen = subset_ensemble(members, labelled, accuracy[labelled], top=args.top)
            drawn["subsets"].append(rho(chosen[rest], accuracy[rest]))
            weights.append(w)
        best = max(singles, key=lambda e: singles[e])
        summary = {k: {"mean": statistics.mean(v), "min": min(v), "max": max(v)} for k, v in drawn.items()}
        results[name] = {
            "cells": len(accuracy),
            "single": singles,
            "rank_mean": rank_mean,
            "harmonic_mean": harmonic,
            **summary,
            "mean_trust_weights": dict(
                zip(ESTIMATORS, np.mean(weights, axis=0).round(3).tolist(), strict=True)
            ),
        }
        cells = [f"{summary[k]['mean']:.3f} ({summary[k]['min']:.2f})" for k in ("trust", "subsets")]
        print(
            f"{name:<16}{len(accuracy):>6}{f'{best} {singles[best]:.3f}':>18}{rank_mean:>15.3f}"
            f"{harmonic:>14.3f}{cells[0]:>16}{cells[1]:>16}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        settings = {"labelled": args.labelled, "prior_trials": args.prior_trials, "top": args.top}
        args.json.write_text(json.dumps({**settings, "draws": args.draws, "data_sets": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
