"""Latency predictor quality on this machine: the lookup table against measurement, FLOPs for contrast.

For each search space: calibrate the lookup table (``--calibration`` random networks, seeds 0...), then
take ``--archs`` further random architectures (seeds 10000...), measure each one's latency and predict it
from the table, and report the Spearman rank correlation and the share predicted within ±10% of measured.
FLOPs get the same treatment as a latency proxy: a line ``ms = a * FLOPs + b`` fitted on the same
calibration networks. Also the cost of one architecture: seconds to measure (not counting time spent
waiting for the machine's measurement lock while other workers train) against seconds to predict.

A shared machine drifts: when other work starts, every network gets slower, and a predictor of this
device's latency cannot follow. So a reference network (the first calibration network) is measured again
every 10 architectures; the table reports how much it moved during the run, and, besides the raw figures,
the share within ±10% once each measurement is divided by the reference's slowdown at the time
("drift-adjusted"). The raw figures are the headline; the adjusted ones say what the predictor would do
on a quiet machine.

    python benchmarks/profiling/predictor_quality.py [--space nb201] [--archs 100] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

import nas_workbench as nw
from nas_workbench.profiling import LookupTable, profile
from nas_workbench.profiling._trace import trace
from nas_workbench.profiling.calibrate import calibrate, fit_quality


def flops_line(flops: list[float], measured: list[float]) -> tuple[float, float]:
    """``ms = a * FLOPs + b`` by least squares on relative error, a and b non-negative."""
    y = np.asarray(measured)
    design = np.column_stack([flops, np.ones_like(y)]) / y[:, None]
    (a, b), _ = nnls(design, np.ones_like(y))
    return float(a), float(b)


def run(
    space_name: str, archs: int, calibration: int, threads: int, shape: tuple[int, ...], lut_dir: Path
) -> dict:
    space = nw.spaces.get(space_name)
    started = time.perf_counter()
    cal = calibrate(
        threads=threads, spaces=[space_name], input_shape=shape, networks=calibration, directory=lut_dir
    )
    calibration_s = time.perf_counter() - started
    cal_flops, cal_ms = [], []
    for i in range(calibration):  # the calibration networks again, for the FLOPs line
        model = space.build(space.random(i), shape, 10)
        cal_flops.append(float(trace(model, shape).flops))
        cal_ms.append(profile(model, shape, metrics=["latency_ms"], threads=threads).latency_ms)
    a, b = flops_line(cal_flops, cal_ms)

    table = LookupTable.for_device("cpu", threads, lut_dir)
    reference = space.build(space.random(0), shape, 10)
    drift: list[float] = []
    rows = []
    for i in range(archs):
        if i % 10 == 0:
            drift.append(profile(reference, shape, metrics=["latency_ms"], threads=threads).latency_ms)
        spec = space.random(10_000 + i)
        model = space.build(spec, shape, 10)
        t0 = time.perf_counter()
        measured = profile(model, shape, metrics=["latency_ms"], threads=threads)
        t1 = time.perf_counter()
        predicted = profile(model, shape, metrics=["flops", "latency_ms"], method="proxy", threads=threads,
                            lut=table, space=space_name)  # fmt: skip
        t2 = time.perf_counter()
        lat = predicted["latency_ms"].detail
        rows.append({
            "arch": spec.id,
            "measured_ms": measured.latency_ms,
            "predicted_ms": predicted.latency_ms,
            "flops": predicted.flops,
            "table_ms": lat["table_ms"],
            "operators": lat["operators"],
            "operators_timed_now": lat["operators_timed_now"],
            "stopped": measured["latency_ms"].detail["stopped"],
            "measure_s": t1 - t0 - measured["latency_ms"].detail["lock_wait_s"],
            "lock_wait_s": measured["latency_ms"].detail["lock_wait_s"],
            "predict_s": t2 - t1,
            "slowdown": drift[-1] / cal_ms[0],
        })  # fmt: skip
    measured_ms = [r["measured_ms"] for r in rows]
    lut = fit_quality([r["predicted_ms"] for r in rows], measured_ms)
    flops = fit_quality([a * r["flops"] + b for r in rows], measured_ms)
    adjusted = fit_quality([r["predicted_ms"] * r["slowdown"] for r in rows], measured_ms)
    return {
        "space": space_name,
        "archs": archs,
        "threads": threads,
        "input_shape": list(shape),
        "clock": measured["latency_ms"].source,
        "calibration_networks": calibration,
        "calibration_s": round(calibration_s, 1),
        "calibration_fit": str(cal.fits[space_name]),
        "lut": asdict(lut),
        "flops": asdict(flops),
        "lut_drift_adjusted": asdict(adjusted),
        "reference_ms": {"calibration": cal_ms[0], "during_run": drift},
        "reference_range": max(drift) / min(drift) - 1,
        "measure_s_median": statistics.median(r["measure_s"] for r in rows),
        "predict_s_median": statistics.median(r["predict_s"] for r in rows),
        "predictions_that_timed_new_operators": sum(r["operators_timed_now"] > 0 for r in rows),
        "measured_ms_range": [min(measured_ms), max(measured_ms)],
        "load_average": os.getloadavg(),
        "rows": rows,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", action="append", help="search space (repeatable; default: all)")
    parser.add_argument("--archs", type=int, default=100)
    parser.add_argument("--calibration", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--input-shape", default="3,32,32")
    parser.add_argument("--lut-dir", type=Path, help="lookup tables (default: a fresh temporary folder)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.input_shape.split(","))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        lut_dir = args.lut_dir or Path(tmp)
        for name in args.space or nw.spaces.list():
            results.append(run(name, args.archs, args.calibration, args.threads, shape, lut_dir))
    header = (
        f"{'space':<13} {'archs':>5} {'LUT rho':>8} {'LUT ±10%':>9} {'FLOPs rho':>9} {'FLOPs ±10%':>10} "
        f"{'drift':>6} {'adj. ±10%':>9} {'measure s':>9} {'predict s':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        lut, flops, adjusted = r["lut"], r["flops"], r["lut_drift_adjusted"]
        print(
            f"{r['space']:<13} {r['archs']:>5} {lut['spearman']:>8.3f} {100 * lut['within_10pct']:>8.0f}%"
            f" {flops['spearman']:>9.3f} {100 * flops['within_10pct']:>9.0f}%"
            f" {100 * r['reference_range']:>5.0f}% {100 * adjusted['within_10pct']:>8.0f}%"
            f" {r['measure_s_median']:>9.3f} {r['predict_s_median']:>9.3f}"
        )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"clock: {results[0]['clock']}, threads {args.threads}, input {args.input_shape}, load {load}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
