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

- **subsets, live FLOPs**: the same rule with NASLib's FLOPs replaced by the project's ``live_flops``
  (`nas_workbench.spaces.cell.CellSpace.live`: the counted FLOPs of the cell without the ops that lie on
  no path from its input to its output, read from ``nb201_cost_derived.csv``'s row of that cell for the
  data set's input size, which the built networks match exactly), the data-free score the engine gives
  a cell space's candidates. It is computed by the project, not stored by NASLib.

- **subsets, live + residual**: the same rule on six members, the five with ``live_flops`` and
  ``residual``, 1 where the cell's output receives its input through skip connections alone (an identity
  path, as in a residual block), else 0: a data-free fact of the cell's graph (`identity_path`). Plain
  chains of convolutions with no such path are the cells the five-member ensemble ranks worst on
  ImageNet16-120 (high proxy scores, low accuracy); that error analysis, on all of these cells, is how
  this member was found, so it was chosen after seeing them. The rule averages the ``--top`` = 10
  best-judged subsets; **same, top 5** is the rule with 5, as it was until 5 December 2026.

The rule's ceiling is printed too: its subsets judged with every cell labelled (the best one, and the
``--top`` best), measured on those same cells, what no draw of 20 labels can exceed by much.

Baselines in the same run, without labels: every single estimator (live FLOPs included), the plain mean
of ranks of synflow, NASWOT, FLOPs, jacov and snip, and the harmonic mean of their ranks.

    python benchmarks/proxies/ensemble.py /work/shared/data/nb201 \\
        --json benchmarks/results/proxies_ensemble.json
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

import nas_workbench as nw
from nas_workbench.spaces.cell import CellSpace
from nas_workbench.strategies.pool import combined_score, subset_ensemble, trust

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

ESTIMATORS = (
    "synflow", "grasp", "fisher", "grad_norm", "l2_norm", "plain", "nwot", "epe_nas", "jacov", "snip",
    "flops_naslib_M", "params_M",
)  # fmt: skip
#: The plain rank-mean baseline's members.
RANK_MEAN = ("synflow", "nwot", "flops_naslib_M", "jacov", "snip")
#: The same with the live cell's counted FLOPs for NASLib's FLOPs.
RANK_MEAN_LIVE = ("synflow", "nwot", "live_flops", "jacov", "snip")
#: The rule's members: the five with live FLOPs, and whether the cell has an identity path.
MEMBERS = (*RANK_MEAN_LIVE, "residual")


#: Data set of ``nb201_naslib_zc_subset.csv`` → the FLOPs column of ``nb201_cost_derived.csv``.
FLOPS_COLUMNS = {"cifar10": "flops_c10_M", "cifar100": "flops_c100_M", "ImageNet16-120": "flops_in16_M"}
LIVE = "live_flops"
#: The project's own data-free columns, after NASLib's `ESTIMATORS`.
OWN = (LIVE, "residual")


def identity_path(space: CellSpace, spec: nw.ArchSpec) -> bool:
    """Whether the cell's output receives its input through skip connections alone (as a residual block's
    identity branch): the plain chains of convolutions, which train worse, have none."""
    ops = space.edge_ops(spec)
    reached = {0}
    for j in range(1, space.num_nodes):
        if any(ops[i, j] == "skip_connect" for i in reached if i < j):
            reached.add(j)
    return space.num_nodes - 1 in reached


