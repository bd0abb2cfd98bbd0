"""Why a space's latency predictions miss: each correction fit forced on held-out networks, and what the
errors of a single scale follow.

Fills a fresh lookup table with the operators of ``--calibration`` + ``--archs`` random networks of one
space (calibration seeds 0..., held-out seeds 10000...), measures every network (the minimum of
``--rounds`` profiles, in rounds), then fits each correction of `profiling.correction.FITS` on the
calibration networks alone and reports it on the held-out ones (share within ±10%, Spearman, median
error), beside the fit `Correction.fit` chooses. Then the diagnosis: the rank correlation of the single
scale's held-out errors ((predicted - measured) / measured) with each operator kind's count and table
time, and with the operator and module-call counts: an error that follows one kind says that kind's
isolated timings deviate from its cost inside a network by another factor than the rest's.

``--busy fill``/``measure``/``both`` keeps one core busy in another process while the table is filled,
while networks are measured, or both (the first two: a table used under another load than it was timed).

    python benchmarks/profiling/predictor_residuals.py --space nb201 [--archs 50] [--busy both]
        [--json out.json]
"""

from __future__ import annotations

import collections
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from _busy import busy_core, load  # this folder is on the path when run as a script
from scipy.stats import spearmanr

import nas_workbench as nw
from nas_workbench.profiling import Correction, LookupTable
from nas_workbench.profiling._device import use_threads
from nas_workbench.profiling._trace import trace
from nas_workbench.profiling.correction import FITS, fit_quality
from nas_workbench.profiling.latency import measure_latency
from nas_workbench.profiling.lut import is_compute_bound

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


def collect(space_name: str, seeds: list[int], rounds: int, busy: str, lut_dir: Path) -> list[dict]:
    """Per network: table sums (all, compute-bound, per ATen operator), counts, and measured latencies."""
    space, shape = nw.spaces.get(space_name), (3, 32, 32)
    table = LookupTable.for_device("cpu", 1, lut_dir)
    with use_threads(1):
        models = [space.build(space.random(seed), shape, 10).eval() for seed in seeds]
        traces = [trace(model, shape) for model in models]
    with busy_core(busy in ("fill", "both")):
        table.fill(op for result in traces for op in result.ops)
    rows = []
    for seed, result in zip(seeds, traces, strict=True):
        per_kind: dict[str, float] = collections.defaultdict(float)
        for op in result.ops:
            per_kind[str(op.func.overloadpacket)] += table.entries[op.key]
        rows.append(
            {
                "seed": seed,
                "operators": len(result.ops),
                "module_calls": result.module_calls,
                "table_ms": table.table_ms(result.ops),
                "compute_ms": table.compute_ms(result.ops),
                "compute_ops": sum(map(is_compute_bound, result.ops)),
                "counts": dict(collections.Counter(str(op.func.overloadpacket) for op in result.ops)),
                "per_kind_ms": dict(per_kind),
                "measured": [],
            }
        )
    with busy_core(busy in ("measure", "both")):
        for _ in range(rounds):
            for row, model in zip(rows, models, strict=True):
                row["measured"].append(measure_latency(model, shape, "cpu", 1, 1).value)
    return rows


def evaluate(rows: list[dict], calibration: int) -> dict:
    """Each fit forced, and the chosen one, fitted on the calibration rows and judged on the rest."""
    cal, held = rows[:calibration], rows[calibration:]
    measured = np.array([min(r["measured"]) for r in held])

    def columns(rs: list[dict]) -> tuple[np.ndarray, ...]:
        table, compute = (np.array([r[k] for r in rs]) for k in ("table_ms", "compute_ms"))
        ops = np.array([r["operators"] for r in rs], dtype=float)
        return table - compute, compute, ops, np.array([min(r["measured"]) for r in rs])

    def judge(c: Correction) -> dict:
        predicted = np.array([c.apply(r["table_ms"], r["operators"], r["compute_ms"]) for r in held])
        quality = fit_quality(predicted, measured)
        return {
            "within_10pct": quality.within_10pct,
            "spearman": quality.spearman,
            "median_error_pct": quality.median_abs_error_pct,
            "errors": list((predicted - measured) / measured),
            "coefficients": c.to_dict(),
        }

    out = {}
    for kind, fitter in FITS.items():
        scale, compute_scale, per_op, offset = fitter(*columns(cal))
        apart = compute_scale if kind == "kinds" else None
        out[kind] = judge(Correction(scale, per_op, offset, kind=kind, compute_scale=apart))
    other, compute, ops, cal_measured = columns(cal)
    chosen = Correction.fit(other + compute, ops, cal_measured, compute_ms=compute)
    out["chosen"] = judge(chosen) | {"kind": chosen.kind}
    return out


def residuals(rows: list[dict], errors: list[float]) -> dict[str, float]:
    """Spearman of the held-out errors with each feature of the networks."""
    features: dict[str, list[float]] = {
        "operators": [r["operators"] for r in rows],
        "module calls": [r["module_calls"] for r in rows],
        "compute-bound share of table": [r["compute_ms"] / r["table_ms"] for r in rows],
    }
    for kind in sorted({k for r in rows for k in r["counts"]}):
        features[f"count {kind}"] = [r["counts"].get(kind, 0) for r in rows]
        features[f"ms {kind}"] = [r["per_kind_ms"].get(kind, 0.0) for r in rows]
    return {
        name: float(spearmanr(values, errors).statistic)
        for name, values in features.items()
        if np.ptp(values) > 0
    }


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--calibration", type=int, default=20)
    parser.add_argument("--archs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--busy", choices=["none", "fill", "measure", "both"], default="none")
    args = parser.parse_args()
    seeds = list(range(args.calibration)) + [10_000 + i for i in range(args.archs)]
    started = load()
    with tempfile.TemporaryDirectory() as lut_dir:
        rows = collect(args.space, seeds, args.rounds, args.busy, Path(lut_dir))
    fits = evaluate(rows, args.calibration)
    spread = [max(r["measured"]) / min(r["measured"]) - 1 for r in rows]
    print(f"{'fit':<7} {'±10%':>5} {'rho':>6} {'median err':>10}  coefficients")
    for kind, q in fits.items():
        c = q["coefficients"]
        print(
            f"{q.get('kind', kind):<7} {100 * q['within_10pct']:>4.0f}% {q['spearman']:>6.3f} "
            f"{q['median_error_pct']:>9.1f}%  {Correction(**c).formula()}"
        )
    correlations = residuals(rows[args.calibration :], fits["scale"]["errors"])
    print("\nheld-out errors of one scale, Spearman with (strongest first):")
    for name, rho in sorted(correlations.items(), key=lambda kv: -abs(kv[1]))[:8]:
        print(f"  {rho:+.2f}  {name}")
    print(
        f"\n{args.space}: {args.calibration} calibration + {args.archs} held-out networks, busy core: "
        f"{args.busy}; a network's rounds differ by {100 * float(np.median(spread)):.0f}% in the median; "
        f"load {started} -> {load()} (pid {os.getpid()})"
    )
    if args.json:
        summary = {"args": vars(args) | {"json": str(args.json)}, "fits": fits}
        summary |= {"residual_spearman": correlations, "rows": rows}
        _report.write_json(args.json, summary)


if __name__ == "__main__":
    main()
