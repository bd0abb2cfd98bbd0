"""Time `engine.records.pareto_front` (the CLI's, widget's and side panel's front) on synthetic studies.

Points trade one objective against the other, as accuracy against latency does, so the front is large: the
case where a front built point by point in Python is slowest. Run it at an older commit for a "before".

    python benchmarks/pareto_front.py [--sizes 1000 10000 100000] [--json out.json]
"""

from __future__ import annotations

import os
import time

import _report  # this folder is on the path when run as a script
import numpy as np

from nas_workbench.engine.records import TrialResult, pareto_front


def synthetic_results(n: int, objectives: int, seed: int = 0) -> list[TrialResult]:
    """``n`` completed, feasible trials whose first objective (maximised) rises with the second (minimised),
    as accuracy does with latency."""
    rng = np.random.default_rng(seed)
    points = rng.random((n, objectives)).round(3)
    points[:, 0] = np.sqrt(points[:, 1]) + 0.05 * rng.random(n)
    return [
        TrialResult(i, "ok", {}, "", "", {}, tuple(map(float, p)), True, None, None, None, {}, "")
        for i, p in enumerate(points)
    ]


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = parser.parse_args()
    rows = []
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(f"{'trials':>8} {'objectives':>10} {'front':>6} {'best of 3 (ms)':>15}")
    for n in args.sizes:
        for objectives in (2, 3):
            results = synthetic_results(n, objectives)
            directions = ["maximize"] + ["minimize"] * (objectives - 1)
            best, front = float("inf"), []
            for _ in range(3):
                start = time.perf_counter()
                front = pareto_front(results, directions)
                best = min(best, time.perf_counter() - start)
            rows.append({"trials": n, "objectives": objectives, "front": len(front), "ms": 1e3 * best})
            print(f"{n:>8} {objectives:>10} {len(front):>6} {1e3 * best:>15.1f}")
    _report.write_json(args.json, rows)


if __name__ == "__main__":
    main()
