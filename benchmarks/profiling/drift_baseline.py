"""Do the drift references, re-timed, read what the calibration read? Their baseline against re-timings.

The drift factor (`nas_workbench/profiling/drift.py`) is the references' latency now over their baseline,
the calibration's own figures of them. On the Intel Xeon model 207 VM (2026-12-06) a re-timing right after
calibration read 11-17% below that baseline while the held-out networks did not run faster. This
calibrates one space (``--calibration`` networks, as `calibrate` does) and then, in one process, times:

- ``refs at once``: the references (built once, kept) re-timed as `drift.refresh_drift` does, right away;
- ``cal again``: every calibration network rebuilt and timed in ``--rounds`` rounds as `calibrate` does (the
  minimum), over its calibration figure: the references' share of it against the other networks';
- ``refs after cal``: the kept references again; ``refs rebuilt``: newly built ones;
- ``held-out``: ``--held-out`` new networks, each profiled once (a first profile, as
  `predictor_quality.py` measures them), against the table's prediction without drift (bias: median
  predicted over measured, less 1);
- ``refs after held-out``: the kept references again; ``refs fresh process``: built and timed in a new
  process (``--references-only``).

Ratios are over the calibration figure of each network. ``--busy`` keeps one core busy throughout.

    python benchmarks/profiling/drift_baseline.py [--space chain] [--busy] [--held-out 20] [--json out.json]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from _busy import busy_core, load  # this folder is on the path when run as a script

import nas_workbench as nw
from nas_workbench.profiling import drift, profile
from nas_workbench.profiling._trace import trace
from nas_workbench.profiling.calibration import calibrate
from nas_workbench.profiling.latency import measure_latency

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

SHAPE = (3, 32, 32)


def _references(space: str, seeds: list[int]) -> tuple[list[float], int, bool]:
    """The references of ``seeds`` built now and timed as `drift.refresh_drift` times them."""
    models = drift.reference_networks(space, SHAPE, seeds=seeds)
    return _retimed(models)


def _retimed(models: list[torch.nn.Module]) -> tuple[list[float], int, bool]:
    return drift.minima_over_rounds(
        lambda: [measure_latency(m, SHAPE, "cpu", 1, 1, drift.DRIFT_TIMING).value for m in models]
    )


def _step(label: str, ms: list[float], rounds: int, steady: bool, baseline: list[float], t0: float) -> dict:
    ratios = [n / b for n, b in zip(ms, baseline, strict=True)]
    return {"step": label, "ratios": ratios, "rounds": rounds, "settled": steady,
            "at_s": round(time.perf_counter() - t0, 1), "load": load()}  # fmt: skip


def run(space_name: str, calibration: int, rounds: int, held_out: int, folder: Path) -> dict:
    space = nw.spaces.get(space_name)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    cal = calibrate(threads=1, spaces=[space_name], input_shape=SHAPE, networks=calibration, directory=folder)
    table = cal.table
    name = table.correction_name(space_name, (1, *SHAPE))
    base = table.drift[name]
    seeds, baseline = list(base.references), list(base.reference_ms)
    figures = dict(cal.measured[space_name])
    steps = []
    kept = drift.reference_networks(space_name, SHAPE, seeds=seeds)
    steps.append(_step("refs at once", *_split(_retimed(kept)), baseline=baseline, t0=t0))
    models = {seed: space.build(space.random(seed), SHAPE, 10).eval() for seed in figures}
    again: dict[int, list[float]] = {seed: [] for seed in figures}
    for _ in range(rounds):
        for seed, model in models.items():
            again[seed].append(measure_latency(model, SHAPE, "cpu", 1, 1).value)
    cal_ratio = {seed: min(values) / figures[seed] for seed, values in again.items()}
    steps.append(_step("refs after cal", *_split(_retimed(kept)), baseline=baseline, t0=t0))
    steps.append(_step("refs rebuilt", *_split(_references(space_name, seeds)), baseline=baseline, t0=t0))
    correction = table.corrections[name]
    pairs = []
    for i in range(held_out):
        model = space.build(space.random(10_000 + i), SHAPE, 10).eval()
        measured = profile(model, SHAPE, metrics=["latency_ms"], threads=1).latency_ms
        ops = trace(model, SHAPE, 1).ops
        table.fill(ops)
        pairs.append((correction.apply(table.table_ms(ops), len(ops), table.compute_ms(ops)), measured))
    steps.append(_step("refs after held-out", *_split(_retimed(kept)), baseline=baseline, t0=t0))
    fresh = subprocess.run(
        [sys.executable, __file__, "--space", space_name, "--references-only", ",".join(map(str, seeds))],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    steps.append(_step("refs fresh process", *_split(json.loads(fresh.stdout)), baseline=baseline, t0=t0))
    others = [r for seed, r in cal_ratio.items() if seed not in seeds]
    return {
        "space": space_name,
        "references": seeds,
        "baseline_ms": baseline,
        "calibration_ms": figures,
        "calibration_again_ratio": cal_ratio,
        "cal_again_refs": statistics.median(cal_ratio[s] for s in seeds),
        "cal_again_others": statistics.median(others) if others else None,
        "held_out": pairs,
        "held_out_bias": statistics.median(p / m for p, m in pairs) - 1 if pairs else None,
        "held_out_within_10pct": sum(abs(p / m - 1) <= 0.1 for p, m in pairs) / len(pairs) if pairs else None,
        "steps": steps,
    }


def _split(timed: tuple[list[float], int, bool] | list) -> tuple[list[float], int, bool]:
    ms, taken, steady = timed
    return list(ms), int(taken), bool(steady)


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    parser.add_argument("--space", action="append", help="search space (repeatable; default: chain)")
    parser.add_argument("--calibration", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the calibration networks again")
    parser.add_argument("--held-out", type=int, default=20)
    parser.add_argument("--references-only", help="(internal) time these seeds' references, print JSON")
    args = parser.parse_args()
    if args.references_only:
        torch.set_num_threads(1)
        seeds = [int(s) for s in args.references_only.split(",")]
        print(json.dumps(_references(args.space[0], seeds)))
        return
    results = []
    with busy_core(args.busy), tempfile.TemporaryDirectory() as folder:
        started = load()
        for name in args.space or ["chain"]:
            results.append(run(name, args.calibration, args.rounds, args.held_out, Path(folder)))
        ended = load()
    for r in results:
        print(f"{r['space']}: references {r['references']}, baseline " +
              ", ".join(f"{ms:.3f}" for ms in r["baseline_ms"]) + " ms")  # fmt: skip
        for s in r["steps"]:
            ratios = ", ".join(f"{x:.3f}" for x in s["ratios"])
            median = statistics.median(s["ratios"])
            print(f"  {s['step']:<20} median {median:.3f} [{ratios}] rounds {s['rounds']} "
                  f"settled {s['settled']} at {s['at_s']} s, load {s['load']}")  # fmt: skip
        ratios = r["calibration_again_ratio"]
        print(f"  cal again: references {r['cal_again_refs']:.3f}, others {r['cal_again_others']:.3f} "
              f"(all {min(ratios.values()):.3f}-{max(ratios.values()):.3f})")  # fmt: skip
        print(f"  held-out first profiles, no drift: bias {100 * r['held_out_bias']:+.1f}%, "
              f"{100 * r['held_out_within_10pct']:.0f}% within ±10%")  # fmt: skip
    print(f"busy core {'yes' if args.busy else 'no'}, load {started} -> {ended}")
    _report.write_json(args.json, {"busy": args.busy, "load": [started, ended], "spaces": results})


if __name__ == "__main__":
    main()
