"""Every sampling strategy through the engine on digits at low fidelity, random search as the baseline.

Each strategy runs ``nas_workbench.search`` with the same settings (space, objective "accuracy", trials,
low-fidelity training) for each seed, on its own SQLite study, the strategies in turn seed by seed (a
drift in the machine's load falls on all of them alike); the table gives the best validation accuracy
found and that architecture's test accuracy after the given trial counts, mean ± standard deviation over
the seeds, and the time per trial spent outside training (sampling, building, profiling, bookkeeping).
The JSON holds the mean best-found curves against trials and against wall time.

Populations are sized to the budget (``population_size`` 10 for evolution and NSGA-II) so that the
evolutionary strategies evolve within a few dozen trials; every other option is the strategy's default.

    python benchmarks/strategies/digits.py --seeds 10 --trials 30 \\
        --json benchmarks/results/strategies_digits.json

``--baseline-trials N`` gives the baselines (``--baselines``, random search by default) their own trial
count in the same run (issue #20's digits goal compares ``proxy_guided`` after 10 trials with random
search's best after 30, and with TPE at equal wall time: TPE run for 30 trials covers every time at which
``proxy_guided``'s 10 complete, not only those before TPE's own 10th):

    python benchmarks/strategies/digits.py --seeds 10 --trials 10 --baseline-trials 30 --report 10,30 \\
        --strategies random,tpe,proxy_guided --baselines random,tpe

``--score-share S`` runs ``proxy_guided`` with that ``score_share`` (its lazy pool withholds the zero-cost
scores until a trial has completed, then drops them once a trial's scorings cost more than that share of
the median training; 0 scores from the first trial and keeps them: the strategy's default is 0.25);
``--options`` gives any strategy's options as JSON,
e.g. ``'{"proxy_guided": {"use_scores": false}}'`` (rank by the counted costs alone, no zero-cost
proxy: the parameter count costs a tenth of synflow and FLOPs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import optuna
import torch

import nas_workbench as nw
from nas_workbench.exceptions import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

BUDGET_OPTIONS = {
    "evolution": {"population_size": 10, "tournament_size": 3},
    "nsga2": {"population_size": 10},
}


def run_one(name: str, seed: int, args: argparse.Namespace, folder: Path) -> dict[str, list[float]]:
    trials = trials_of(name, args)
    options = dict(BUDGET_OPTIONS.get(name, {})) | args.options.get(name, {})
    if name == "proxy_guided" and args.score_share is not None:
        options["score_share"] = args.score_share
    config = nw.SearchConfig(
        space=args.space,
        strategy=name,
        strategy_options=options,
        objectives=["accuracy"],
        n_trials=trials,
        seed=seed,
        fidelity=nw.Fidelity(epochs=args.epochs, subset=args.subset),
        profile_metrics=["params", "flops"],  # counted, never timed: latency is no objective here
        storage=f"sqlite:///{folder / f'{name}-{seed}.db'}",
    )
    started = time.time()
    study = nw.search(config).run().study
    best, best_test = -1.0, 0.0
    curve, test_curve, wall, outside = [], [], [], []
    for trial in sorted(study.trials, key=lambda t: t.datetime_complete):
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value > best:
            best, best_test = trial.value, trial.user_attrs["metrics"]["test_accuracy"]["value"]
        curve.append(best)
        test_curve.append(best_test)
        wall.append(trial.datetime_complete.timestamp() - started)
        timings = trial.user_attrs.get("timings", {})
        outside.append(trial.duration.total_seconds() - timings.get("evaluate_s", 0.0))
    return {"valid": curve, "test": test_curve, "wall_s": wall, "outside_s": outside}


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("--space", default="chain")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="the seeds run are first-seed onwards")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument(
        "--baseline-trials", type=int, default=None, help="the baselines' trials (default: --trials)"
    )
    parser.add_argument(
        "--baselines", default="random", help="strategies that run --baseline-trials (default: random)"
    )
    parser.add_argument("--report", default="15,30", help="comma-separated trial counts to report")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--subset", type=float, default=1.0, help="fraction of the training split")
    parser.add_argument("--strategies", default=None, help="comma-separated (default: every sampling one)")
    parser.add_argument(
        "--score-share", type=float, default=None, help="proxy_guided's score_share (default: the strategy's)"
    )
    parser.add_argument(
        "--options",
        type=json.loads,
        default={},
        help='strategy options as JSON, e.g. \'{"proxy_guided": {"use_scores": false}}\' (default: none)',
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)

    longest = max(args.trials, args.baseline_trials or 0)
    checkpoints = [int(c) for c in args.report.split(",") if int(c) <= longest]
    names = args.strategies.split(",") if args.strategies else nw.strategies.list()
    names = ["random", *[n for n in names if n != "random" and not nw.strategies.get(n).relaxation]]
    print(
        f"{args.space} space on digits, {args.epochs} epochs on {args.subset:.0%} of the training split, "
        f"{args.seeds} seeds; best validation accuracy (its test accuracy)"
    )
    print(
        f"{'strategy':<10}"
        + "".join(f"{f'@ {c} trials':>24}" for c in checkpoints)
        + f"{'s/trial outside':>17}"
    )
    results = {}
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    done: dict[str, list[dict[str, list[float]]]] = {}
    refused: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:  # each seed runs the strategies in turn: a drift in load falls on all alike
            for name in (n for n in names if n not in refused):
                try:
                    done.setdefault(name, []).append(run_one(name, seed, args, Path(folder)))
                except ConfigError as refusal:
                    refused[name] = str(refusal)
    for name in names:
        if name in refused:
            print(f"{name:<10}refused: {refused[name]}")
            results[name] = {"refused": refused[name]}
            continue
        runs = done[name]
        summary = {}
        cells = []
        for c in (c for c in checkpoints if c <= trials_of(name, args)):
            valid = [r["valid"][c - 1] for r in runs]
            test = [r["test"][c - 1] for r in runs]
            summary[c] = {
                "valid_mean": statistics.mean(valid),
                "valid_std": statistics.stdev(valid) if len(valid) > 1 else 0.0,
                "test_mean": statistics.mean(test),
                "test_std": statistics.stdev(test) if len(test) > 1 else 0.0,
            }
            mean, spread = summary[c]["valid_mean"], summary[c]["valid_std"]
            cells.append(f"{mean:.3f} ± {spread:.3f} ({summary[c]['test_mean']:.3f})")
        cells += ["—"] * (len(checkpoints) - len(cells))
        outside = statistics.mean(s for r in runs for s in r["outside_s"])
        print(f"{name:<10}" + "".join(f"{cell:>24}" for cell in cells) + f"{outside:>17.3f}", flush=True)
        results[name] = {
            "at": summary,
            "outside_s_per_trial": outside,
            "mean_curve_valid": [
                statistics.mean(r["valid"][i] for r in runs) for i in range(trials_of(name, args))
            ],
            "mean_curve_wall_s": [
                statistics.mean(r["wall_s"][i] for r in runs) for i in range(trials_of(name, args))
            ],
            "runs": runs,
        }
    if "runs" in results.get("random", {}):
        print(against_baseline(results, names[1:], min(checkpoints)))
    for name in names[1:]:
        if "runs" in results[name] and name != "tpe" and "runs" in results.get("tpe", {}):
            print(equal_wall_time(name, results[name]["runs"], results["tpe"]["runs"]))
            print(mean_at_equal_wall_time(name, results[name]["runs"], results["tpe"]["runs"]))
    _report.write_json(args.json, {"settings": vars(args) | {"json": None}, "results": results})
    return 0


def trials_of(name: str, args: argparse.Namespace) -> int:
    """The trials strategy ``name`` runs: ``--baseline-trials`` for the ``--baselines`` when given, else
    ``--trials``."""
    baseline = name in args.baselines.split(",")
    return args.baseline_trials if baseline and args.baseline_trials else args.trials


def against_baseline(results: dict[str, dict], names: list[str], at: int) -> str:
    """Each strategy's best validation accuracy after ``at`` trials against random search's mean best after
    all of its trials (issue #20's digits goal): the means, and the seeds at or above random's mean."""
    baseline = results["random"]["runs"]
    target = statistics.mean(r["valid"][-1] for r in baseline)
    parts = []
    for name in (n for n in names if "runs" in results[n]):
        found = [r["valid"][at - 1] for r in results[name]["runs"]]
        above = sum(v >= target for v in found)
        parts.append(f"{name} {statistics.mean(found):.4f} ({above} of {len(found)} seeds at or above)")
    return (
        f"random's mean best after {len(baseline[0]['valid'])} trials {target:.4f}; after {at} trials: "
        + ", ".join(parts)
    )


def equal_wall_time(name: str, runs: list[dict[str, list[float]]], tpe: list[dict[str, list[float]]]) -> str:
    """Per seed, the best validation accuracy ``name`` had found at each of its trials' completion times
    against TPE's best found by the same wall time (the time to build, score and train counted alike):
    how often and by how much it is worse."""
    worse, gaps = 0, []
    for run, other in zip(runs, tpe, strict=True):
        for best, at in zip(run["valid"], run["wall_s"], strict=True):
            done = [v for v, t in zip(other["valid"], other["wall_s"], strict=True) if t <= at]
            if done and best < done[-1]:
                worse += 1
                gaps.append(done[-1] - best)
    points = sum(len(r["valid"]) for r in runs)
    largest = f", by at most {max(gaps):.4f}" if gaps else ""
    return f"{name} at equal wall time: worse than tpe at {worse} of {points} trial completions{largest}"


def mean_at_equal_wall_time(
    name: str, runs: list[dict[str, list[float]]], tpe: list[dict[str, list[float]]]
) -> str:
    """The mean over the seeds of the best validation accuracy found by each wall time, ``name`` against
    TPE, at every trial completion of either (from the time every run of both has completed a trial to the
    time the first run ends): how often ``name``'s mean is below TPE's and by how much. A lucky early trial
    of one seed's TPE weighs a tenth here, where `equal_wall_time` counts it against every completion."""

    def best_by(run: dict[str, list[float]], at: float) -> float:
        return max(v for v, t in zip(run["valid"], run["wall_s"], strict=True) if t <= at)

    both = runs + tpe
    start, end = max(r["wall_s"][0] for r in both), min(r["wall_s"][-1] for r in both)
    times = sorted({t for r in both for t in r["wall_s"] if start <= t <= end})
    gaps = [
        statistics.mean(best_by(r, t) for r in tpe) - statistics.mean(best_by(r, t) for r in runs)
        for t in times
    ]
    worse = [g for g in gaps if g > 0]
    largest = f", by at most {max(worse):.4f}" if worse else ""
    return (
        f"{name} mean over seeds at equal wall time ({start:.1f}-{end:.1f} s): below tpe's at "
        f"{len(worse)} of {len(times)} completion times{largest}"
    )


if __name__ == "__main__":
    sys.exit(main())
