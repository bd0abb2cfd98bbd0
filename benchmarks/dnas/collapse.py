"""DARTS' collapse on digits, with and without the remedies: per seed, whether the architecture the weights
favour at the end links the cell's input to its output through convolutions (else the collapse guard
repairs it), how separated the weights are (the share of edges whose top op weighs at least twice the
runner-up), and the retrained architecture's accuracy.

    python benchmarks/dnas/collapse.py [--seeds 5] [--epochs 4] [--cells 1] [--json out.json]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import optuna
import torch

from nas_workbench.engine.records import DNAS_ATTR

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timed_search import timed_search

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: The remedies compared: DARTS as published (no warm-up, no shrinking, no annealing; our architecture
#: learning rate), β-DARTS' regularisation, warm-up and progressive shrinking alone, and the defaults
#: (warm-up, shrinking and the annealed softmax).
VARIANTS: dict[str, dict[str, Any]] = {
    "darts": {"warmup_epochs": 0, "shrink_to": 0, "softmax_temperature": 1.0},
    "beta-darts": {
        "warmup_epochs": 0,
        "shrink_to": 0,
        "softmax_temperature": 1.0,
        "beta_regularisation": 2.0,
    },
    "warm-up + shrinking": {"softmax_temperature": 1.0},
    "default": {},
}


def run_one(options: dict[str, Any], seed: int, epochs: int, cells: int, storage: str) -> dict[str, Any]:
    run, timing = timed_search(
        space="nb201",
        space_options={"num_cells": cells},
        strategy="dnas",
        strategy_options={"retrain_top": 1, **options},  # epochs search, the final architecture retrained
        profile_metrics=[],
        n_trials=epochs + 1,
        storage=storage,
        study_name=f"collapse-{json.dumps(options, sort_keys=True)}-{seed}",
        seed=seed,
    )
    trials = run.study.get_trials()
    last = [t.user_attrs[DNAS_ATTR] for t in trials if t.user_attrs[DNAS_ATTR]["phase"] == "search"][-1]
    final = trials[-1]
    metrics = final.user_attrs["metrics"]
    return {
        "seed": seed,
        "collapsed": last["guarded"],
        "separation": last["separation"],
        "accuracy": metrics["accuracy"]["value"],
        "test_accuracy": metrics["test_accuracy"]["value"],
        "arch": final.user_attrs["arch"],
        "wall_s": timing.wall_s,
        "cpu_s": timing.cpu_s,
    }


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--cells", type=int, default=1, help="cells per stage")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="default: all")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    print(f"{'variant':20} seed collapsed separated  val acc test acc  wall s  architecture", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for variant in args.variant or list(VARIANTS):
            for seed in range(args.seeds):
                r = run_one(VARIANTS[variant], seed, args.epochs, args.cells, f"sqlite:///{folder}/b.db")
                rows.append({"variant": variant, **r})
                print(
                    f"{variant:20} {seed:4d} {'yes' if r['collapsed'] else 'no':>9} {r['separation']:9.0%} "
                    f"{r['accuracy']:8.4f} {r['test_accuracy']:8.4f} {r['wall_s']:7.1f}  {r['arch']}",
                    flush=True,
                )
    _report.write_json(args.json, {"epochs": args.epochs, "cells": args.cells, "rows": rows})


if __name__ == "__main__":
    main()
