"""Noise or architecture? Retrain the architectures that `vs_sampling.py` compared with other seeds and
compare the distributions of their validation and test accuracy.

A search's "best validation accuracy" is one training per architecture: TPE's is the maximum of 30 such
scores, dnas's the maximum of its ``retrain_top`` (4). On digits' 360-image validation split one image is
0.28 points, so two searches one digit apart may have found equally good architectures. Here each row of
the given ``vs_sampling.py --json`` files (its best architecture and, with ``--top``, its next best by the
search's own validation score) is trained ``--seeds`` more times, at the search's fidelity and on the
search's data split (the search seed's), with the training seeds 10,000 + k for k < ``--seeds`` (the same
seeds for every architecture: the comparisons are paired by seed). Printed per architecture: the search's
score, the retrainings' mean, standard deviation, min and max of validation and test accuracy; per space and
search seed, dnas's mean against TPE's, and over the seeds the pairs' differences.

    python benchmarks/dnas/retrain_seeds.py --runs tpe_nb201_s1.json --runs dnas_nb201.json [--seeds 8]
        [--top 1] [--json out.json]
    python benchmarks/dnas/retrain_seeds.py --retrained out.json --retrained other.json   # compare only
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

import torch

import nas_workbench as nw
from nas_workbench.estimation.trainer import train

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: The spaces' options, as `vs_sampling.py` searched them.
SPACES: dict[str, dict[str, Any]] = {"nb201": {"num_cells": 2}, "chain": {}}
#: The first retraining seed (the searches' trials train with seed * 1,000,003 + trial number).
FIRST_SEED = 10_000


def retrain(space: str, search_seed: int, spec: dict[str, Any], seeds: int) -> list[dict[str, float]]:
    """Validation and test accuracy of ``spec`` trained from scratch with each of ``seeds`` seeds, on the
    data split of search seed ``search_seed``, at the default fidelity (as every search here trained)."""
    task, built = nw.load_task("digits", seed=search_seed), nw.spaces.get(space, **SPACES[space])
    fidelity = nw.SearchConfig().fidelity
    results = []
    for k in range(seeds):
        torch.manual_seed(FIRST_SEED + k)
        model = built.build(nw.ArchSpec.from_dict(spec), task.input_shape, task.num_classes)
        result = train(model, task, fidelity, seed=FIRST_SEED + k)
        results.append({"accuracy": result.accuracy, "test_accuracy": result.test_accuracy})
    return results


def summary(values: list[float]) -> str:
    """Mean ± standard deviation [min, max] of accuracies, in percent."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return (
        f"{100 * statistics.mean(values):6.2f} ± {100 * spread:4.2f} "
        f"[{100 * min(values):6.2f}, {100 * max(values):6.2f}]"
    )


def architectures(row: dict[str, Any], top: int) -> list[dict[str, Any]]:
    """The row's best architecture and its next ``top - 1`` by the search's validation score (ties: the
    earlier trial), each once."""
    ranked = sorted(row["trained"], key=lambda r: (-r["accuracy"], r["number"]))
    return ranked[:top]


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--runs", type=Path, action="append", default=[], help="vs_sampling.py --json files")
    parser.add_argument(
        "--retrained", type=Path, action="append", default=[],
        help="this script's earlier --json files: compared with the rest, not retrained again",
    )  # fmt: skip
    parser.add_argument("--seeds", type=int, default=8, help="retrainings per architecture")
    parser.add_argument("--top", type=int, default=1, help="architectures per search, best first")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [row for path in args.runs for row in json.loads(path.read_text())["rows"]]
    spread = "mean ± sd [min, max] %"
    print(
        f"{'space':6} {'seed':>4} {'strategy':8} {'rank':>4} {'search val':>10}  {'val ' + spread:32}  "
        f"{'test ' + spread:32}  architecture",
        flush=True,
    )
    out = [row for path in args.retrained for row in json.loads(path.read_text())["rows"]]
    for done in out:
        _print(done)
    for row in rows:
        for rank, arch in enumerate(architectures(row, args.top), start=1):
            split = row.get("split_seed", row["seed"])  # the data the search was judged on
            results = retrain(row["space"], split, arch["spec"], args.seeds)
            out.append({
                "space": row["space"], "seed": row["seed"], "split_seed": split,
                "strategy": row["strategy"], "rank": rank,
                "summary": arch["summary"], "spec": arch["spec"], "search_accuracy": arch["accuracy"],
                "search_test_accuracy": arch["test_accuracy"], "retrained": results,
            })  # fmt: skip
            _print(out[-1])
            _report.write_json(args.json, {"seeds": args.seeds, "first_seed": FIRST_SEED, "rows": out})
    compare(out)


def _print(row: dict[str, Any]) -> None:
    """One retrained architecture: the search's score, the retrainings' spread."""
    retrained = row["retrained"]
    print(
        f"{row['space']:6} {row['seed']:4d} {row['strategy']:8} {row['rank']:4d} "
        f"{row['search_accuracy']:10.4f}  {summary([r['accuracy'] for r in retrained]):32}  "
        f"{summary([r['test_accuracy'] for r in retrained]):32}  {row['summary']}",
        flush=True,
    )


def compare(out: list[dict[str, Any]]) -> None:
    """dnas's best architecture against TPE's, per space and search seed: the retrainings' means and their
    paired difference (same training seed) with its standard error; then the differences' mean over the
    search seeds where both were retrained."""
    best = {(o["space"], o["seed"], o["strategy"]): o for o in out if o["rank"] == 1}
    for space in sorted({o["space"] for o in out}):
        deltas: dict[str, list[float]] = {"accuracy": [], "test_accuracy": []}
        for seed in sorted({o["seed"] for o in out if o["space"] == space}):
            dnas, tpe = best.get((space, seed, "dnas")), best.get((space, seed, "tpe"))
            if dnas is None or tpe is None:
                continue
            line = []
            for metric in deltas:
                paired = zip(dnas["retrained"], tpe["retrained"], strict=True)
                pairs = [d[metric] - t[metric] for d, t in paired]
                error = statistics.stdev(pairs) / len(pairs) ** 0.5 if len(pairs) > 1 else 0.0
                deltas[metric].append(statistics.mean(pairs))
                line.append(
                    f"{metric} dnas {100 * statistics.mean(r[metric] for r in dnas['retrained']):.2f} "
                    f"tpe {100 * statistics.mean(r[metric] for r in tpe['retrained']):.2f} "
                    f"({100 * statistics.mean(pairs):+.2f} ± {100 * error:.2f})"
                )
            print(f"  {space} seed {seed}: " + "; ".join(line), flush=True)
        if deltas["accuracy"]:
            print(
                f"  {space}, {len(deltas['accuracy'])} seeds: mean difference dnas − tpe: validation "
                f"{100 * statistics.mean(deltas['accuracy']):+.2f} points, test "
                f"{100 * statistics.mean(deltas['test_accuracy']):+.2f} points",
                flush=True,
            )


if __name__ == "__main__":
    main()