def load(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Data set → (cells × `ESTIMATORS` scores and `OWN`, validation accuracies)."""
    space = nw.spaces.get("nb201")
    assert isinstance(space, CellSpace)
    with (folder / "nb201_cost_derived.csv").open() as f:
        costs = {space.format(space.parse(row["arch"])): row for row in csv.DictReader(f)}
    rows: dict[str, list[dict[str, str]]] = {}
    with (folder / "nb201_naslib_zc_subset.csv").open() as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["dataset"], []).append(row)
    data = {}
    for name, cells in rows.items():
        specs = [space.parse(r["arch"]) for r in cells]
        live = [costs[space.format(space.live(spec))][FLOPS_COLUMNS[name]] for spec in specs]
        residual = [identity_path(space, spec) for spec in specs]
        scores = np.array([[float(r[e]) for e in ESTIMATORS] for r in cells])
        data[name] = (
            np.column_stack([scores, np.array(live, float), np.array(residual, float)]),
            np.array([float(r["val_accuracy"]) for r in cells]),
        )
    return data


def rho(score: np.ndarray, accuracy: np.ndarray) -> float:
    return float(spearmanr(score, accuracy).statistic)


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument(
        "nb201_dir", type=Path, help="folder holding nb201_naslib_zc_subset.csv and nb201_cost_derived.csv"
    )
    parser.add_argument("--labelled", type=int, default=20, help="cells whose accuracy weighs the proxies")
    parser.add_argument("--prior-trials", type=float, default=5.0)
    parser.add_argument("--top", type=int, default=10, help="best-judged subsets averaged by 'subsets'")
    parser.add_argument("--draws", type=int, default=50)
    parser.add_argument(
        "--curve",
        default="5,10,20,50,100,200",
        help="labelled cells at which the rule (live + residual) is also measured (its learning curve)",
    )
    args = parser.parse_args()
    needed = ["nb201_naslib_zc_subset.csv", "nb201_cost_derived.csv"]
    if missing := [name for name in needed if not (args.nb201_dir / name).exists()]:
        print(f"{', '.join(missing)} not found in {args.nb201_dir}: nothing to benchmark", file=sys.stderr)
        return 2
    results = {}
    print(
        f"Spearman with validation accuracy on NASLib's NB201 cells; rules weighed on {args.labelled} "
        f"labelled cells (left out), mean (worst) over {args.draws} draws"
    )
    print(
        f"{'data set':<16}{'cells':>6}{'best single':>18}{'rank mean (5)':>15}{'harmonic (5)':>14}"
        f"{'trust (12)':>16}{'subsets (5)':>16}{'subsets, live':>16}{'live + residual':>17}"
        f"{'same, top 5':>16}"
    )
    names = (*ESTIMATORS, *OWN)
    for name, (scores, accuracy) in load(args.nb201_dir).items():
        singles = {e: rho(scores[:, k], accuracy) for k, e in enumerate(names)}
        members = scores[:, [names.index(e) for e in RANK_MEAN]]
        live_members = scores[:, [names.index(e) for e in RANK_MEAN_LIVE]]
        rule_members = scores[:, [names.index(e) for e in MEMBERS]]
        scores = scores[:, : len(ESTIMATORS)]  # the trust rule's twelve
        rank_mean = rho(combined_score(members, np.ones(len(RANK_MEAN))), accuracy)
        every = np.arange(len(accuracy))
        harmonic = rho(subset_ensemble(members, every, accuracy, top=1, min_size=len(RANK_MEAN)), accuracy)
        rng = random.Random(0)
        drawn: dict[str, list[float]] = {
            "trust": [],
            "subsets": [],
            "subsets_live": [],
            "subsets_residual": [],
            "subsets_residual_top5": [],
        }
        weights = []
        for _ in range(args.draws):
            labelled = rng.sample(range(len(accuracy)), args.labelled)
            rest = np.setdiff1d(every, labelled)
            w = trust(scores[labelled], accuracy[labelled], np.ones(len(ESTIMATORS)), args.prior_trials)
            drawn["trust"].append(rho(combined_score(scores[rest], w), accuracy[rest]))
            chosen = subset_ensemble(members, labelled, accuracy[labelled], top=args.top)
            drawn["subsets"].append(rho(chosen[rest], accuracy[rest]))
            chosen = subset_ensemble(live_members, labelled, accuracy[labelled], top=args.top)
            drawn["subsets_live"].append(rho(chosen[rest], accuracy[rest]))
            chosen = subset_ensemble(rule_members, labelled, accuracy[labelled], top=args.top)
            drawn["subsets_residual"].append(rho(chosen[rest], accuracy[rest]))
            chosen = subset_ensemble(rule_members, labelled, accuracy[labelled], top=5)
            drawn["subsets_residual_top5"].append(rho(chosen[rest], accuracy[rest]))
            weights.append(w)
        best = max(ESTIMATORS, key=lambda e: singles[e])
        summary = {k: {"mean": statistics.mean(v), "min": min(v), "max": max(v)} for k, v in drawn.items()}
        curve = learning_curve(rule_members, accuracy, [int(n) for n in args.curve.split(",")], args)
        # the rule's ceiling: its subsets judged with every cell labelled (and measured on them all)
        ceiling = {
            f"{top} best": rho(subset_ensemble(rule_members, every, accuracy, top=top), accuracy)
            for top in (1, args.top)
        }
        results[name] = {
            "cells": len(accuracy),
            "learning_curve": curve,
            "ceiling": ceiling,
            "single": singles,
            "rank_mean": rank_mean,
            "harmonic_mean": harmonic,
            **summary,
            "mean_trust_weights": dict(
                zip(ESTIMATORS, np.mean(weights, axis=0).round(3).tolist(), strict=True)
            ),
        }
        cells = [f"{summary[k]['mean']:.3f} ({summary[k]['min']:.2f})" for k in drawn]
        print(
            f"{name:<16}{len(accuracy):>6}{f'{best} {singles[best]:.3f}':>18}{rank_mean:>15.3f}"
            f"{harmonic:>14.3f}" + "".join(f"{cell:>16}" for cell in cells)
        )
    for name, figures in results.items():
        singles = ", ".join(f"{e} {r:.3f}" for e, r in figures["single"].items())
        print(f"{name}, each single estimator: {singles}")
    print("subsets, live + residual, judged with every cell labelled (the rule's ceiling, in sample):")
    for name, figures in results.items():
        print(f"{name:<16}" + "  ".join(f"{k}: {r:.3f}" for k, r in figures["ceiling"].items()))
    print("subsets, live + residual, by labelled cells (learning curve), mean (worst) over the draws:")
    for name, figures in results.items():
        points = figures["learning_curve"]
        print(f"{name:<16}" + "  ".join(f"{n}: {p['mean']:.3f} ({p['min']:.2f})" for n, p in points.items()))
    if args.json:
        settings = {"labelled": args.labelled, "prior_trials": args.prior_trials, "top": args.top}
        _report.write_json(args.json, {**settings, "draws": args.draws, "data_sets": results})
    return 0


def learning_curve(
    members: np.ndarray, accuracy: np.ndarray, counts: list[int], args: argparse.Namespace
) -> dict[int, dict[str, float]]:
    """The subset rule's Spearman on the cells left out, mean and worst over ``args.draws`` draws, for
    each number of labelled cells in ``counts`` (up to half the cells): how far more labels take it."""
    rng, every, curve = random.Random(1), np.arange(len(accuracy)), {}
    for count in (n for n in counts if n <= len(accuracy) // 2):
        figures = []
        for _ in range(args.draws):
            labelled = rng.sample(range(len(accuracy)), count)
            rest = np.setdiff1d(every, labelled)
            chosen = subset_ensemble(members, labelled, accuracy[labelled], top=args.top)
            figures.append(rho(chosen[rest], accuracy[rest]))
        curve[count] = {"mean": statistics.mean(figures), "min": min(figures)}
    return curve


if __name__ == "__main__":
    sys.exit(main())
