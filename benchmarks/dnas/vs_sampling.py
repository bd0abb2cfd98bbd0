"""Differentiable search against TPE (and random search) on digits, in one run: does "dnas" reach TPE's
best validation accuracy of a ``--trials``-trial search in less wall time?

"dnas" searches for ``--epochs`` epochs, then retrains the ``--retrain-top`` most likely architectures
under its final weights at the configured fidelity (search plus retraining is its wall time); TPE and
random search train ``--trials`` architectures at the same fidelity. Each strategy's best architecture is
the one with the best validation accuracy among its trained trials (for "dnas", the retrained ones: its
per-epoch trials are weight-sharing estimates), reported with its test accuracy, size and measured
latency, and dnas's wall time as a fraction of TPE's. For "dnas" it also prints the best of its first
j retrainings for every j (the retrainings run most likely first, so one run measures every smaller
``retrain_top``, with the wall time at which the j-th finished), and the supernet's weight-sharing
estimate of each epoch's derived architecture (how well the supernet itself has learnt: near chance, 0.1
on digits, its architecture weights carry no information). ``--strategy none`` runs dnas alone. One torch
thread everywhere.

    python benchmarks/dnas/vs_sampling.py [--space nb201 --space chain] [--epochs 10] [--trials 30]
        [--retrain-top 4] [--dnas-option sampled_paths=true] [--seed 0 --seed 1] [--json out.json]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import optuna
import torch

import nas_workbench as nw
from nas_workbench.profiling import profile
from nas_workbench.strategies.dnas.options import RETRAIN_TOP

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timed_search import timed_search

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: The spaces compared and their options (digits-sized, see each space's docs).
SPACES: dict[str, dict[str, Any]] = {"nb201": {"num_cells": 2}, "chain": {}}


def search(
    strategy: str,
    space: str,
    storage: str,
    seed: int,
    n_trials: int,
    timeout: float | None,
    options: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], float]:
    run, wall = timed_search(  # the best architecture by accuracy; no hardware penalty for "dnas"
        space=space,
        space_options=SPACES[space],
        strategy=strategy,
        strategy_options=options or {},
        profile_metrics=["params", "flops"],  # counted: no latency measured per trial
        n_trials=n_trials,
        timeout=timeout,
        storage=storage,
        study_name=f"{space}-{strategy}-{seed}",
        seed=seed,
    )
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
        "best_of_first": _best_of_first(trained, wall) if strategy == "dnas" else [],
        "supernet_estimates": [
            r.value("accuracy") for r in run.results()
            if r.status == "ok" and r.metrics.get("accuracy", {}).get("method") == "estimated"
        ],
    }  # fmt: skip
    return row, wall


def _best_of_first(trained: list[Any], wall: float) -> list[dict[str, float]]:
    """Per j, the best validation accuracy among the first j retrained architectures (most likely first),
    its test accuracy, and the wall time when the j-th finished (the run ends with the last one)."""
    end = max(r.datetime_complete for r in trained)
    rows, best = [], None
    for j, result in enumerate(sorted(trained, key=lambda r: r.number), start=1):
        if best is None or result.value("accuracy") > best.value("accuracy"):
            best = result
        rows.append({
            "j": j, "accuracy": best.value("accuracy"), "test_accuracy": best.value("test_accuracy"),
            "wall_s": wall - (end - result.datetime_complete), "arch": best.arch,
        })  # fmt: skip
    return rows


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--space", action="append", choices=sorted(SPACES), help="repeatable (default: all)")
    parser.add_argument("--epochs", type=int, default=10, help="search epochs of dnas")
    parser.add_argument("--trials", type=int, default=30, help="trials of TPE and random search")
    parser.add_argument(
        "--retrain-top", type=int, default=RETRAIN_TOP, help="architectures dnas retrains (retrain_top)"
    )
    parser.add_argument("--strategy", action="append", help="baselines (default: tpe; none: dnas alone)")
    parser.add_argument(
        "--dnas-option", action="append", default=[], metavar="KEY=JSON",
        help="more strategy_options of dnas, e.g. sampled_paths=true (repeatable)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, action="append", help="repeatable (default: 0)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    header = f"{'space':7} {'seed':>4} {'strategy':8} {'wall s':>7} {'trials':>6} {'val acc':>8} {'test acc':>8} {'params':>8} {'MFLOPs':>7} {'lat ms':>7}  architecture"  # noqa: E501
    print(header, flush=True)
    extra = {key: json.loads(value) for key, value in (o.split("=", 1) for o in args.dnas_option)}
    baselines = [s for s in args.strategy or ["tpe"] if s != "none"]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{folder}/bench.db"
        for space in args.space or list(SPACES):
            for seed in args.seed or [0]:
                for strategy in ("dnas", *baselines):
                    dnas = strategy == "dnas"
                    n_trials = args.epochs + args.retrain_top if dnas else args.trials
                    options = {"retrain_top": args.retrain_top, **extra} if dnas else None
                    row, _ = search(strategy, space, storage, seed, n_trials, None, options)
                    row["seed"] = seed
                    rows.append(row)
                    print(
                        f"{row['space']:7} {seed:4d} {row['strategy']:8} {row['wall_s']:7.1f} "
                        f"{row['trials']:6d} "
                        f"{row['accuracy']:8.4f} {row['test_accuracy']:8.4f} {row['params']:8.0f} "
                        f"{row['flops'] / 1e6:7.3f} {row['latency_ms']:7.3f}  {row['summary']}",
                        flush=True,
                    )
                    if row["supernet_estimates"]:
                        estimates = " ".join(f"{a:.2f}" for a in row["supernet_estimates"])
                        print(f"    supernet estimate per epoch: {estimates}", flush=True)
                    for best in row["best_of_first"]:
                        print(
                            f"    best of first {best['j']} retrained: val {best['accuracy']:.4f} test "
                            f"{best['test_accuracy']:.4f} at {best['wall_s']:.1f} s",
                            flush=True,
                        )
                if not baselines:
                    continue
                dnas, tpe = rows[-1 - len(baselines)], rows[-len(baselines)]
                print(
                    f"  dnas/{tpe['strategy']}: wall {dnas['wall_s'] / tpe['wall_s']:.2f}x, validation "
                    f"{dnas['accuracy'] - tpe['accuracy']:+.4f}, "
                    f"test {dnas['test_accuracy'] - tpe['test_accuracy']:+.4f}",
                    flush=True,
                )
    _report.write_json(
        args.json,
        {
            "epochs": args.epochs,
            "trials": args.trials,
            "retrain_top": args.retrain_top,
            "dnas_options": extra,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
