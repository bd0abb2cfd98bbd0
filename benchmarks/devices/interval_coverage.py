"""How often a device profile's 80% interval holds the measured latency of a cell it was not fitted on.

The same setting as profile_quality.py (NAS-Bench-201's published latencies, the product's features, the
target's hardware left out of the reference table): profiles fitted on n random cells (3 draws by
default), with the table (`TransferModel`, its leave-one-out refits included) and without it
(`FeatureModel`); each prediction's interval is ``[value * ratio_p10, value * ratio_p90]`` as
`DeviceProfile.predict` gives it. An honest 80% interval covers about 80% of the other cells.

    python benchmarks/devices/interval_coverage.py /work/shared/data/nb201
    python benchmarks/devices/interval_coverage.py /work/shared/data/nb201 --json interval_coverage.json

Without the folder it prints why and exits 0 (skipped).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import torch
from profile_quality import (  # this folder is on the path when run as a script
    DEVICES,
    arguments_and_table,
    features,
    table_inputs,
)

import nas_workbench as nw
from nas_workbench.profiling.device_model import FeatureModel
from nas_workbench.profiling.device_transfer import TransferModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


def coverage(predicted: np.ndarray, quality: dict, measured: np.ndarray) -> float:
    """The share of ``measured`` inside the 80% intervals of ``predicted``."""
    return float(
        np.mean(
            (measured >= predicted * quality["ratio_p10"]) & (measured <= predicted * quality["ratio_p90"])
        )
    )


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("-n", type=int, default=10, help="measurements per profile (default 10)")
    parser.add_argument("--draws", type=int, default=3, help="random draws (default 3)")
    if (parsed := arguments_and_table(parser)) is None:
        return 0
    args, data = parsed
    torch.set_num_threads(1)
    space = nw.spaces.get("nb201")
    specs = [space.parse(r["arch"]) for r in data]
    rows = features(space, specs)
    smoothed: dict[str, np.ndarray] = {}
    results = []
    for device, (column, _) in DEVICES.items():
        y, _, others, devices = table_inputs(
            data, column, args.nb201_dir / "nb201_latency.csv", specs, smoothed
        )
        entry: dict = {"device": device, "reference": [], "structure": []}
        for seed in range(args.draws):
            chosen = random.Random(seed).sample(range(len(y)), args.n)
            rest = np.ones(len(y), dtype=bool)
            rest[chosen] = False
            fit_rows = [rows[i] for i in chosen]
            rest_rows = [r for r, keep in zip(rows, rest, strict=True) if keep]
            model = TransferModel.fit(fit_rows, others[chosen], devices, y[chosen])
            kept = others[rest][:, [devices.index(d) for d in model.devices]]
            entry["reference"].append(coverage(model.predict(rest_rows, kept), model.quality, y[rest]))
            alone = FeatureModel.fit(fit_rows, y[chosen])
            entry["structure"].append(coverage(alone.predict(rest_rows), alone.quality, y[rest]))
        results.append(entry)
        print(f"{device}: done", file=sys.stderr)
    lines = [f"| device | with the table ({args.n} random) | structure only |", "|---|---|---|"]
    for e in results:
        cells = [
            f"{100 * np.mean(e[k]):.0f}% ({100 * min(e[k]):.0f}-{100 * max(e[k]):.0f}%)"
            for k in ("reference", "structure")
        ]
        lines.append(f"| {e['device']} | {cells[0]} | {cells[1]} |")
    print("\n".join(lines))
    _report.write_json(args.json, {"n": args.n, "draws": args.draws, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
