"""Check the "nb201" space against NAS-Bench-201's published parameter counts and FLOPs.

Builds random architectures (or all 15,625) for CIFAR-10 (3x32x32, 10 classes), CIFAR-100 (100 classes) and
ImageNet16-120 (3x16x16, 120 classes), counts parameters and FLOPs with torch.utils.flop_counter in
NAS-Bench-201's convention (`nas_workbench.testing.nb201.nb201_cost`) and compares them with the benchmark's
table ``nb201_cost_derived.csv``.

    python benchmarks/nb201_exactness.py /work/shared/data/nb201            # 300 random architectures
    python benchmarks/nb201_exactness.py /work/shared/data/nb201 --all --json nb201_exactness.json
"""

from __future__ import annotations

import csv
import random
import sys
import time
from pathlib import Path

import _report  # this folder is on the path when run as a script
import torch

import nas_workbench as nw
from nas_workbench.testing.nb201 import nb201_cost

DATASETS = {"c10": ((3, 32, 32), 10), "c100": ((3, 32, 32), 100), "in16": ((3, 16, 16), 120)}


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("nb201_dir", type=Path, help="folder holding nb201_cost_derived.csv")
    parser.add_argument("-n", type=int, default=300, help="random architectures to check (default 300)")
    parser.add_argument("--all", action="store_true", help="check all 15,625 architectures")
    parser.add_argument("--datasets", default="c10,c100,in16", help="comma-separated subset of c10,c100,in16")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    table = args.nb201_dir / "nb201_cost_derived.csv"
    if not table.exists():
        print(f"{table} not found: nothing to check against", file=sys.stderr)
        return 2
    with table.open() as f:
        rows = list(csv.DictReader(f))
    if not args.all:
        rows = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
    datasets = args.datasets.split(",")
    torch.set_num_threads(1)  # tiny single-image passes: one thread is fastest

    space = nw.spaces.get("nb201")
    results = {
        d: {
            "checked": 0,
            "params_equal": 0,
            "flops_equal": 0,
            "max_abs_diff_params": 0,
            "max_abs_diff_flops": 0,
        }
        for d in datasets
    }
    mismatches: list[dict] = []
    start = time.perf_counter()
    for row in rows:
        spec = space.parse(row["arch"])
        assert space.format(spec) == row["arch"], f"string round trip failed for {row['arch']}"
        for dataset in datasets:
            shape, classes = DATASETS[dataset]
            params, flops = nb201_cost(space.build(spec, shape, classes), shape)
            expected = (
                round(float(row[f"params_{dataset}_M"]) * 1e6),
                round(float(row[f"flops_{dataset}_M"]) * 1e6),
            )
            r = results[dataset]
            r["checked"] += 1
            r["params_equal"] += params == expected[0]
            r["flops_equal"] += flops == expected[1]
            r["max_abs_diff_params"] = max(r["max_abs_diff_params"], abs(params - expected[0]))
            r["max_abs_diff_flops"] = max(r["max_abs_diff_flops"], abs(flops - expected[1]))
            if (params, flops) != expected:
                mismatches.append(
                    {
                        "index": int(row["index"]),
                        "arch": row["arch"],
                        "dataset": dataset,
                        "params": params,
                        "flops": flops,
                        "expected": expected,
                    }
                )
    seconds = time.perf_counter() - start

    print(f"nb201 exactness: {len(rows)} architectures, {seconds:.1f} s")
    print(
        f"{'dataset':8} {'checked':>8} {'params =':>9} {'FLOPs =':>9} "
        f"{'max |Δparams|':>14} {'max |ΔFLOPs|':>13}"
    )
    for dataset, r in results.items():
        print(
            f"{dataset:8} {r['checked']:>8} {r['params_equal']:>9} {r['flops_equal']:>9} "
            f"{r['max_abs_diff_params']:>14} {r['max_abs_diff_flops']:>13}"
        )
    for m in mismatches[:10]:
        print("mismatch:", m)
    _report.write_json(
        args.json,
        {
            "architectures": len(rows),
            "seconds": seconds,
            "seed": args.seed,
            "all": args.all,
            "results": results,
            "mismatches": mismatches,
        },
    )
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
