"""Search under a device latency budget on NAS-Bench-201 CIFAR-10: every strategy, random as the baseline.

Each sampler is driven exactly as the engine drives it, with plain Optuna (a table lookup needs no
engine), so the figures hold for a sampler used alone: ``study.ask()``, the "nb201" space samples the
architecture, its measured latency on the device (``nb201_latency.csv``) is set as the trial's constraint
``latency_ms`` with the engine's formula (`nas_workbench.engine.budget.constraint_values`: (latency -
budget) / budget), and the study is told the validation accuracy; an over-budget cell is not trained and
its trial ends as pruned with no value, as the engine ends it (`nas_workbench.engine.budget.OverBudget`),
so a sampler learns feasibility from the constraint alone, never from a placeholder accuracy.

Budgets sit at the 5th, 10th and 30th percentile of each device's latency over all 15,625 cells, on
Pixel 2 (HELP), Pixel 3, Raspberry Pi 4, FPGA and Eyeriss (HW-NAS-Bench). NAS-Bench-201's protocol
(`nb201_tabular`): choose by validation accuracy (``c10_valid_val_200ep``), report test accuracy
(``c10_test_200ep``). The figure is the **regret** in points: the test accuracy of the best-validation
feasible cell of the whole table minus that of the best-validation feasible cell the search queried
(0 is the exact constrained optimum; a search that queried no feasible cell scores the whole reference
accuracy). Also in the same run, for scale: **flops-greedy**, the best-validation cell among the 25
feasible cells with the most FLOPs (``nb201_cost_derived.csv``), which needs the latencies of all cells.

The samplers are given what the engine knows of a candidate before proposing it (``--costs``): its
parameter count by default, as in every search (``params_c10_M``); with ``--costs latency``, the
device's latency itself, the case of a search whose budget names a ``target_device``, where the
profile's prediction is both known in advance and what the trial is judged by, here as if the profile
were exact; with ``--costs profile``, the latency a profile fitted from ``--profile-size`` cells
measured on the device predicts (`nb201_profiles.FittedLatencies`: the cells the workbench proposes,
one profile per seed, the other devices of the table as its reference), told to the samplers and
judging each trial's budget as the engine does, while the regret is against the device's measured
latencies: the exact constrained optimum, and a choice the profile called within budget but the device
measures over it is counted (``over budget``); with ``--costs ceiling``, the latency the ceiling model
predicts (`nb201_ceiling`: gradient boosting on the edge operations, cross-fitted on the device's other
cells), told as the engine tells a predicted latency (``predicted_latency_ms``, with the budget's limit),
while each trial is judged by the cell's published latency: the bound of a search whose latency knowledge
is as good as it can be without the exact table; the same run adds **ceiling-greedy** (the best-validation
of the K cells the ceiling predicts within budget with the most FLOPs, `CEILING_CELLS`). ``optuna-tpe`` is
Optuna's own TPESampler (multivariate, grouped) driven the same way: the baseline without the
workbench's feasibility model or costs. ``auto`` is the default strategy of a `SearchConfig`: the one
the advisor recommends for one objective under this latency budget and this many trials (with ``--costs
latency``, judged on a target device).

    python benchmarks/strategies/nb201_budgeted.py /work/shared/data/nb201 --seeds 10 \\
        --json benchmarks/results/strategies_nb201_budgeted.json
    python benchmarks/strategies/nb201_budgeted.py /work/shared/data/nb201 --seeds 3 --strategies random,tpe
    python benchmarks/strategies/nb201_budgeted.py /work/shared/data/nb201 --strategies tpe,optuna-tpe \\
        --costs latency
    python benchmarks/strategies/nb201_budgeted.py /work/shared/data/nb201 --strategies auto \\
        --costs profile --profile-size 10 --scores live
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import optuna
import torch

import nas_workbench as nw
from nas_workbench.config import AUTO_STRATEGY, BUDGET_CONFIDENCE
from nas_workbench.engine.budget import constraint_values
from nas_workbench.profiling import Measurement
from nas_workbench.strategies.predicted_costs import predicted_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nb201_ceiling import cached_ceiling, ceiling_greedy, quality  # the best model of the decisions
from nb201_profiles import FittedLatencies, verified_runs  # a profile fitted from a few measurements
from nb201_scores import proxy_scores  # the cells' zero-cost scores (the project's synflow, cached)
from nb201_tabular import load_table, mean_std  # the sibling benchmark's NB201 protocol

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: Device name → latency column of ``nb201_latency.csv``.
DEVICES = {
    "pixel2": "help_pixel2_ms",
    "pixel3": "hwnb_pixel3_ms",
    "raspi4": "hwnb_raspi4_ms",
    "fpga": "hwnb_fpga_ms",
    "eyeriss": "hwnb_eyeriss_ms",
}
PERCENTILES = (5, 10, 30)
#: The budget's metric, as a `SearchConfig.budget` names it.
METRIC = "latency_ms"
GREEDY_CELLS = 25
#: Trained (feasible) queries after which the choice is also scored (issue #20's goals: 10 and 25).
CHECKPOINTS = (10, 25)
#: The baseline of Optuna's own TPE sampler (multivariate, grouped), with no feasibility model or costs.
PLAIN_TPE = "optuna-tpe"
#: What the samplers are told of a candidate before proposing it (``--costs``): nothing; its parameter
#: count (what the engine counts for every search); or its latency on the device (what the engine gives
#: when the budget names a ``target_device``, whose profile predicts the latency the trial is judged by),
#: exact or predicted by a profile fitted from a few cells ("profile"); or the ceiling model's prediction,
#: told apart from the constraint ("ceiling", `nb201_ceiling`).
COSTS = ("none", "params", "latency", "profile", "ceiling")
#: Cells the ceiling-greedy policy trains (``--costs ceiling``).
CEILING_CELLS = (25, 50, 100)
#: The zero-cost scores the samplers may rank with (``--scores``; only "proxy_guided" uses them).
SCORES = ("none", "flops", "live", "synflow")


def load_latencies(folder: Path, space: nw.spaces.SearchSpace) -> dict[str, dict[str, float]]:
    """The space's notation of each architecture → device name → latency (ms)."""
    with (folder / "nb201_latency.csv").open() as f:
        return {
            space.format(space.parse(row["arch"])): {d: float(row[c]) for d, c in DEVICES.items()}
            for row in csv.DictReader(f)
        }


