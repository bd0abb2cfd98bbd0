"""How well a profile's own quality figure (its leave-one-out Spearman) tells its real one, from 10 cells.

`nas-workbench device show` and a fitted profile in a notebook cell say the profile's cross-validated
Spearman and call the profile weak below `WEAK_SPEARMAN`. A user has nothing else to judge a profile of a
device the workbench cannot run on, so that figure must not mislead. NAS-Bench-201's published latencies
stand in for the device, as in ``profile_quality.py``: a profile with the reference table (the target's
hardware left out) is fitted on 10 cells, drawn at random or chosen by `propose` (``--draws`` each), and its
leave-one-out Spearman (``quality["spearman"]``) is set beside its true Spearman on every other cell.
Columns: the mean of each; how many profiles the figure would call weak by its value alone (below
`WEAK_SPEARMAN`) and by the top of its `spearman_range` (the rule of `device_report`), with their lowest
true Spearman; and how often the range holds the true value.

    python benchmarks/devices/loo_quality.py /work/shared/data/nb201 [--devices "Pixel 3,Eyeriss"] [--json F]

Without the folder it prints why and exits 0 (skipped). Table-computed: nothing is timed.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from profile_quality import DEVICES, arguments_and_table, cells, table_inputs  # this folder is on the path
from scipy.stats import spearmanr

import nas_workbench as nw
from nas_workbench.profiling.device_report import WEAK_SPEARMAN, spearman_range
from nas_workbench.profiling.device_transfer import TransferModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

SIZE = 10


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("--draws", type=int, default=10, help="random and proposed sets per device")
    parser.add_argument("--devices", help="only these devices, comma-separated (default: all of DEVICES)")
    if (parsed := arguments_and_table(parser)) is None:
        return 0
    args, data = parsed
    torch.set_num_threads(1)
    started = time.time()
    space, specs, index, rows = cells(data)
    smoothed: dict[str, np.ndarray] = {}
    profiles = []
    for device in DEVICES if args.devices is None else args.devices.split(","):
        y, reference, matrix, names = table_inputs(
            data, DEVICES[device][0], args.nb201_dir / "nb201_latency.csv", specs, smoothed
        )
        sets = {
            "random": [random.Random(seed).sample(range(len(y)), SIZE) for seed in range(args.draws)],
            "proposed": [
                [index[a] for a in nw.profiling.propose(space, SIZE, seed, reference=reference)]
                for seed in range(args.draws)
            ],
        }
        for kind, chosen_sets in sets.items():
            for seed, chosen in enumerate(chosen_sets):
                rest = np.ones(len(y), dtype=bool)
                rest[chosen] = False
                model = TransferModel.fit([rows[i] for i in chosen], matrix[chosen], names, y[chosen])
                columns = [names.index(d) for d in model.devices]
                predicted = model.predict(
                    [r for r, keep in zip(rows, rest, strict=True) if keep], matrix[rest][:, columns]
                )
                loo = float(model.quality["spearman"])
                profiles.append(
                    {
                        "device": device,
                        "kind": kind,
                        "seed": seed,
                        "loo": loo,
                        "range": spearman_range(loo, SIZE),
                        "true": float(spearmanr(predicted, y[rest]).statistic),
                    }
                )
        print(f"{device}: done ({time.time() - started:.0f} s)", file=sys.stderr)
    print_table(profiles)
    _report.write_json(args.json, {"size": SIZE, "draws": args.draws, "profiles": profiles})
    return 0


def _weak(group: list[dict], called: list[bool]) -> str:
    """How many of ``group`` are ``called`` weak, and the lowest true Spearman among them."""
    truths = [p["true"] for p, weak in zip(group, called, strict=True) if weak]
    return f"{len(truths)}" + (f" (true >= {min(truths):.2f})" if truths else "")


def print_table(profiles: list[dict]) -> None:
    """One row per device and kind of set, and the total."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for p in profiles:
        groups.setdefault((p["device"], p["kind"]), []).append(p)
    groups[("all", "")] = profiles
    print(
        f"| device | cells | leave-one-out Spearman | true Spearman | weak by value (< {WEAK_SPEARMAN}) "
        f"| weak by the range's top | range holds the true |\n|---|---|---|---|---|---|---|"
    )
    for (device, kind), group in groups.items():
        by_value = [p["loo"] < WEAK_SPEARMAN for p in group]
        by_range = [p["range"][1] < WEAK_SPEARMAN for p in group]
        held = np.mean([p["range"][0] <= p["true"] <= p["range"][1] for p in group])
        print(
            f"| {device} | {kind} | {np.mean([p['loo'] for p in group]):.3f} | "
            f"{np.mean([p['true'] for p in group]):.3f} | {_weak(group, by_value)} | "
            f"{_weak(group, by_range)} | {held:.0%} |"
        )


if __name__ == "__main__":
    sys.exit(main())
