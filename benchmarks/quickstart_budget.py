"""Tutorial 01's search, several seeds: how many trials land over its "p67" latency budget, and how many would
if the machine ran a few percent slower or faster than when the budget was resolved.

The tutorial says about a third of the space is over the budget, the search spends a smaller share of its
trials there (budget-aware TPE proposes mostly within it), and the trials gather at the budget's edge, so
a small change in the machine's speed moves several across it. This runs the tutorial's search (chain space,
TPE, accuracy and latency, budget "p67", 20 trials of 6 epochs, one thread; no widget) once per seed in a
scratch folder with a profiling cache of its own, and prints per seed: the resolved budget and its bootstrap
interval, the trials over it (all, and among the first ten, TPE's random start), and the trials whose
measured latency times 0.9, 1.1 or 1.2 exceeds the budget (the count a machine 10% faster, 10% or 20%
slower during the search than at the budget's resolution would have given, to first order).

    python benchmarks/quickstart_budget.py                   # seeds 0-5, as the tutorial's text quotes
    python benchmarks/quickstart_budget.py --seeds 0 --busy  # the notebook's seed, one core kept busy
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import _report  # this folder is on the path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parent / "profiling"))
from _busy import busy_core, load  # a sibling folder of scripts, not a package

#: Speed changes of the machine between the budget's resolution and the trials, as factors on latency.
SHIFTS = (0.9, 1.1, 1.2)


def run_seed(seed: int, epochs: int, trials: int, folder: Path) -> dict[str, object]:
    """Tutorial 01's search with ``seed``, stored in ``folder``; its budget and over-budget counts."""
    import optuna

    import nas_workbench as nw

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a table, not a log line per study
    config = nw.SearchConfig(
        space="chain",
        strategy="tpe",
        objectives=["accuracy", "latency_ms"],
        budget={"latency_ms": "p67"},
        fidelity=nw.Fidelity(epochs=epochs),
        n_trials=trials,
        threads=1,
        storage=f"sqlite:///{folder / f'seed{seed}.db'}",
        study_name="quickstart",
        seed=seed,
    )
    load_start, started = os.getloadavg()[0], time.perf_counter()
    run = nw.search(config).run()
    budget = run.resolved_budget["latency_ms"]
    results = run.results()
    latencies = [r.value("latency_ms") for r in results]
    over = [r.status == "infeasible" for r in results]
    return {
        "seed": seed,
        "budget_ms": budget.value,
        "interval_ms": budget.interval,
        "trials": len(results),
        "over": sum(over),
        "over_first_10": sum(over[:10]),
        **{f"over_if_x{k}": sum(x * k > budget.value for x in latencies) for k in SHIFTS},
        "wall_s": time.perf_counter() - started,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
    }


def main() -> int:
    parser = _report.parser(__doc__, busy=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(6)), help="default: 0-5")
    parser.add_argument("--epochs", type=int, default=6, help="training epochs per trial (default 6)")
    parser.add_argument("--trials", type=int, default=20, help="trials per search (default 20)")
    args = parser.parse_args()
    shifts = " ".join(f"{'x' + str(k):>6}" for k in SHIFTS)
    header = f"{'seed':>4} {'budget ms':>9} {'90% interval':>13} {'over':>7} {'first 10':>8} {shifts}"
    print(f"{header} {'s':>5} load")
    rows = []
    with tempfile.TemporaryDirectory() as scratch, busy_core(args.busy):
        os.environ["NAS_WORKBENCH_CACHE"] = str(Path(scratch) / "cache")  # before the package reads it
        for seed in args.seeds:
            r = run_seed(seed, args.epochs, args.trials, Path(scratch))
            rows.append({**r, "busy_core": args.busy})
            low, high = r["interval_ms"]  # type: ignore[misc]
            counts = " ".join(f"{r[f'over_if_x{k}']:>6}" for k in SHIFTS)
            print(
                f"{seed:>4} {r['budget_ms']:>9.3f} {low:>6.3f}-{high:<6.3f} {r['over']:>3}/{r['trials']:<3} "
                f"{r['over_first_10']:>8} {counts} {r['wall_s']:>5.0f} "
                f"{r['load_start']:.1f}->{r['load_end']:.1f}",
                flush=True,
            )
    print(f"load average at the end: {load()}")
    _report.write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
