"""How well a device profile fitted from 5, 10 or 20 measured cells predicts the latency of all the others.

NAS-Bench-201's published latencies of all 15,625 cells (HW-NAS-Bench and HELP, ``nb201_latency.csv``)
stand in for a user's device: a profile is fitted on n cells — drawn at random (10 draws, averaged) or
chosen by `propose` (10 seeds, averaged; with the table for the profile with one, over the counts alone
for the one without) — and evaluated on every other cell: Spearman's rank correlation
and the share of predictions within ±10% of the measurement. Two profiles, the two `fit_device` fits:
with a reference table (`nas_workbench.profiling.device_transfer.TransferModel`), the other devices'
latencies of the same cells; without one (`nas_workbench.profiling.device_model.FeatureModel`), the
structure model alone, as a user-defined space gets it. The reference table never holds the target:
every column of the target's hardware is left out (all three batch sizes of the Titan RTX for either
Titan RTX row), so 24-26 devices remain. Beside it: the ceiling, gradient boosting on the 30
edge-operation indicators (the product's `one_hot`, what the smoothed reference columns fit on) fitted
on 12,000 cells of the same device and evaluated on the rest (set by the device's measurement noise),
and HELP's published Spearman from 10 measurements (NeurIPS 2021; its Titan RTX figure is for batch
256). ``--devices`` runs a subset.

Features are the product's: `choice_counts` of each cell and its FLOPs counted by the product's trace of
the network built for CIFAR-10 (3x32x32, 10 classes). An NB201 network's FLOPs depend only on its numbers
of 3x3 and 1x1 convolutions (every edge of a stage has the same shapes), so they are traced once per such
pair (28 networks) and checked against a full trace of a few random cells.

    python benchmarks/devices/profile_quality.py /work/shared/data/nb201
    python benchmarks/devices/profile_quality.py /work/shared/data/nb201 --json profile_quality.json

Without the folder it prints why and exits 0 (skipped).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

import nas_workbench as nw
from nas_workbench.profiling.device_model import FeatureModel, arch_features, choice_counts
from nas_workbench.profiling.device_transfer import Reference, TransferModel, one_hot

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: Devices of the issue: name -> (column of nb201_latency.csv, HELP's published Spearman from 10 samples).
#: HELP's Titan RTX figure is for batch 256 (its README's Table 3 heads the column "Titan RTX Batch 256" and
#: meta-tests ``titan_rtx_256``), so it stands beside that row; the issue's batch 1 has none.
DEVICES = {
    "Pixel 2": ("help_pixel2_ms", 0.802),
    "Pixel 3": ("hwnb_pixel3_ms", None),
    "Raspberry Pi 4": ("hwnb_raspi4_ms", 0.890),
    "FPGA": ("hwnb_fpga_ms", 0.985),
    "Eyeriss": ("hwnb_eyeriss_ms", 0.940),
    "Intel Gold 6226": ("help_gold_6226_ms", 0.989),
    "Titan RTX (batch 1)": ("help_titan_rtx_1_ms", None),
    "Titan RTX (batch 256)": ("help_titan_rtx_256_ms", 0.987),
}
SHAPE, CLASSES = (3, 32, 32), 10
CEILING_TRAIN = 12_000


def score(predicted: np.ndarray, measured: np.ndarray) -> tuple[float, float]:
    """Spearman and the share within ±10%."""
    return float(spearmanr(predicted, measured).statistic), float(
        np.mean(np.abs(predicted / measured - 1) <= 0.1)
    )


def features(space, specs) -> list[dict[str, float]]:
    """The product's features of every cell, FLOPs traced once per (3x3, 1x1) convolution count."""
    flops: dict[tuple[int, int], float] = {}
    rows = []
    for spec in specs:
        ops = list(spec.choices.values())
        key = (ops.count("nor_conv_3x3"), ops.count("nor_conv_1x1"))
        if key not in flops:
            flops[key] = arch_features(spec, space, SHAPE, CLASSES)["flops_M"]
        rows.append({**choice_counts(spec), "flops_M": flops[key]})
    for spec in random.Random(0).sample(specs, 3):  # the shortcut is exact
        index = specs.index(spec)
        assert arch_features(spec, space, SHAPE, CLASSES) == rows[index], space.format(spec)
    return rows


