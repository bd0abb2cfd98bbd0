"""Latency predictor quality on this machine: the lookup table against measurement, FLOPs for contrast.

For each search space: calibrate the lookup table (``--calibration`` random networks, seeds 0...), then take
``--archs`` further random architectures (seeds 10000...), measure each one's latency (the minimum of
``--rounds`` profiles, in rounds over all of them, as calibration measures; the first profile's figures are
reported too) and predict it from the table, and report the Spearman rank correlation and the share
predicted within ±10% of measured (goal: at least 95% and 0.95), and that share for the same predictions
without the drift factor (``no drift``: whether re-timing the references helped). FLOPs get the same
treatment as a latency proxy: a line ``ms = a * FLOPs + b`` fitted on the same calibration networks.
``cal@end``: the calibration networks measured again in the same rounds as the held-out networks (after
each round over them, the minimum over ``--rounds``, as the held-out networks; until 2026-12-05 once, at
the end), and predicted.
Where the held-out networks miss and these miss by as much, with the same ``bias`` (median of predicted
over measured, less 1), the machine moved since the fit and the drift factor did not follow; where only
the held-out networks miss, the fit does not carry to new networks (the sample, or the table).
Also the cost of one architecture: seconds to measure (not counting time spent waiting for the machine's
measurement lock) against seconds to predict, the fit `calibrate` chose, and its leave-one-out quality.

Before the held-out networks are measured, the table's drift references are re-timed
(`profiling.drift.refresh_drift`), as a search does at its start, so predictions follow the machine's
load of the moment (a change only once a re-timing a minute later confirms it, `drift_rule.CONFIRM_S`;
``at once`` is the same predictions with the drift the rule takes from that first re-timing without the
wait, ``1 factor`` the one-factor rule's: the A/B of the rules on the same timings). ``--busy`` keeps one
core busy in another process during calibration and measurement;
``--busy-kind memory`` makes that process stream memory instead of spinning (`_busy.py`);
``--drift quiet-busy`` calibrates without that process and measures with it, ``--drift busy-quiet`` the
reverse (the table of one condition used under the other). A reference network is measured every 10
architectures; the table reports how much it moved during the run. Below the table, per space, the held-out
networks in three groups by measured latency (bias and share within ±10% of each: a fit or a drift factor
off for small or large networks only) and the drift references' ratios in the order of their size.

    python benchmarks/profiling/predictor_quality.py [--space nb201] [--archs 100] [--busy]
        [--drift quiet-busy|busy-quiet] [--json out.json]
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from _busy import add_kind_option, busy_core, load  # this folder is on the path when run as a script
from scipy.optimize import nnls

import nas_workbench as nw
from nas_workbench.profiling import LookupTable, profile
from nas_workbench.profiling._trace import trace
from nas_workbench.profiling.calibration import calibrate, fit_quality
from nas_workbench.profiling.correction import Drift
from nas_workbench.profiling.drift import refresh_drift
from nas_workbench.profiling.drift_rule import CONFIRM_S, next_drift

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: Whether one core is kept busy while calibrating and while measuring, by ``--drift`` mode.
PHASES = {"none": None, "quiet-busy": (False, True), "busy-quiet": (True, False)}


def flops_line(flops: list[float], measured: list[float]) -> tuple[float, float]:
    """``ms = a * FLOPs + b`` by least squares on relative error, a and b non-negative."""
    y = np.asarray(measured)
    design = np.column_stack([flops, np.ones_like(y)]) / y[:, None]
    (a, b), _ = nnls(design, np.ones_like(y))
    return float(a), float(b)


def run(
    space_name: str,
    archs: int,
    calibration: int,
    threads: int,
    shape: tuple[int, ...],
    lut_dir: Path,
    busy: tuple[bool, bool],
    rounds: int,
    busy_kind: str = "spin",
) -> dict:
    space = nw.spaces.get(space_name)
    started = time.perf_counter()
    with busy_core(busy[0], kind=busy_kind):
        load_calibration = load()
        cal = calibrate(
            threads=threads, spaces=[space_name], input_shape=shape, networks=calibration, directory=lut_dir
        )
        calibration_s = time.perf_counter() - started
        cal_flops, cal_ms = [], []
        cal_models = [space.build(space.random(i), shape, 10) for i in range(calibration)]
        for model in cal_models:  # the calibration networks again, for the FLOPs line
            cal_flops.append(float(trace(model, shape).flops))
            cal_ms.append(profile(model, shape, metrics=["latency_ms"], threads=threads).latency_ms)
    a, b = flops_line(cal_flops, cal_ms)

    with busy_core(busy[1], kind=busy_kind):
        load_measurement = load()
        table = LookupTable.for_device("cpu", threads, lut_dir)
        name = table.correction_name(space_name, (1, *shape))
        before = table.drift.get(name, Drift())
        drift = refresh_drift(table, shape, space=space_name)  # as a search does at its start
        one_factor = drift and rule_at_once(before, drift, by_size=False)
        at_once = drift and rule_at_once(before, drift, by_size=True)
        reference = space.build(space.random(0), shape, 10)
        moved: list[float] = []
        rows, models = [], []
        for i in range(archs):
            if i % 10 == 0:
                moved.append(profile(reference, shape, metrics=["latency_ms"], threads=threads).latency_ms)
            spec = space.random(10_000 + i)
            model = space.build(spec, shape, 10)
            models.append(model)
            t0 = time.perf_counter()
            measured = profile(model, shape, metrics=["latency_ms"], threads=threads)
            t1 = time.perf_counter()
            predicted = profile(model, shape, metrics=["flops", "latency_ms"], method="proxy",
                                threads=threads, lut=table, space=space_name)  # fmt: skip
            t2 = time.perf_counter()
            lat, timing = predicted["latency_ms"].detail, measured["latency_ms"].detail
            rows.append({
                "arch": spec.id,
                "measured_ms": measured.latency_ms,
                "first_profile_ms": measured.latency_ms,
                "measured_stable": timing["stable"],
                "predicted_ms": predicted.latency_ms,
                "flops": predicted.flops,
                "table_ms": lat["table_ms"],
                "drift_factor": lat["drift_factor"],
                "operators": lat["operators"],
                "operators_timed_now": lat["operators_timed_now"],
                "measure_s": t1 - t0 - timing["lock_wait_s"],
                "predict_s": t2 - t1,
            })  # fmt: skip
        cal_again: list[list[float]] = [[] for _ in cal_models]
        for further in range(rounds):  # the calibration networks, then further rounds over all of them
            for row, model in zip(rows, models, strict=True):
                if further:
                    again = profile(model, shape, metrics=["latency_ms"], threads=threads).latency_ms
                    row["measured_ms"] = min(row["measured_ms"], again)
            for figures, model in zip(cal_again, cal_models, strict=True):
                figures.append(profile(model, shape, metrics=["latency_ms"], threads=threads).latency_ms)
        at_end = [
            (min(figures),
             profile(model, shape, metrics=["latency_ms"], method="proxy", threads=threads, lut=table,
                     space=space_name).latency_ms)
            for figures, model in zip(cal_again, cal_models, strict=True)
        ]  # fmt: skip
        load_end = load()
    measured_ms = [r["measured_ms"] for r in rows]
    old_factor = one_factor.factor if one_factor else 1.0
    old_rule = [r["predicted_ms"] / r["drift_factor"] * old_factor for r in rows]
    undrifted = [r["predicted_ms"] / r["drift_factor"] for r in rows]
    at_once_rule = [p * at_once.at(p) if at_once else p for p in undrifted]
    correction = cal.table.corrections[name]
    return {
        "space": space_name,
        "archs": archs,
        "threads": threads,
        "input_shape": list(shape),
        "busy_calibration": busy[0],
        "busy_measurement": busy[1],
        "busy_kind": busy_kind,
        "load_calibration": load_calibration,
        "load_measurement": load_measurement,
        "load_end": load_end,
        "calibration_networks": calibration,
        "calibration_s": round(calibration_s, 1),
        "calibration_fit": str(cal.fits[space_name]),
        "correction": correction.to_dict(),
        "drift_factor": drift.factor if drift else None,
        "drift": drift.to_dict() if drift else None,
        "rounds": rounds,
        "lut": asdict(fit_quality([r["predicted_ms"] for r in rows], measured_ms)),
        "one_factor_drift": one_factor.to_dict() if one_factor else None,
        "lut_one_factor": asdict(fit_quality(old_rule, measured_ms)),
        "one_factor_bias": bias(old_rule, measured_ms),
        "at_once_drift": at_once.to_dict() if at_once else None,
        "lut_at_once": asdict(fit_quality(at_once_rule, measured_ms)),
        "at_once_bias": bias(at_once_rule, measured_ms),
        "lut_without_drift": asdict(
            fit_quality([r["predicted_ms"] / r["drift_factor"] for r in rows], measured_ms)
        ),
        "lut_vs_first_profile": asdict(
            fit_quality([r["predicted_ms"] for r in rows], [r["first_profile_ms"] for r in rows])
        ),
        "flops": asdict(fit_quality([a * r["flops"] + b for r in rows], measured_ms)),
        "bias": bias([r["predicted_ms"] for r in rows], measured_ms),
        "calibration_at_end": asdict(fit_quality([p for _, p in at_end], [m for m, _ in at_end])),
        "calibration_at_end_bias": bias([p for _, p in at_end], [m for m, _ in at_end]),
        "calibration_at_end_ms": at_end,
        "unstable_measurements": sum(not r["measured_stable"] for r in rows),
        "reference_ms": {"calibration": cal_ms[0], "during_run": moved},
        "reference_range": max(moved) / min(moved) - 1,
        "measure_s_median": statistics.median(r["measure_s"] for r in rows),
        "predict_s_median": statistics.median(r["predict_s"] for r in rows),
        "measured_ms_range": [min(measured_ms), max(measured_ms)],
        "by_size": by_size([r["predicted_ms"] for r in rows], measured_ms),
        "drift_factors_used": sorted({round(r["drift_factor"], 3) for r in rows}),
        "rows": rows,
    }  # fmt: skip


def rule_at_once(before: Drift, drift: Drift, by_size: bool) -> Drift:
    """The drift `drift_rule.next_drift` takes from the same re-timing of the references as ``drift``, from
    the drift ``before`` it, with a change adopted at once (as if a re-timing `CONFIRM_S` earlier had seen
    the same): ``by_size=False`` is the one-factor rule before 2026-12-05, ``by_size=True`` the
    rule until 06:30 UTC that day (and, for a speed-up, until 2026-12-06); the A/B on the same timings."""
    now = [ratio * ms for ratio, ms in zip(drift.ratios, drift.reference_ms, strict=True)]
    seen = replace(before, pending_ratios=list(drift.ratios), pending_at=time.time() - 2 * CONFIRM_S)
    return next_drift(seen, drift.reference_ms, True, now, drift.rounds, drift.settled, None, by_size=by_size)


def bias(predicted: list[float], measured: list[float]) -> float:
    """The median of predicted over measured, less 1: how far predictions sit off as a whole."""
    return statistics.median(p / m for p, m in zip(predicted, measured, strict=True)) - 1


def by_size(predicted: list[float], measured: list[float], parts: int = 3) -> list[dict]:
    """The networks in ``parts`` groups by measured latency, smallest first: each group's range (ms), bias
    and share within ±10%, to tell a fit or a drift factor that is off for small or large networks only."""
    pairs = sorted(zip(measured, predicted, strict=True))
    groups = [pairs[i * len(pairs) // parts : (i + 1) * len(pairs) // parts] for i in range(parts)]
    return [
        {
            "ms_range": [group[0][0], group[-1][0]],
            "bias": bias([p for _, p in group], [m for m, _ in group]),
            "within_10pct": sum(abs(p / m - 1) <= 0.1 for m, p in group) / len(group),
        }
        for group in groups
        if group
    ]


def _sizes(result: dict) -> str:
    """One line per space: bias and share within ±10% by size (`by_size`), the drift references' ratios
    in the order of their baseline latency, a change they showed that waits for its confirmation
    (`drift_rule`), and the drift factors the predictions used."""
    parts = ", ".join(
        f"{g['ms_range'][0]:.2f}-{g['ms_range'][1]:.2f} ms: bias {100 * g['bias']:+.1f}%, "
        f"{100 * g['within_10pct']:.0f}% within ±10%"
        for g in result["by_size"]
    )
    drift = result["drift"] or {}
    references = sorted(zip(drift.get("reference_ms") or [], drift.get("ratios") or [], strict=False))
    ratios = ", ".join(f"{ms:.2f} ms {ratio:.3f}" for ms, ratio in references) or "-"
    pending = drift.get("pending_ratios") or []
    seen = f"; a change seen, not adopted: {statistics.median(pending):.3f}" if pending else ""
    used = ", ".join(f"{f:.3f}" for f in result["drift_factors_used"])
    return (
        f"{result['space']} by size: {parts}; references (baseline ms, ratio): {ratios}{seen}; "
        f"factors the predictions used: {used}"
    )


def _drift(drift: dict | None) -> str:
    """The drift factor for the table: "-" when none was measured; for a size-dependent line, its factor at
    the smallest / the largest reference; a "?" after it when its rounds (or its baseline's) never settled,
    so the previous factor was kept (`profiling.drift`), and the range of the references' ratios."""
    if drift is None:
        return "-"
    ratios = drift["ratios"]
    spread = f" [{min(ratios):.2f}-{max(ratios):.2f}]" if ratios else ""
    adopted = Drift(**drift)
    factor = (
        f"{adopted.at(min(adopted.span_ms)):.3f}/{adopted.at(max(adopted.span_ms)):.3f}"
        if adopted.slope
        else f"{adopted.factor:.3f}"
    )
    return f"{factor}{'' if drift['settled'] else '?'}{spread}"


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--space", action="append", help="search space (repeatable; default: all)")
    parser.add_argument("--archs", type=int, default=100)
    parser.add_argument("--calibration", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="profiles per held-out network (the minimum)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--input-shape", default="3,32,32")
    parser.add_argument(
        "--busy", action="store_true", help="one core kept busy by another process throughout"
    )
    add_kind_option(parser)
    parser.add_argument("--drift", choices=list(PHASES), default="none", help="calibrate and measure apart")
    parser.add_argument("--lut-dir", type=Path, help="lookup tables (default: a fresh temporary folder)")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.input_shape.split(","))
    busy = PHASES[args.drift] or (args.busy, args.busy)
    results = []
    with contextlib.ExitStack() as stack:
        lut_dir = args.lut_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for name in args.space or nw.spaces.list():
            results.append(
                run(
                    name,
                    args.archs,
                    args.calibration,
                    args.threads,
                    shape,
                    lut_dir,
                    busy,
                    args.rounds,
                    args.busy_kind,
                )
            )
    header = (
        f"{'space':<13} {'archs':>5} {'fit':>6} {'LUT rho':>8} {'LUT ±10%':>9} {'median err':>10} "
        f"{'bias':>6} {'1 factor ±10%':>13} {'bias':>6} {'at once ±10%':>12} {'bias':>6} "
        f"{'cal@end ±10%':>12} {'bias':>6} {'1st ±10%':>8} "
        f"{'no drift ±10%':>13} "
        f"{'FLOPs rho':>9} {'FLOPs ±10%':>10} {'drift [ratios]':>19} {'moved':>6} {'unstable':>8} "
        f"{'measure s':>9} {'predict s':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        lut, flops = r["lut"], r["flops"]
        print(
            f"{r['space']:<13} {r['archs']:>5} {r['correction']['kind']:>6} {lut['spearman']:>8.3f} "
            f"{100 * lut['within_10pct']:>8.0f}% {lut['median_abs_error_pct']:>9.1f}% "
            f"{100 * r['bias']:>+5.1f}% {100 * r['lut_one_factor']['within_10pct']:>12.0f}% "
            f"{100 * r['one_factor_bias']:>+5.1f}% {100 * r['lut_at_once']['within_10pct']:>11.0f}% "
            f"{100 * r['at_once_bias']:>+5.1f}% {100 * r['calibration_at_end']['within_10pct']:>11.0f}% "
            f"{100 * r['calibration_at_end_bias']:>+5.1f}% "
            f"{100 * r['lut_vs_first_profile']['within_10pct']:>7.0f}% "
            f"{100 * r['lut_without_drift']['within_10pct']:>12.0f}% "
            f"{flops['spearman']:>9.3f} {100 * flops['within_10pct']:>9.0f}% {_drift(r['drift']):>19} "
            f"{100 * r['reference_range']:>5.0f}% {r['unstable_measurements']:>8} "
            f"{r['measure_s_median']:>9.3f} {r['predict_s_median']:>9.3f}"
        )
    for r in results:
        print(_sizes(r))
    phases = {False: "quiet", True: f"busy core ({args.busy_kind})"}
    print(
        f"calibrated {phases[busy[0]]} (load {results[0]['load_calibration']}), measured {phases[busy[1]]} "
        f"(load {results[0]['load_measurement']} -> {results[-1]['load_end']}); threads {args.threads}, "
        f"input {args.input_shape}; goal: ≥ 95% within ±10% and Spearman ≥ 0.95; drift: the references now "
        f"over their calibration baseline ('?': rounds never settled, the previous factor kept; [the "
        f"references' ratios]; a/b: a size-dependent line's factor at the smallest/largest reference); "
        f"1 factor: the same predictions with the drift the one-factor rule (before 2026-12-05) takes "
        f"from the same re-timing, a change adopted at once; at once: the rule with a change adopted at "
        f"once (a slowdown until 2026-12-05 06:30, a speed-up until 2026-12-06); bias: median "
        f"predicted/measured - 1; cal@end: the calibration networks measured again in the held-out "
        f"networks' rounds (the minimum, as theirs) and predicted"
    )
    _report.write_json(args.json, {"drift": args.drift, "busy": args.busy, "spaces": results})


if __name__ == "__main__":
    main()
