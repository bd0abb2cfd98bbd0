"""What the cost prior's pool costs at the start of a budgeted search, with and without the costs cache.

Evolution, REINFORCE and NSGA-II (and TPE or GP with ``prior_trials``) rank a pool of up to 2,000
candidates by their live networks' parameter counts once the feasibility model is first fitted
(`nas_workbench.strategies.cost_prior.CostPrior`). The engine counts a parameter by building the network
(`nas_workbench.engine.budget.CandidateCosts`), so the first ranking builds up to 2,000 networks; the
counts are kept in the profiling cache (``costs/<space>.json``), so a later search of the same space and
shape builds none. This times `CostPrior.ranked` with the engine's own costs: cold (an empty cache
directory), then warm (a new search's costs, reading the file the first wrote).

    python benchmarks/strategies/cost_prior_time.py                      # nb201, CIFAR-10 shape
    python benchmarks/strategies/cost_prior_time.py --space chain --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

import nas_workbench as nw
from nas_workbench.engine.budget import CandidateCosts
from nas_workbench.engine.preflight import Networks
from nas_workbench.strategies.cost_prior import CostPrior


def time_ranking(space: nw.spaces.SearchSpace, networks: Networks, pool: int) -> tuple[float, int]:
    """Seconds `CostPrior.ranked` takes with a fresh `CandidateCosts`, and how many candidates it ranked."""
    costs = CandidateCosts(lambda: networks, space, None)
    prior = CostPrior(space, costs, pool, seed=0)
    started = time.perf_counter()
    ranked = prior.ranked()
    return time.perf_counter() - started, len(ranked)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--shape", default="3,32,32", help="input shape C,H,W")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--pool", type=int, default=2000, help="the strategies' prior_pool")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    torch.set_num_threads(1)
    space = nw.spaces.get(args.space)
    shape = tuple(int(n) for n in args.shape.split(","))
    networks = Networks(shape, args.classes, 1.0, 1, "cpu", "proxy", None)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    with tempfile.TemporaryDirectory() as cache:
        os.environ["NAS_WORKBENCH_CACHE"] = cache  # an empty cache: the first search of the space
        cold, ranked = time_ranking(space, networks, args.pool)
        warm, _ = time_ranking(space, networks, args.pool)
    print(f"CostPrior.ranked on {args.space} {args.shape}, {ranked} candidates (prior_pool {args.pool}):")
    print(f"  cold (counting every candidate's parameters): {cold:.2f} s")
    print(f"  warm (counts read from the costs cache):      {warm:.2f} s")
    print(f"  load average before: {load}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {"space": args.space, "shape": shape, "pool": args.pool, "candidates": ranked}
        args.json.write_text(json.dumps(figures | {"cold_s": cold, "warm_s": warm, "load": load}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
