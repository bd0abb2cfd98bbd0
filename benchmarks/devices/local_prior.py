"""This machine's lookup table as a prior of a device profile: measured "devices" that are this machine in
another setting than the table's, fitted from 5, 10 or 20 random architectures, scored on the rest.

Three stages, so that what is timed runs in short locked runs (each at nice 0 under
``flock /work/measure.lock``) and what is computed does not:

    # the "devices": 60 architectures measured for real in one setting (a few minutes each)
    flock /work/measure.lock python benchmarks/devices/local_prior.py measure --setting batch8 --data D.json
    # this machine's lookup-table prediction of each (the table calibrated first where it has no
    # correction, as `fit_device` does; its cost is recorded), FLOPs and choice counts
    flock /work/measure.lock python benchmarks/devices/local_prior.py table --data D.json
    # the profiles: 10 random draws of n measured architectures, scored on the other 60 - n
    nice -n 19 python benchmarks/devices/local_prior.py report --data D.json [--json out.json]

Settings (chain space, 10 classes; the lookup table is this machine's at 1 thread, batch 1, at the
profile's input shape): ``batch8`` (1x8x8 at batch 8, 1 thread), ``threads2`` (1x8x8, batch 1, 2
threads), ``input32`` (3x32x32, batch 1, 1 thread: the table's own setting, the "a board like this
machine" case). Profiles: the structure model alone (counts and FLOPs: what ``fit_device`` fits without
priors), the average with the local prior (``local_prior=True``: the product's `TransferModel` with
`LOCAL` as its reference device), and the table's prediction alone through ``a + b * lut_ms`` (least
squares), for reference. Scored by Spearman and the share within ±10% on the held-out architectures.
The data file keeps the cache folder (``NAS_WORKBENCH_CACHE``) the table lives in.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_quality import evaluate, features, read_latency_table, score, table_inputs

import nas_workbench as nw
from nas_workbench.profiling.device_local import LOCAL, LocalPrior
from nas_workbench.profiling.device_model import arch_features

#: name -> (input shape, batch size, threads)
SETTINGS: dict[str, tuple[tuple[int, int, int], int, int]] = {
    "batch8": ((1, 8, 8), 8, 1),
    "threads2": ((1, 8, 8), 1, 2),
    "input32": ((3, 32, 32), 1, 1),
}
CLASSES = 10


def archs(space: Any, n: int) -> list[Any]:
    """``n`` distinct random architectures (seed 0)."""
    rng, found = random.Random(0), {}
    while len(found) < n:
        spec = space.random(rng)
        found.setdefault(spec.id, spec)
    return list(found.values())


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def load_average() -> float:
    return os.getloadavg()[0]


def stamp(start: float, load0: float) -> dict[str, Any]:
    """When a stage started (UTC), how long it took and the load average before and after."""
    return {
        "utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start)),
        "seconds": round(time.time() - start, 1),
        "load": [round(load0, 2), round(load_average(), 2)],
    }


def snapshot(local: LocalPrior, opened: float) -> dict[str, Any]:
    """What the table's snapshot cost to open (calibration included) and which correction it holds."""
    quality = local.correction.get("quality", {})
    return {
        "open_seconds": round(opened, 1),
        "correction": local.correction_name,
        "correction_quality": quality,
    }


def measure(data: dict[str, Any], setting: str, n: int) -> None:
    from nas_workbench.profiling.latency import measure_latency

    space = nw.spaces.get("chain")
    shape, batch, threads = SETTINGS[setting]
    start, load0 = time.time(), load_average()
    values = []
    with torch.inference_mode():
        for spec in archs(space, n):
            model = space.build(spec, shape, CLASSES).eval()
            values.append(measure_latency(model, shape, batch_size=batch, threads=threads).value)
    data.setdefault("measured", {})[setting] = {
        "latency_ms": values,
        **stamp(start, load0),
    }