def reference(cells: dict[str, dict[str, float]]) -> float:
    """Test accuracy of the best-validation cell among ``cells`` (the table's rows)."""
    return max(cells.values(), key=lambda row: row["valid"])["test"]


def flops_greedy(
    feasible: dict[str, dict[str, float]], cells: int = GREEDY_CELLS, key: str = "test"
) -> float:
    """Test accuracy (or another ``key`` of the row) of the best-validation cell among the ``cells``
    feasible cells with most FLOPs."""
    largest = sorted(feasible, key=lambda arch: -feasible[arch]["mflops"])[:cells]
    return max((feasible[arch] for arch in largest), key=lambda row: row["valid"])[key]


def run_one(
    name: str,
    seed: int,
    trials: int,
    space: nw.spaces.SearchSpace,
    table: dict[str, dict[str, float]],
    latency: dict[str, float],
    budget_ms: float,
    costs: str = "none",
    scores: dict[str, dict[str, float]] | None = None,
    options: dict[str, object] | None = None,
    told: dict[str, float] | None = None,
    ceiling: dict[str, float] | None = None,
) -> dict[str, object]:
    """One budgeted search; the test accuracy of its choice (None when it found no feasible cell), also
    after each of `CHECKPOINTS` trained (feasible) queries, the share of its trials that were feasible,
    and its CPU seconds per trial. ``costs`` (of `COSTS`) is what the sampler is told of each candidate
    before it proposes it; ``scores`` (architecture → proxy → score) its zero-cost proxy scores;
    ``options`` the strategy's options; ``told`` the latency a device profile predicts (None: the measured
    ``latency``), which the sampler is told and each trial's budget is judged by, as the engine does;
    ``ceiling`` (with ``costs`` "ceiling") the latency the ceiling model predicts, told to the sampler as
    ``predicted_latency_ms`` with the budget's limit while the trial is judged by ``latency``."""
    judged = latency if told is None else told

    def counted(spec: nw.ArchSpec) -> dict[str, float]:
        arch = space.format(spec)
        values = {"params": table[arch]["params"]}
        if costs == "ceiling":
            assert ceiling is not None
            return values | {predicted_name(METRIC): ceiling[arch]}
        return values | {"latency_ms": judged[arch]} if costs in ("latency", "profile") else values

    def proxies(spec: nw.ArchSpec) -> dict[str, float]:
        assert scores is not None
        return scores[space.format(spec)]

    if name == AUTO_STRATEGY:  # the default: what the advisor recommends for this search, as the engine
        # a budget judged by a device's profile
        target = "the device" if costs in ("latency", "profile") else None
        name = nw.strategies.advise(space, ["accuracy"], {METRIC: budget_ms}, trials, None, target).strategy
    if name == PLAIN_TPE:
        with warnings.catch_warnings():  # ``group`` is "experimental", as the tpe strategy notes
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
    else:
        given = None if costs == "none" else counted
        limits = {METRIC: budget_ms} if costs == "ceiling" else None  # the engine's, for a predicted cost
        sampler = nw.strategies.make_sampler(
            name,
            seed=seed,
            space=space,
            costs=given,
            scores=proxies if scores else None,
            limits=limits,
            **(options or {}),
        )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    chosen: dict[str, float] | None = None
    chosen_arch = ""
    n_feasible = 0
    trained: list[tuple[str, float, float]] = []  # (arch, validation, test) of each trial judged within
    at_trained: dict[int, float] = {}
    valid_at: dict[int, float] = {}  # the choice's validation accuracy (what every search chooses by)
    started = time.process_time()
    for _ in range(trials):
        trial = study.ask()
        spec = space.sample(trial)
        arch = space.format(spec)
        trial.set_user_attr("spec", spec.to_dict())
        kind = "measured" if told is None else "predicted"
        measured = {METRIC: Measurement(judged[arch], "ms", kind, "nb201_latency.csv")}
        for key, value in constraint_values(measured, {METRIC: budget_ms}).items():
            trial.set_constraint(key, value)
        row = table[arch]
        if judged[arch] <= budget_ms:
            n_feasible += 1
            trained.append((arch, row["valid"], row["test"]))
            if chosen is None or row["valid"] > chosen["valid"]:
                chosen, chosen_arch = row, arch
            if n_feasible in CHECKPOINTS:
                at_trained[n_feasible], valid_at[n_feasible] = chosen["test"], chosen["valid"]
            study.tell(trial, row["valid"])
        else:  # over budget, left untrained: pruned with its constraint, no value (the engine's way)
            trial.set_user_attr("status", "infeasible")
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return {
        "test": chosen["test"] if chosen is not None else None,
        "at_trained": at_trained,
        "valid_at_trained": valid_at,
        "feasible_share": n_feasible / trials,
        "over_budget": chosen is not None and latency[chosen_arch] > budget_ms,  # as the device measures
        "cpu_s_per_trial": (time.process_time() - started) / trials,
        "trained": trained,
    }


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("nb201_dir", type=Path, help="folder holding nb201.csv, nb201_latency.csv, costs")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument(
        "--strategies", default=None, help="comma-separated (default: every sampling strategy but grid)"
    )
    parser.add_argument(
        "--devices", default=",".join(DEVICES), help="comma-separated, of " + ",".join(DEVICES)
    )
    parser.add_argument("--percentiles", default=",".join(map(str, PERCENTILES)))
    parser.add_argument(
        "--costs",
        choices=COSTS,
        default="params",
        help="what samplers know of a candidate before proposing it",
    )
    parser.add_argument(
        "--profile-size", type=int, default=10, help="cells a fitted profile measures (--costs profile)"
    )
    parser.add_argument(
        "--confidence",
        default=str(BUDGET_CONFIDENCE),
        help="comma-separated budget_confidence values a fitted profile judges the budget at (--costs "
        "profile; 0: the prediction alone), each a case of its own on the same profiles",
    )
    parser.add_argument(
        "--verify",
        default="0",
        help="comma-separated numbers K of finalists measured on the device after the search (--costs "
        "profile): the profile refitted with them, the trials judged again, the choice made again "
        "(nb201_profiles.verified_choice); 0: the choice as the search made it",
    )
    parser.add_argument("--no-random", action="store_true", help="leave the random baseline out")
    parser.add_argument(
        "--ceiling-cache",
        type=Path,
        default=None,
        help="folder keeping each device's ceiling predictions (--costs ceiling; fitted once per device)",
    )
    parser.add_argument(
        "--scores",
        choices=SCORES,
        default="synflow",
        help="zero-cost scores given to the samplers: none, counted FLOPs, FLOPs and the live cell's FLOPs "
        "(the engine's live_flops), or FLOPs and data-free synflow",
    )
    parser.add_argument(
        "--pool-size", type=int, default=None, help="proxy_guided's pool_size (default: the strategy's)"
    )
    parser.add_argument(
        "--options",
        type=json.loads,
        default={},
        help='strategy options as JSON, e.g. \'{"evolution": {"feasibility_edge": 1}}\' (default: none)',
    )
    args = parser.parse_args()

    needed = ["nb201.csv", "nb201_latency.csv", "nb201_cost_derived.csv"]
    if missing := [name for name in needed if not (args.nb201_dir / name).exists()]:
        print(f"{', '.join(missing)} not found in {args.nb201_dir}: nothing to benchmark", file=sys.stderr)
        return 2
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)  # GP's model fitting uses torch; the machine's cores are shared
    space = nw.spaces.get("nb201")
    table = load_table(args.nb201_dir, space)
    latencies = load_latencies(args.nb201_dir, space)
    scores, proxy_seconds = proxy_scores(args.scores, table)
    names = (
        args.strategies.split(",")
        if args.strategies
        else [n for n in nw.strategies.list() if n != "grid" and not nw.strategies.get(n).relaxation]
    )
    names = [*([] if args.no_random else ["random"]), *[n for n in names if n != "random"]]  # baseline first
    options: dict[str, dict[str, object]] = {name: dict(given) for name, given in args.options.items()}
    if args.pool_size is not None:
        options.setdefault("proxy_guided", {})["pool_size"] = args.pool_size
    # the table holds every score already: the whole pool is scored before the first query, for free
    options.setdefault("proxy_guided", {}).setdefault("score_batch", 0)
    devices = args.devices.split(",")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    profiles = FittedLatencies(args.nb201_dir, space, args.profile_size) if args.costs == "profile" else None
    percentiles = [float(p) for p in args.percentiles.split(",")]
    confidences = [float(c) for c in args.confidence.split(",")] if profiles is not None else [0.0]
    verify = [int(k) for k in args.verify.split(",")] if profiles is not None else []

    told = {
        "none": "nothing",
        "profile": f"latency predicted from {args.profile_size} measurements",
        "ceiling": "latency the ceiling model predicts (the constraint: the published latency)",
    }
    told = told.get(args.costs, args.costs)
    print(
        f"NAS-Bench-201 CIFAR-10 under a latency budget: mean regret (points of test accuracy) of the "
        f"best-validation feasible choice after {args.trials} trials, {args.seeds} seeds; samplers told "
        f"each candidate's {told} before proposing it, and its {args.scores} scores"
        + (f" ({proxy_seconds:.0f} s to compute for all cells)" if proxy_seconds else "")
    )
    header = f"{'device':<8}{'pct':>4}{'budget ms':>10}{'feasible':>9}" + "".join(f" {n:>19}" for n in names)
    print(header + f" {'flops-greedy':>12}")
    results = []
    for device, confidence in ((d, c) for d in devices for c in confidences):
        column = {arch: lat[device] for arch, lat in latencies.items()}
        predicted = None  # with --costs profile: per seed, every cell's latency as a fitted profile judges it
        if profiles is not None:
            predicted = {seed: profiles.predict(DEVICES[device], seed, confidence) for seed in seeds}
        ceiling = None
        if args.costs == "ceiling":
            ceiling = cached_ceiling(space, column, args.ceiling_cache and args.ceiling_cache / device)
        if ceiling is not None:
            fit = quality(ceiling, column)
            print(f"{device}: ceiling Spearman {fit['spearman']:.3f}, {fit['within_10pct']:.0%} within ±10%")
        for percentile in percentiles:
            budget_ms = float(np.percentile(list(column.values()), percentile))
            feasible = {arch: table[arch] for arch, lat in column.items() if lat <= budget_ms}
            best = reference(feasible)
            case: dict = {
                "device": device,
                "column": DEVICES[device],
                "percentile": percentile,
                "confidence": confidence,
                "budget_ms": budget_ms,
                "feasible_cells": len(feasible),
                "reference_test": best,
                "flops_greedy_regret": best - flops_greedy(feasible),
                "flops_greedy_regret_at": {n: best - flops_greedy(feasible, n) for n in CHECKPOINTS},
                "flops_greedy_valid_at": {n: flops_greedy(feasible, n, "valid") for n in CHECKPOINTS},
                "strategies": {},
            }
            if ceiling is not None:  # the free policies of the ceiling model (None: no cell kept)
                case["ceiling_quality"] = fit
                case["ceiling_greedy_regret"] = {
                    k: best - (ceiling_greedy(table, ceiling, column, budget_ms, k) or 0.0)
                    for k in CEILING_CELLS
                }
            for name in names:
                runs = [
                    run_one(
                        name,
                        seed,
                        args.trials,
                        space,
                        table,
                        column,
                        budget_ms,
                        args.costs,
                        scores,
                        options.get(name),
                        None if predicted is None else predicted[seed],
                        ceiling,
                    )
                    for seed in seeds
                ]
                regrets = [best - (r["test"] if r["test"] is not None else 0.0) for r in runs]
                at = {n: [best - r["at_trained"].get(n, r["test"] or 0.0) for r in runs] for n in CHECKPOINTS}
                greedy_valid = case["flops_greedy_valid_at"]
                above = {
                    n: sum(r["valid_at_trained"].get(n, 0.0) > greedy_valid[n] for r in runs)
                    for n in CHECKPOINTS
                }
                case["strategies"][name] = {
                    "regret": mean_std(regrets),
                    "regrets": regrets,
                    "regret_at_trained": {n: mean_std(values) for n, values in at.items()},
                    "seeds_above_greedy_valid_at": above,
                    "no_feasible_runs": sum(r["test"] is None for r in runs),
                    "over_budget_runs": sum(bool(r["over_budget"]) for r in runs),
                    "feasible_share": statistics.mean(r["feasible_share"] for r in runs),
                    "cpu_ms_per_trial": 1000 * statistics.mean(r["cpu_s_per_trial"] for r in runs),
                }
                if profiles is not None and verify:  # K finalists measured: regret, none and over per K
                    case["strategies"][name]["verify"] = {
                        k: verified_runs(
                            profiles,
                            DEVICES[device],
                            runs,
                            k,
                            column,
                            budget_ms,
                            best,
                            confidence,
                            seeds.start,
                        )
                        for k in verify
                    }
            results.append(case)
            row = f"{device:<8}{percentile:>4g}{budget_ms:>10.2f}{len(feasible) / len(column):>9.1%}"
            if profiles is not None:  # the budget_confidence; median regret [min, max], none, over
                row = (
                    f"{row} c={confidence:g}"
                    + "".join(
                        f" {n}: {statistics.median(f['regrets']):.2f} [{min(f['regrets']):.2f}, "
                        f"{max(f['regrets']):.2f}] none {f['no_feasible_runs']} over {f['over_budget_runs']}"
                        for n, f in case["strategies"].items()
                    )
                    + "".join(
                        f" | K={k}: {statistics.median(v['regrets']):.2f} [{min(v['regrets']):.2f}, "
                        f"{max(v['regrets']):.2f}] none {v['none']} over {v['over']}"
                        for f in case["strategies"].values()
                        for k, v in f.get("verify", {}).items()
                    )
                )
            cells = []
            for n in names:
                figures = case["strategies"][n]
                early = "/".join(f"{figures['regret_at_trained'][c]['mean']:.2f}" for c in CHECKPOINTS)
                cells.append(f"{early}/{figures['regret']['mean']:.2f}")
            greedy = "/".join(f"{case['flops_greedy_regret_at'][c]:.2f}" for c in CHECKPOINTS)
            if ceiling is not None:
                greedy += "  ceiling-greedy @" + "/".join(map(str, CEILING_CELLS)) + ": "
                greedy += "/".join(f"{case['ceiling_greedy_regret'][k]:.2f}" for k in CEILING_CELLS)
            print(row + "".join(f" {c:>19}" for c in cells) + f" {greedy:>12}", flush=True)
    print(
        "cells: mean regret after " + ", ".join(map(str, CHECKPOINTS)) + " trained (feasible) queries / "
        f"after {args.trials} trials; flops-greedy: training the {', '.join(map(str, CHECKPOINTS))} feasible "
        "cells with most FLOPs"
    )
    for checkpoint in [*CHECKPOINTS, None]:
        label = f"{checkpoint} trained" if checkpoint else f"{args.trials} trials"
        means = []
        for n in names:
            values = [
                c["strategies"][n]["regret_at_trained"][checkpoint]["mean"]
                if checkpoint
                else c["strategies"][n]["regret"]["mean"]
                for c in results
            ]
            means.append(f"{n} {statistics.mean(values):.2f} (worst {max(values):.2f})")
        if checkpoint:
            greedy = [c["flops_greedy_regret_at"][checkpoint] for c in results]
            means.append(f"flops-greedy {statistics.mean(greedy):.2f} (worst {max(greedy):.2f})")
        print(f"mean over cases, {label}: " + ", ".join(means))
    for c in results:  # what every search chooses by: does its choice beat the greedy's in validation?
        above = [
            f"{n} {'/'.join(str(c['strategies'][n]['seeds_above_greedy_valid_at'][k]) for k in CHECKPOINTS)}"
            for n in names
        ]
        print(
            f"{c['device']} {c['percentile']:g}th: seeds whose choice's validation accuracy is above "
            f"flops-greedy's after {'/'.join(map(str, CHECKPOINTS))} trained: " + ", ".join(above)
        )
    if args.costs == "profile":
        print(
            "choices the profile called within budget but the device measures over it (runs of all): "
            + ", ".join(
                f"{n} {sum(c['strategies'][n]['over_budget_runs'] for c in results)}"
                f"/{args.seeds * len(results)}"
                for n in names
            )
        )
    print(
        "mean share of feasible trials: "
        + ", ".join(
            f"{n} {statistics.mean(c['strategies'][n]['feasible_share'] for c in results):.0%}" for n in names
        )
    )
    print(
        "CPU ms per trial: "
        + ", ".join(
            f"{n} {statistics.mean(c['strategies'][n]['cpu_ms_per_trial'] for c in results):.1f}"
            for n in names
        )
    )
    if args.json:
        settings = {
            "seeds": args.seeds,
            "first_seed": args.first_seed,
            "trials": args.trials,
            "costs": args.costs,
            "profile_size": args.profile_size if args.costs == "profile" else None,
            "verify": verify,
            "scores": args.scores,
            "proxy_seconds": proxy_seconds,
            "pool_size": args.pool_size,
            "options": options,
            "default_strategy": _default_strategy(),
        }
        _report.write_json(args.json, {**settings, "cases": results})
    return 0


def _default_strategy() -> str:
    """The strategy a `SearchConfig` uses when none is named."""
    return nw.SearchConfig.__dataclass_fields__["strategy"].default


if __name__ == "__main__":
    sys.exit(main())
