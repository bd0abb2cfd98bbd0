"""How stable a relative latency budget is: the demo's "p60" resolved several times on this machine.

Each round resolves the budget as a new demo study would (the demo's space, data shape, threads and
profiling method; `nas_workbench.engine.relative.resolve_budget`), with ``--sample-size`` random
architectures (default: the workbench's `SAMPLE_SIZE`). The table gives each round's value, its bootstrap
interval, the seconds it took and the load; the footer the spread of the values over the rounds
(coefficient of variation, and the largest over the smallest). Run it quiet and with ``--busy`` (one core
kept busy) and compare: a budget that fits the machine should not move with its load.

    python benchmarks/profiling/relative_budget.py [--rounds 4] [--budget p60] [--sample-size 32] [--busy]
        [--json out.json]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from _busy import busy_core, load  # this folder is on the path when run as a script

import nas_workbench as nw
from nas_workbench.cli import DEMO_CONFIG
from nas_workbench.engine.preflight import Networks
from nas_workbench.engine.relative import SAMPLE_SIZE, resolve_budget
from nas_workbench.task import load_task

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--budget", default=DEMO_CONFIG.budget["latency_ms"])
    parser.add_argument("--sample-size", type=int, default=SAMPLE_SIZE)
    args = parser.parse_args()
    config = DEMO_CONFIG
    space = nw.spaces.get(config.space, **config.space_options)
    networks = Networks.of(config, load_task("digits", seed=config.seed))
    rounds = []
    with busy_core(args.busy):
        for _ in range(args.rounds):
            started, t0 = load(), time.perf_counter()
            resolved = resolve_budget(
                space,
                "latency_ms",
                args.budget,
                networks.value(space, "latency_ms"),
                device=config.device,
                fixed_choices=config.fixed_choices,
                sample_size=args.sample_size,
            )
            rounds.append(
                {
                    "value_ms": resolved.value,
                    "interval_ms": resolved.interval,
                    "seconds": time.perf_counter() - t0,
                    "load": f"{started} -> {load()}",
                    "detail": resolved.detail,
                }
            )
    print(f"{'round':>5} {'ms':>7} {'interval ms':>15} {'s':>6}  load")
    for i, r in enumerate(rounds):
        low, high = r["interval_ms"]
        print(f"{i:>5} {r['value_ms']:>7.4f} {low:>7.4f}-{high:<7.4f} {r['seconds']:>6.1f}  {r['load']}")
    values = [r["value_ms"] for r in rounds]
    spread = statistics.stdev(values) / statistics.mean(values) if len(values) > 1 else 0.0
    print(
        f"{args.budget} over {args.sample_size} networks ({config.space}, {config.threads} thread, "
        f"{config.profiling_method}): CV {100 * spread:.1f}%, "
        f"largest / smallest {max(values) / min(values):.3f}; "
        f"busy core {'yes' if args.busy else 'no'}"
    )
    if args.json:
        summary = {"budget": args.budget, "sample_size": args.sample_size, "busy": args.busy, "cv": spread}
        _report.write_json(args.json, {**summary, "rounds": rounds})


if __name__ == "__main__":
    main()
