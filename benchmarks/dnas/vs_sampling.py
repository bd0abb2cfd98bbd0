"""Differentiable search against random search and TPE on digits: the same wall time, in one run.

"dnas" searches for ``--epochs`` epochs, then retrains its architecture at the configured fidelity; its
wall time (search plus retraining) becomes the timeout of a random search and of a TPE search, whose trials
train at the same fidelity. Each strategy's best architecture is the one with the best validation accuracy
among its trained trials (for "dnas", the retrained one: its per-epoch trials are weight-sharing estimates),
reported with its test accuracy, size and measured latency. One torch thread everywhere (shared cores).

    python benchmarks/dnas/vs_sampling.py [--space nb201 --space chain] [--epochs 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import torch

import nas_workbench as nw
from nas_workbench.profiling import profile

#: The spaces compared and their options (digits-sized, see each space's docs).
SPACES: dict[str, dict[str, Any]] = {"nb201": {"num_cells": 2}, "chain": {}}


def search(
    strategy: str, space: str, storage: str, seed: int, n_trials: int, timeout: float | None
) -> tuple[dict[str, Any], float]:
    config = nw.SearchConfig(
        space=space,
        space_options=SPACES[space],
        strategy=strategy,
        objectives=["accuracy"],  # the best architecture by accuracy; no hardware penalty for "dnas"
        profile_metrics=["params", "flops"],  # counted: no latency measured per trial
        n_trials=n_trials,
        timeout=timeout,
        storage=storage,
        study_name=f"{space}-{strategy}-{seed}",
        threads=1,
        seed=seed,
    )
    run = nw.search(config)
    run.task  # noqa: B018 - the data is loaded before the clock starts, for every strategy alike
    started = time.perf_counter()
    run.run()
    wall = time.perf_counter() - started
    trained = [
        r for r in run.results()
        if r.status == "ok" and r.metrics.get("accuracy", {}).get("method") == "measured"
    ]  # fmt: skip
    best = max(trained, key=lambda r: r.value("accuracy"))
    model = run.space.build(nw.ArchSpec.from_dict(best.spec), run.task.input_shape, run.task.num_classes)
    latency = profile(model, run.task.input_shape, metrics=["latency_ms"], threads=1)["latency_ms"].value
    row = {
        "strategy": strategy,
        "space": space,
        "wall_s": wall,
        "trials": len(run.results()),
        "trained_trials": len(trained),
        "best_trial": best.number,
        "arch": best.arch,
        "summary": best.summary,
        "accuracy": best.value("accuracy"),
        "test_accuracy": best.value("test_accuracy"),
        "params": best.value("params"),
        "flops": best.value("flops"),
        "latency_ms": latency,
    }
    return row, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", action="append", choices=sorted(SPACES), help="repeatable (default: all)")
    parser.add_argument("--epochs", type=int, default=10, help="search epochs of dnas")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    header = f"{'space':7} {'strategy':8} {'wall s':>7} {'trials':>6} {'val acc':>8} {'test acc':>8} {'params':>8} {'MFLOPs':>7} {'lat ms':>7}  architecture"  # noqa: E501
    print(header, flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{folder}/bench.db"
        for space in args.space or list(SPACES):
            wall = None
            for strategy in ("dnas", "random", "tpe"):  # dnas first: its wall time is the others' timeout
                row, elapsed = search(
                    strategy, space, storage, args.seed, args.epochs + 1 if wall is None else 100_000, wall
                )
                wall = wall or elapsed
                rows.append(row)
                print(
                    f"{row['space']:7} {row['strategy']:8} {row['wall_s']:7.1f} {row['trials']:6d} "
                    f"{row['accuracy']:8.4f} {row['test_accuracy']:8.4f} {row['params']:8.0f} "
                    f"{row['flops'] / 1e6:7.3f} {row['latency_ms']:7.3f}  {row['summary']}",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps({"seed": args.seed, "epochs": args.epochs, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