def hardware(column: str) -> str:
    """The device a column measures, without its batch size (``help_titan_rtx_32_ms`` -> titan_rtx)."""
    return column.removesuffix("_ms").removesuffix("_1").removesuffix("_32").removesuffix("_256")


def target_and_references(
    data: list[dict[str, str]], column: str
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The target device's latencies (``column``), and the reference devices' columns and latencies: every
    other ``*_ms`` column but those of the target's own hardware (at another batch size)."""
    y = np.array([float(r[column]) for r in data])
    devices = [c for c in data[0] if c.endswith("_ms") and hardware(c) != hardware(column)]
    others = np.array([[float(r[c]) for c in devices] for r in data])
    return y, devices, others


def evaluate(
    rows, y, chosen: list[int], others: np.ndarray | None, devices: list[str]
) -> tuple[float, float]:
    """Fit on the ``chosen`` cells (with the ``others`` reference latencies, or the structure model alone
    when None), score on every other cell."""
    mask = np.ones(len(y), dtype=bool)
    mask[chosen] = False
    fit_rows = [rows[i] for i in chosen]
    rest = [r for r, keep in zip(rows, mask, strict=True) if keep]
    if others is None:
        return score(FeatureModel.fit(fit_rows, y[chosen]).predict(rest), y[mask])
    model = TransferModel.fit(fit_rows, others[chosen], devices, y[chosen], assess=False)
    return score(model.predict(rest, others[mask][:, [devices.index(d) for d in model.devices]]), y[mask])


def table_inputs(
    data: list[dict[str, str]], column: str, table: Path, specs, smoothed: dict[str, np.ndarray]
) -> tuple[np.ndarray, Reference, np.ndarray, list[str]]:
    """The target's latencies, the `Reference` without the target's hardware, and what a profile fits
    on for every cell: the reference's `columns` (raw and smoothed) and their names.
    ``smoothed`` is shared between targets (a device's smoothed column does not depend on the target)."""
    y, devices, others = target_and_references(data, column)
    ids = {s.id: i for i, s in enumerate(specs)}
    archs = [r["arch"] for r in data]
    reference = Reference(str(table), "", devices, ids, others, archs, one_hot(specs), smoothed)
    names = reference.columns()
    matrix = reference.rows([s.id for s in specs], names)
    assert matrix is not None
    return y, reference, matrix, names


def ceiling(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    try:
        from sklearn.ensemble import HistGradientBoostingRegressor
    except ImportError:
        return None
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:CEILING_TRAIN], order[CEILING_TRAIN:]
    model = HistGradientBoostingRegressor(max_iter=300, random_state=0).fit(x[train], y[train])
    return score(model.predict(x[test]), y[test])


def read_latency_table(nb201_dir: Path) -> list[dict[str, str]] | None:
    """The rows of ``nb201_latency.csv`` (one per cell, a ``*_ms`` column per device), or None, said on
    stderr, when the folder lacks it (the benchmark is then skipped)."""
    table = nb201_dir / "nb201_latency.csv"
    if not table.exists():
        print(f"{table} not found: benchmark skipped", file=sys.stderr)
        return None
    with table.open() as f:
        return list(csv.DictReader(f))


def arguments_and_table(
    parser: argparse.ArgumentParser,
) -> tuple[argparse.Namespace, list[dict[str, str]]] | None:
    """The command line parsed by ``parser`` with the ``nb201_dir`` argument added, and the table's rows;
    None when the folder lacks the table (the benchmark is then skipped)."""
    parser.add_argument("nb201_dir", type=Path, help="folder holding nb201_latency.csv")
    args = parser.parse_args()
    data = read_latency_table(args.nb201_dir)
    return None if data is None else (args, data)


def cells(data: list[dict[str, str]]) -> tuple[Any, list, dict[str, int], list[dict[str, float]]]:
    """The NB201 space, the table's cells as specs, each cell's row by its notation, and their `features`."""
    space = nw.spaces.get("nb201")
    specs = [space.parse(r["arch"]) for r in data]
    return space, specs, {space.format(s): i for i, s in enumerate(specs)}, features(space, specs)


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("--sizes", default="5,10,20", help="numbers of measurements (default 5,10,20)")
    parser.add_argument("--draws", type=int, default=10, help="random draws per size (default 10)")
    parser.add_argument("--devices", help="only these devices, comma-separated (default: all of DEVICES)")
    if (parsed := arguments_and_table(parser)) is None:
        return 0
    args, data = parsed
    table = args.nb201_dir / "nb201_latency.csv"  # named in each profile's reference
    torch.set_num_threads(1)
    started = time.time()
    space, specs, index, rows = cells(data)
    x = one_hot(specs)  # the 30 edge-operation indicators, what the smoothed reference columns fit on
    sizes = [int(n) for n in args.sizes.split(",")]
    proposals = {n: [[index[a] for a in nw.profiling.propose(space, n, seed)] for seed in range(args.draws)]
                 for n in sizes}  # fmt: skip
    smoothed: dict[str, np.ndarray] = {}
    results = []
    chosen_devices = DEVICES if args.devices is None else {d: DEVICES[d] for d in args.devices.split(",")}
    for device, (column, help_spearman) in chosen_devices.items():
        y, reference, inputs, names = table_inputs(data, column, table, specs, smoothed)
        devices = reference.devices
        entry = {"device": device, "column": column, "help_spearman_10": help_spearman,
                 "reference_devices": devices, "ceiling": ceiling(x, y), "profiles": {}}  # fmt: skip
        for n in sizes:
            draws = [random.Random(seed).sample(range(len(y)), n) for seed in range(args.draws)]
            spread = [[index[a] for a in nw.profiling.propose(space, n, seed, reference=reference)]
                      for seed in range(args.draws)]  # fmt: skip
            for choice, model, chosen_sets in (
                ("random", "reference", draws),
                ("random", "structure", draws),
                ("propose", "reference", spread),  # proposed over the counts and the table
                ("propose", "structure", proposals[n]),  # proposed over the counts
            ):
                matrix = inputs if model == "reference" else None
                scores = np.array([evaluate(rows, y, chosen, matrix, names) for chosen in chosen_sets])
                entry["profiles"][f"{n}/{choice}/{model}"] = {
                    "spearman": float(scores[:, 0].mean()),
                    "spearman_min": float(scores[:, 0].min()),
                    "within_10pct": float(scores[:, 1].mean()),
                }
        results.append(entry)
        print(f"{device}: done ({time.time() - started:.0f} s)", file=sys.stderr)
    print_table(results, sizes)
    _report.write_json(args.json, {"sizes": sizes, "draws": args.draws, "results": results})
    return 0


def _cell(profiles: dict, key: str) -> str:
    return f"{profiles[key]['spearman']:.3f} / {100 * profiles[key]['within_10pct']:.0f}%"


def _goal(ten: dict | None, ceil: tuple[float, float] | None) -> str:
    """Whether 10 random measurements reach Spearman within 0.02 and ±10% within 10 points of the ceiling."""
    if ten is None or ceil is None:
        return "-"
    gap_s, gap_w = ten["spearman"] - ceil[0], 100 * (ten["within_10pct"] - ceil[1])
    return "yes" if gap_s >= -0.02 and gap_w >= -10 else f"no ({gap_s:+.3f}, {gap_w:+.0f} points)"


def print_table(results: list[dict], sizes: list[int]) -> None:
    """Spearman / within ±10% per device and number of measurements, the ceiling and HELP beside them."""
    head = ["device"] + [f"{n} random" for n in sizes] + [f"{n} proposed" for n in sizes]
    head += ["10 random, structure only", "10 proposed, structure only"]
    head += ["ceiling (12k cells)", "HELP (10)", "goal met (10 random)", "goal met (10 proposed)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for entry in results:
        p, ceil = entry["profiles"], entry["ceiling"]
        values = [entry["device"]]
        for key in ("random/reference", "propose/reference"):
            values += [_cell(p, f"{n}/{key}") for n in sizes]
        values += [
            _cell(p, f"10/{key}") if f"10/{key}" in p else "-"
            for key in ("random/structure", "propose/structure")
        ]
        values.append("-" if ceil is None else f"{ceil[0]:.3f} / {100 * ceil[1]:.0f}%")
        values.append("-" if entry["help_spearman_10"] is None else f"{entry['help_spearman_10']:.3f}")
        values += [_goal(p.get(f"10/{key}/reference"), ceil) for key in ("random", "propose")]
        lines.append("| " + " | ".join(values) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
