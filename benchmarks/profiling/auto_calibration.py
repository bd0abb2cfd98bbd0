"""How long the first proxy prediction takes when it has to calibrate the lookup table itself.

For each space: a fresh, empty table; one ``predict_latency`` of a random network with ``space`` set,
which finds no fitted correction and runs `calibrate.auto_calibrate` (goal: under a minute on 2 cores).
Prints the seconds, the fit chosen and its leave-one-out quality.

    python benchmarks/profiling/auto_calibration.py [--space chain] [--busy] [--json out.json]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _busy import busy_core, load  # this folder is on the path when run as a script

import nas_workbench as nw
from nas_workbench.profiling import LookupTable, predict_latency

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


def run(space_name: str, shape: tuple[int, ...], threads: int) -> dict:
    space = nw.spaces.get(space_name)
    model = space.build(space.random(123), shape, 10).eval()
    with tempfile.TemporaryDirectory() as tmp:
        table = LookupTable.for_device("cpu", threads, Path(tmp))
        started, before = time.perf_counter(), load()
        prediction = predict_latency(model, shape, table, space=space_name)
        seconds = time.perf_counter() - started
    correction = table.corrections[prediction.detail["correction"]]
    return {"space": space_name, "seconds": seconds, "load_start": before, "load_end": load(),
            "correction": correction.to_dict()}  # fmt: skip


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    parser.add_argument("--space", action="append", help="search space (repeatable; default: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--input-shape", default="3,32,32")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.input_shape.split(","))
    with busy_core(args.busy):
        results = [run(name, shape, args.threads) for name in args.space or nw.spaces.list()]
    print(f"{'space':<13} {'seconds':>7} {'fit':>6} {'LOO ±10%':>8} {'LOO rho':>7}  load")
    for r in results:
        q = r["correction"]["quality"]
        print(
            f"{r['space']:<13} {r['seconds']:>7.1f} {r['correction']['kind']:>6} "
            f"{100 * q['loo_within_10pct']:>7.0f}% {q['loo_spearman']:>7.3f}  "
            f"{r['load_start']} -> {r['load_end']}"
        )
    print(f"input {args.input_shape}, threads {args.threads}, busy core {'yes' if args.busy else 'no'}")
    _report.write_json(args.json, results)


if __name__ == "__main__":
    main()