def table(data: dict[str, Any], n: int) -> None:
    from nas_workbench.profiling._trace import trace

    torch.set_num_threads(1)
    space = nw.spaces.get("chain")
    specs = archs(space, n)
    for shape in sorted({SETTINGS[s][0] for s in SETTINGS}):
        key = "x".join(map(str, shape))
        start, load0 = time.time(), load_average()
        local = LocalPrior.open("chain", shape)
        opened = time.time() - start
        lut, rows = [], []
        for spec in specs:
            lut.append(local(trace(space.build(spec, shape, CLASSES), shape)))
            rows.append(arch_features(spec, space, shape, CLASSES))
        data.setdefault("table", {})[key] = {
            "lut_ms": lut,
            "rows": rows,
            "entries": len(local.entries),
            **snapshot(local, opened),
            **stamp(start, load0),
        }


def report(data: dict[str, Any], sizes: list[int], draws: int) -> list[dict[str, Any]]:
    results = []
    for setting, measured in data["measured"].items():
        y = np.array(measured["latency_ms"])
        tab = data["table"]["x".join(map(str, SETTINGS[setting][0]))]
        rows, lut = tab["rows"], np.array(tab["lut_ms"])[: len(y)]
        rows = rows[: len(y)]
        for n in sizes:
            scores: dict[str, list[tuple[float, float]]] = {
                "structure": [],
                "local prior": [],
                "lut alone": [],
            }
            weights = []
            for draw in range(draws):
                chosen = random.Random(draw).sample(range(len(y)), n)
                mask = np.ones(len(y), dtype=bool)
                mask[chosen] = False
                scores["structure"].append(evaluate(rows, y, chosen, None, []))
                scores["local prior"].append(evaluate(rows, y, chosen, lut[:, None], [LOCAL]))
                b, a = np.polyfit(lut[chosen], y[chosen], 1)
                scores["lut alone"].append(score(a + b * lut[mask], y[mask]))
                from nas_workbench.profiling.device_transfer import TransferModel

                fitted = TransferModel.fit(
                    [rows[i] for i in chosen], lut[chosen][:, None], [LOCAL], y[chosen], assess=False
                )
                weights.append(
                    sum(w for w, names in zip(fitted.weights, fitted.inputs, strict=True) if LOCAL in names)
                )
            row = {"setting": setting, "n": n, "local_weight": float(np.mean(weights))}
            for name, values in scores.items():
                row[name] = [float(np.mean([v[0] for v in values])), float(np.mean([v[1] for v in values]))]
            results.append(row)
    return results


NB201_DEVICES = {
    "Intel Gold 6226": "help_gold_6226_ms",
    "Pixel 3": "hwnb_pixel3_ms",
    "Raspberry Pi 4": "hwnb_raspi4_ms",
}


def nb201_table(data: dict[str, Any], nb201: Path) -> None:
    """This machine's lookup-table latency of every NB201 cell at 3x32x32, approximately: traced once per
    multiset of edge operations (210 networks; all edges of a stage have one shape), since tracing all
    15,625 takes about half an hour here. Not exact (a cell's operators also depend on where its edges
    are): the worst relative difference on 20 random cells traced in full is recorded."""
    from nas_workbench.profiling._trace import trace

    torch.set_num_threads(1)
    space, shape = nw.spaces.get("nb201"), (3, 32, 32)
    rows = read_latency_table(nb201)
    assert rows is not None
    specs = [space.parse(r["arch"]) for r in rows]
    start, load0 = time.time(), load_average()
    local = LocalPrior.open("nb201", shape)
    opened = time.time() - start
    by_ops: dict[tuple[str, ...], float] = {}

    def lut(spec: Any) -> float:
        value = local(trace(space.build(spec, shape, CLASSES), shape))
        assert value is not None
        return value

    values = []
    for spec in specs:
        key = tuple(sorted(spec.choices.values()))
        if key not in by_ops:
            by_ops[key] = lut(spec)
        values.append(by_ops[key])
    worst = max(
        abs(lut(s) / values[i] - 1)
        for i, s in ((i, specs[i]) for i in random.Random(0).sample(range(len(specs)), 20))
    )
    data["nb201"] = {
        "lut_ms": values,
        "traced": len(by_ops),
        "check_worst_rel": worst,
        **snapshot(local, opened),
        **stamp(start, load0),
    }


