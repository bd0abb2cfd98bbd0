"""Strategies under a latency budget on this machine, told the lookup table's predicted latency or not.

Issue #19's local half: with a latency budget on this machine (no target device) the engine now tells the
strategies each candidate's latency as this machine's lookup table predicts it (``predicted_latency_ms``,
`nas_workbench.engine.local_costs`), when the table's correction for the space is trusted. This script runs
the same searches with and without it, in one process, arm by arm per seed: "before" withholds the
prediction (the engine's opening then tells what main tells: the parameter count), "after" is the code as
it is. Digits, the spaces of ``--spaces``, budgets relative to this machine (``--budgets p30,p10``, resolved
once and kept in the profiling cache, so both arms and every seed share a limit), ``--trials`` trials of
``--epochs`` epochs. The table: per space, budget, strategy and arm, trials over budget (profiled, never
trained), the best validation accuracy within budget, the search's wall time, and the candidates traced
for their prediction with the seconds it took (the after arm; 0 once cached).

Calibrate the table first (its correction is what the trust rule reads), with the profiling cache the
runs will use, and time under the machine's measurement lock:

    nas-workbench calibrate --spaces chain,nb201 --input-shape 1,8,8
    flock /work/measure.lock python benchmarks/strategies/local_predicted.py --spaces chain --budgets p30 \\
        --strategies tpe,evolution --seeds 5 --trials 20 --json out.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import torch

import nas_workbench as nw
from nas_workbench.engine import local_costs, opening

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: The predictors the after arm's openings made, to read what they traced.
_MADE: list[dict[str, Any]] = []


def _told(*args: Any, **kwargs: Any) -> dict[str, Any]:
    made = local_costs.local_predictions(*args, **kwargs)
    _MADE.append(made)
    return made


def run_one(arm: str, space: str, budget: str, strategy: str, seed: int, args: argparse.Namespace,
            folder: Path) -> dict[str, Any]:  # fmt: skip
    """One search; its trials over budget, best validation accuracy within budget, wall time, traces."""
    opening.local_predictions = _told if arm == "after" else (lambda *a, **k: {})  # type: ignore[assignment]
    _MADE.clear()
    name = f"{space}-{budget}-{strategy}-{arm}-{seed}"
    config = nw.SearchConfig(
        space=space,
        strategy=strategy,
        objectives=["accuracy"],
        budget={"latency_ms": budget},
        fidelity=nw.Fidelity(epochs=args.epochs, subset=args.subset),
        n_trials=args.trials,
        seed=seed,
        storage=f"sqlite:///{folder / f'{name}.db'}",
        study_name=name,
    )
    start = time.perf_counter()
    run = nw.search(config).run()
    wall = time.perf_counter() - start
    results = sorted(run.results(), key=lambda r: r.number)
    within = [r for r in results if r.status == "ok"]
    predictors = [p for made in _MADE for p in made.values()]
    return {
        "over_budget": sum(r.status == "infeasible" for r in results),
        "trials": len(results),
        "trace": "".join(
            "+" if r.status == "ok" else "x" if r.status == "infeasible" else "?" for r in results
        ),
        "best_accuracy": max((r.value("accuracy") for r in within), default=0.0),
        "wall_s": wall,
        "limit_ms": run.config.budget["latency_ms"],
        "told": bool(predictors),
        "traced": sum(getattr(p, "traced", 0) for p in predictors),
        "trace_s": sum(getattr(p, "trace_s", 0.0) for p in predictors),
    }


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--spaces", default="chain,nb201")
    parser.add_argument("--budgets", default="p30,p10")
    parser.add_argument("--strategies", default="tpe,evolution")
    parser.add_argument("--arms", default="before,after")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--subset", type=float, default=0.5, help="share of the training split a trial trains on"
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    rows: dict[str, list[dict[str, Any]]] = {}
    print(f"load {os.getloadavg()[0]:.1f} at the start", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for space in args.spaces.split(","):
            for budget in args.budgets.split(","):
                for strategy in args.strategies.split(","):
                    for seed in range(args.first_seed, args.first_seed + args.seeds):
                        for arm in args.arms.split(","):
                            key = f"{space} | {budget} | {strategy} | {arm}"
                            done = run_one(arm, space, budget, strategy, seed, args, Path(folder))
                            rows.setdefault(key, []).append(done)
                            print(key, seed, done, f"load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"load {os.getloadavg()[0]:.1f} at the end")
    print("\n| space | budget | strategy | arm | over budget, per seed | mean | best validation within, mean "
          "| wall s, mean | traced (s) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for key, done in rows.items():
        over = [r["over_budget"] for r in done]
        print(
            f"| {key} | {' / '.join(map(str, over))} | {statistics.mean(over):.1f} "
            f"| {statistics.mean(r['best_accuracy'] for r in done):.3f} "
            f"| {statistics.mean(r['wall_s'] for r in done):.0f} "
            f"| {sum(r['traced'] for r in done)} ({sum(r['trace_s'] for r in done):.0f}) |"
        )
    _report.write_json(args.json, rows)


if __name__ == "__main__":
    main()
