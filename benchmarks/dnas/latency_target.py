"""A latency target steering differentiable search: the derived architecture's measured latency against the
target, at several penalty weights (and without the penalty), on digits, in one run.

The lookup table of this CPU is calibrated on the space first (``nas-workbench calibrate``; skip with
--no-calibrate), so that its predictions are in measured milliseconds. The target defaults to the 25th
percentile of the predicted latency of 30 random architectures: three in four architectures miss it. Each
run searches ``--epochs`` epochs with the penalty λ·max(0, E[latency]/target - 1), then retrains the final
architecture; its latency is measured (batch 1, one thread) like any trial's.

    python benchmarks/dnas/latency_target.py [--space chain] [--weights 0.1 1 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch

import nas_workbench as nw
from nas_workbench.engine.records import DNAS_ATTR
from nas_workbench.profiling import LookupTable, predict_latency
from nas_workbench.profiling.calibration import calibrate

SPACES: dict[str, dict[str, Any]] = {"nb201": {"num_cells": 2}, "chain": {}}


def default_target(space: nw.spaces.SearchSpace, task: nw.Task, count: int = 30) -> float:
    """The 25th percentile of the predicted latency of ``count`` random architectures."""
    table = LookupTable.for_device("cpu", threads=1)
    latencies = [
        predict_latency(
            space.build(space.random(seed), task.input_shape, task.num_classes),
            task.input_shape, threads=1, table=table, space=space.name,
        ).value
        for seed in range(count)
    ]  # fmt: skip
    return float(np.percentile(latencies, 25))


def run_one(space: str, weight: float, target: float, epochs: int, storage: str, seed: int) -> dict[str, Any]:
    config = nw.SearchConfig(
        space=space,
        space_options=SPACES[space],
        strategy="dnas",
        strategy_options={
            "penalty": ["latency_ms"],
            "penalty_weight": weight,
            "targets": {"latency_ms": target},
        },
        objectives=["accuracy", "latency_ms"],
        n_trials=epochs + 1,
        storage=storage,
        study_name=f"{space}-target-{weight}",
        threads=1,
        seed=seed,
    )
    run = nw.search(config)
    run.task  # noqa: B018
    started = time.perf_counter()
    run.run()
    wall = time.perf_counter() - started
    final = run.study.get_trials()[-1]
    assert final.user_attrs[DNAS_ATTR]["phase"] == "retrain"
    metrics = final.user_attrs["metrics"]
    return {
        "space": space,
        "penalty_weight": weight,
        "target_ms": target,
        "expected_ms": final.user_attrs[DNAS_ATTR]["expected"]["latency_ms"],
        "measured_ms": metrics["latency_ms"]["value"],
        "accuracy": metrics["accuracy"]["value"],
        "test_accuracy": metrics["test_accuracy"]["value"],
        "params": metrics["params"]["value"],
        "summary": final.user_attrs["summary"],
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="chain", choices=sorted(SPACES))
    parser.add_argument("--weights", type=float, nargs="+", default=[0.1, 1.0, 10.0])
    parser.add_argument("--target", type=float, help="latency target in ms (default: see above)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-calibrate", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    task = nw.load_task("digits", seed=args.seed)
    space = nw.spaces.get(args.space, **SPACES[args.space])
    if not args.no_calibrate:
        result = calibrate("cpu", threads=1, spaces=[args.space], input_shape=task.input_shape, networks=20)
        print(f"calibrated on {args.space}: {result.fits[args.space]}")
    target = args.target or default_target(space, task)
    print("    λ target ms E[lat] ms  measured  met  val acc test acc  wall s  architecture", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for weight in [0.0, *args.weights]:
            r = run_one(args.space, weight, target, args.epochs, f"sqlite:///{folder}/bench.db", args.seed)
            rows.append(r)
            met = "yes" if r["measured_ms"] <= r["target_ms"] else "no"
            print(
                f"{r['penalty_weight']:5g} {r['target_ms']:9.3f} {r['expected_ms']:9.3f} "
                f"{r['measured_ms']:9.3f} {met:>4} {r['accuracy']:8.4f} {r['test_accuracy']:8.4f} "
                f"{r['wall_s']:7.1f}  {r['summary']}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps({"target_ms": target, "epochs": args.epochs, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
