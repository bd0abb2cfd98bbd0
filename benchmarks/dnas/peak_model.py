"""How close the differentiable search's peak-memory model is to the measured peak of random networks.

For ``--networks`` random architectures of the space (seeds 100, 101, ...), on digits at batch 1 as trials
are profiled: the cost model's expected peak under the architecture's one-hot weights (the figure the
landing ranks candidates by) against the peak `nw.profile` measures (inference, the allocator's events),
and the measured peak's parts (resident bytes, the run's activation peak). Prints each network and the
distribution of the relative error; run it on two checkouts to compare two models. The measured peak is
deterministic (the allocator's bytes, not a timing), so the load does not matter.

    python benchmarks/dnas/peak_model.py [--space chain] [--networks 60] [--json out.json]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

import nas_workbench as nw
from nas_workbench.profiling import profile
from nas_workbench.strategies.dnas import build_supernet, cost_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

SPACES = {"nb201": {"num_cells": 2}, "chain": {}}  # as latency_target.py's


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--space", default="chain", choices=sorted(SPACES))
    parser.add_argument("--networks", type=int, default=60, help="random architectures compared")
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = nw.load_task("digits", seed=0)
    space = nw.spaces.get(args.space, **SPACES[args.space])
    supernet = build_supernet(space, task.input_shape, task.num_classes)
    model = cost_model(supernet, "peak_memory_mb")
    print(f"model: {model.source}", flush=True)
    rows = []
    for seed in range(100, 100 + args.networks):
        spec = space.random(seed)
        network = space.build(spec, task.input_shape, task.num_classes)
        measured = profile(network, task.input_shape, metrics=["peak_memory_mb"], threads=1)
        peak = measured.measurements["peak_memory_mb"]
        predicted = float(model.expected(supernet.one_hot(spec)))
        row = {
            "seed": seed,
            "architecture": space.summary(spec),
            "measured_mb": peak.value,
            "predicted_mb": predicted,
            "error": predicted / peak.value - 1,
            "resident_bytes": peak.detail["resident_bytes"],
            "run_peak_bytes": peak.detail["run_peak_bytes"],
        }
        rows.append(row)
        print(
            f"{peak.value:.5f} MB measured, {predicted:.5f} predicted ({100 * row['error']:+.2f}%), "
            f"run peak {row['run_peak_bytes']} B: {row['architecture']}",
            flush=True,
        )
    errors = 100 * np.array([row["error"] for row in rows])
    summary = {
        "networks": len(rows),
        "error_percent": {
            "min": float(errors.min()),
            "p10": float(np.percentile(errors, 10)),
            "median": float(np.median(errors)),
            "p90": float(np.percentile(errors, 90)),
            "max": float(errors.max()),
        },
        "within_5_percent": int((abs(errors) <= 5).sum()),
        "within_1_percent": int((abs(errors) <= 1).sum()),
    }
    print(summary)
    _report.write_json(args.json, {"space": args.space, "model": model.source, "rows": rows, **summary})


if __name__ == "__main__":
    main()