def nb201_report(data: dict[str, Any], nb201: Path, sizes: list[int], draws: int) -> list[dict[str, Any]]:
    """The published devices from n random cells, with and without the local prior, beside the
    reference table (the target's hardware left out, smoothed columns) or the structure model alone."""
    rows = read_latency_table(nb201)
    assert rows is not None
    space = nw.spaces.get("nb201")
    specs = [space.parse(r["arch"]) for r in rows]
    feats = features(space, specs)
    lut = np.array(data["nb201"]["lut_ms"])[:, None]
    smoothed: dict[str, np.ndarray] = {}
    results = []
    for device, column in NB201_DEVICES.items():
        y, _, inputs, names = table_inputs(rows, column, nb201 / "nb201_latency.csv", specs, smoothed)
        for n in sizes:
            chosen_sets = [random.Random(seed).sample(range(len(y)), n) for seed in range(draws)]
            variants = {
                "structure": (None, []),
                "structure + local": (lut, [LOCAL]),
                "reference": (inputs, names),
                "reference + local": (np.column_stack([inputs, lut]), [*names, LOCAL]),
            }
            row: dict[str, Any] = {"setting": device, "n": n}
            for name, (matrix, devices) in variants.items():
                scores = np.array([evaluate(feats, y, chosen, matrix, devices) for chosen in chosen_sets])
                row[name] = [float(scores[:, 0].mean()), float(scores[:, 1].mean())]
            results.append(row)
        print(f"{device}: done", file=sys.stderr)
    return results


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        "| setting | n | structure (counts + FLOPs) | with the local prior | its weight | a + b·lut alone |"
    )
    print("|---|---|---|---|---|---|")
    for r in results:
        cells = [f"{r[k][0]:.3f} / {100 * r[k][1]:.0f}%" for k in ("structure", "local prior")]
        print(
            f"| {r['setting']} | {r['n']} | {cells[0]} | {cells[1]} | {r['local_weight']:.2f} | "
            f"{r['lut alone'][0]:.3f} / {100 * r['lut alone'][1]:.0f}% |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("measure", "table", "report", "nb201-table", "nb201-report"))
    parser.add_argument(
        "--nb201", type=Path, default=Path("../shared/data/nb201"), help="nb201_latency.csv's folder"
    )
    parser.add_argument("--data", type=Path, required=True, help="the JSON file the stages share")
    parser.add_argument("--setting", choices=sorted(SETTINGS), help="measure: which setting")
    parser.add_argument("--archs", type=int, default=60)
    parser.add_argument("--sizes", default="5,10,20")
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--json", type=Path, help="report: write the table's figures here")
    args = parser.parse_args()
    data = load(args.data)
    os.environ["NAS_WORKBENCH_CACHE"] = data.setdefault("cache", str(args.data.with_suffix(".cache")))
    if args.stage == "measure":
        measure(data, args.setting, args.archs)
    elif args.stage == "table":
        table(data, args.archs)
    elif args.stage == "nb201-table":
        nb201_table(data, args.nb201)
    elif args.stage == "nb201-report":
        results = nb201_report(data, args.nb201, [int(s) for s in args.sizes.split(",")], args.draws)
        keys = ("structure", "structure + local", "reference", "reference + local")
        print("| device | n | " + " | ".join(keys) + " |\n|---|---|---|---|---|---|")
        for r in results:
            print(
                f"| {r['setting']} | {r['n']} | "
                + " | ".join(f"{r[k][0]:.3f} / {100 * r[k][1]:.0f}%" for k in keys)
                + " |"
            )
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return 0
    else:
        results = report(data, [int(s) for s in args.sizes.split(",")], args.draws)
        print_table(results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return 0
    args.data.write_text(json.dumps(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
