"""Differentiable search against TPE (and random search) on digits, in one run: does "dnas" reach TPE's
best validation accuracy of a ``--trials``-trial search in less wall time?

"dnas" searches for ``--epochs`` epochs, then retrains the ``--retrain-top`` most likely architectures
under its final weights at the configured fidelity (search plus retraining is its wall time); TPE and
random search train ``--trials`` architectures at the same fidelity. Each strategy's best architecture is
the one with the best validation accuracy among its trained trials (for "dnas", the retrained ones: its
per-epoch trials are weight-sharing estimates), reported with its test accuracy, size and measured
latency, and dnas's wall time as a fraction of TPE's. For "dnas" it also prints the best of its first
j retrainings for every j (the retrainings run most likely first, so one run measures every smaller
``retrain_top``, with the wall time at which the j-th finished, and issue #16's three criteria for each
against the baseline), and the supernet's weight-sharing
estimate of each epoch's derived architecture (how well the supernet itself has learnt: near chance, 0.1
on digits, its architecture weights carry no information). ``--strategy none`` runs dnas alone. One torch
thread everywhere.

Where a dnas run's time goes: its supernet's training epochs, the trials that log each epoch's derived
architecture (profiled and scored by the supernet), the retrainings, and the rest (set-up, landing). Each
``--variant`` (a JSON object of more dnas options) is a further dnas run of the same seed, compared with the
same baseline run; ``--baseline-json`` takes the baselines' rows from an earlier run's ``--json`` instead of
running them again (same space, seed and trials; their wall time was then measured at another time, whose
load the JSON records). ``--timeout-share F`` runs the baselines first and gives every dnas run the
timeout F times the first baseline's wall time: with ``retrain_distinct`` and a large ``retrain_budget``
dnas retrains the next likeliest architectures until then. For each baseline it also prints the best of
its first third of trials. The load average is recorded before and after every run.

    python benchmarks/dnas/vs_sampling.py [--space nb201 --space chain] [--epochs 6] [--trials 30]
        [--retrain-top 4] [--dnas-option sampled_paths=true] [--variant '{"epochs": 6}']
        [--baseline-json earlier.json] [--timeout-share 0.333] [--seed 0 --seed 1] [--json out.json]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import optuna
import torch

import nas_workbench as nw
from nas_workbench.engine.records import DNAS_ATTR
from nas_workbench.profiling import profile
from nas_workbench.strategies.dnas.options import RETRAIN_TOP

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timed_search import timed_search

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: The spaces compared and their options (digits-sized, see each space's docs).
SPACES: dict[str, dict[str, Any]] = {"nb201": {"num_cells": 2}, "chain": {}}


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes): every wall time here depends on them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def search(
    strategy: str,
    space: str,
    storage: str,
    seed: int,
    n_trials: int,
    options: dict[str, Any] | None = None,
    timeout: float | None = None,
    split_seed: int | None = None,
) -> dict[str, Any] | None:
    """One timed search (ended by ``timeout`` seconds, if given) on digits split by ``split_seed`` (by
    default ``seed``, as every search splits its data): its best trained architecture (validation
    accuracy), its figures and, for "dnas", where its time went; None when it trained none."""
    load_before = load()
    split_seed = seed if split_seed is None else split_seed
    study_name = (
        f"{space}-{strategy}-{seed}-{split_seed}-{n_trials}-{json.dumps(options or {}, sort_keys=True)}"
    )
    run, timing = timed_search(  # the best architecture by accuracy; no hardware penalty for "dnas"
        data=nw.load_task("digits", seed=split_seed),
        space=space,
        space_options=SPACES[space],
        strategy=strategy,
        strategy_options=options or {},
        profile_metrics=["params", "flops"],  # counted: no latency measured per trial
        n_trials=n_trials,
        storage=storage,
        study_name=study_name,
        seed=seed,
        timeout=timeout,
    )
    load_after = load()
    wall = timing.wall_s
    trained = [
        r for r in run.results()
        if r.status == "ok" and r.metrics.get("accuracy", {}).get("method") == "measured"
    ]  # fmt: skip
    if not trained:  # a timeout before any training ended
        print(f"{space:7} {seed:4d} {wall:7.1f}  {strategy}: no architecture trained (timeout {timeout})")
        return None
    best = max(trained, key=lambda r: r.value("accuracy"))
    model = run.space.build(nw.ArchSpec.from_dict(best.spec), run.task.input_shape, run.task.num_classes)
    latency = profile(model, run.task.input_shape, metrics=["latency_ms"], threads=1)["latency_ms"].value
    dnas = strategy == "dnas"
    return {
        "strategy": strategy,
        "options": options or {},
        "space": space,
        "seed": seed,
        "split_seed": split_seed,
        "timeout_s": timeout,
        "wall_s": wall,
        "cpu_s": timing.cpu_s,
        "load_before": load_before,
        "load_after": load_after,
        "trials": len(run.results()),
        "trained_trials": len(trained),
        "best_trial": best.number,
        "arch": best.arch,
        "spec": best.spec,
        "summary": best.summary,
        "accuracy": best.value("accuracy"),
        "test_accuracy": best.value("test_accuracy"),
        "params": best.value("params"),
        "flops": best.value("flops"),
        "latency_ms": latency,
        "trained": [  # every trained architecture, for retraining with other seeds (retrain_seeds.py)
            {"number": r.number, "spec": r.spec, "summary": r.summary,
             "accuracy": r.value("accuracy"), "test_accuracy": r.value("test_accuracy")}
            for r in trained
        ],
        "best_of_first": _best_of_first(trained, wall) if dnas else [],
        "time_split": _time_split(run.study, wall) if dnas else {},
        "supernet_estimates": [
            r.value("accuracy") for r in run.results()
            if r.status == "ok" and r.metrics.get("accuracy", {}).get("method") == "estimated"
        ],
    }  # fmt: skip


def _best_of_first(trained: list[Any], wall: float) -> list[dict[str, float]]:
    """Per j, the best validation accuracy among the first j retrained architectures (most likely first),
    its test accuracy, and the wall time when the j-th finished (the run ends with the last one)."""
    end = max(r.datetime_complete for r in trained)
    rows, best = [], None
    for j, result in enumerate(sorted(trained, key=lambda r: r.number), start=1):
        if best is None or result.value("accuracy") > best.value("accuracy"):
            best = result
        rows.append({
            "j": j, "accuracy": best.value("accuracy"), "test_accuracy": best.value("test_accuracy"),
            "wall_s": wall - (end - result.datetime_complete), "arch": best.arch,
        })  # fmt: skip
    return rows


def _time_split(study: optuna.Study, wall: float) -> dict[str, float]:
    """Seconds of a dnas run: the supernet's epochs, the trials logging them, the retrainings, the rest."""
    split = {"epochs": 0, "supernet_s": 0.0, "supernet_cpu_s": 0.0, "epoch_trials_s": 0.0, "retrain_s": 0.0}
    for trial in study.get_trials(deepcopy=False):
        info = trial.user_attrs.get(DNAS_ATTR, {})
        duration = (trial.datetime_complete - trial.datetime_start).total_seconds()
        if info.get("phase") == "search":
            split["epochs"] += 1
            split["supernet_s"] += info.get("seconds", 0.0)
            split["supernet_cpu_s"] += info.get("cpu_seconds", 0.0)
            split["epoch_trials_s"] += duration
        elif info.get("phase") == "retrain":
            split["retrain_s"] += duration
            split["repeats"] = split.get("repeats", 0) + ("repeat_of" in info)  # retrain_budget's
    split["other_s"] = wall - split["supernet_s"] - split["epoch_trials_s"] - split["retrain_s"]
    return split


def _print(row: dict[str, Any]) -> None:
    label = row["strategy"]
    if row["strategy"] == "dnas":
        label += f" {row['epochs']} epochs " + json.dumps(row["options"], sort_keys=True)
    print(
        f"{row['space']:7} {row['seed']:4d} {row['wall_s']:7.1f} {row['cpu_s']:7.1f} {row['trials']:6d} "
        f"{row['accuracy']:8.4f} {row['test_accuracy']:8.4f} {row['params']:8.0f} "
        f"{row['flops'] / 1e6:7.3f} {row['latency_ms']:7.3f}  {label}  {row['summary']}  "
        f"(load {row['load_before']} -> {row['load_after']})",
        flush=True,
    )
    if row["supernet_estimates"]:
        estimates = " ".join(f"{a:.2f}" for a in row["supernet_estimates"])
        print(f"    supernet estimate per epoch: {estimates}", flush=True)
    if row["time_split"]:
        print("    time: " + ", ".join(f"{k} {v:.1f}" for k, v in row["time_split"].items()), flush=True)
    for best in row["best_of_first"]:
        print(
            f"    best of first {best['j']} retrained: val {best['accuracy']:.4f} test "
            f"{best['test_accuracy']:.4f} at {best['wall_s']:.1f} s",
            flush=True,
        )


def _compare(variants: list[dict[str, Any]], baselines: list[dict[str, Any]]) -> None:
    for base in baselines:
        for dnas in variants:
            print(
                f"  dnas{json.dumps(dnas['options'], sort_keys=True)}/{base['strategy']}: wall "
                f"{dnas['wall_s'] / base['wall_s']:.2f}x, cpu {dnas['cpu_s'] / base['cpu_s']:.2f}x, "
                f"validation {dnas['accuracy'] - base['accuracy']:+.4f}, "
                f"test {dnas['test_accuracy'] - base['test_accuracy']:+.4f}",
                flush=True,
            )
            for best in dnas["best_of_first"]:  # every smaller retrain_top, against the goal
                print(f"    best of first {best['j']}: {_criteria(best, base)}", flush=True)
        print(f"    {base['strategy']}: {_early(base)}", flush=True)


def _early(base: dict[str, Any]) -> str:
    """A baseline's best validation accuracy (and its test accuracy) among its first third of trials, and
    where its best of all ranks: what it had found in about the time dnas may take."""
    trained = sorted(base["trained"], key=lambda r: r["number"])
    early = max(trained[: max(1, len(trained) // 3)], key=lambda r: r["accuracy"])
    return (
        f"best of its first {max(1, len(trained) // 3)} trials val {early['accuracy']:.4f} test "
        f"{early['test_accuracy']:.4f}; its best of {len(trained)} was trial {base['best_trial']}"
    )


def _criteria(dnas: dict[str, Any], base: dict[str, Any]) -> str:
    """Issue #16's three criteria for a dnas result (``accuracy``, ``test_accuracy``, ``wall_s``) against
    a baseline's row: validation at least the baseline's best, in at most a third of its wall time, test
    accuracy at most 0.5 points below its."""
    ratio = dnas["wall_s"] / base["wall_s"]
    test = dnas["test_accuracy"] - base["test_accuracy"]
    met = ratio <= 1 / 3 and dnas["accuracy"] >= base["accuracy"] - 1e-9 and test >= -0.005 - 1e-9
    return (
        f"wall {ratio:.3f}x, validation {100 * (dnas['accuracy'] - base['accuracy']):+.2f} points, "
        f"test {100 * test:+.2f} points: {'met' if met else 'missed'}"
    )


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--space", action="append", choices=sorted(SPACES), help="repeatable (default: all)")
    parser.add_argument("--epochs", type=int, default=6, help="search epochs of dnas (6: measured)")
    parser.add_argument("--trials", type=int, default=30, help="trials of TPE and random search")
    parser.add_argument(
        "--retrain-top", type=int, default=RETRAIN_TOP, help="architectures dnas retrains (retrain_top)"
    )
    parser.add_argument("--strategy", action="append", help="baselines (default: tpe; none: dnas alone)")
    parser.add_argument(
        "--dnas-option", action="append", default=[], metavar="KEY=JSON",
        help="more strategy_options of every dnas run, e.g. sampled_paths=true (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--variant", action="append", default=[], metavar="JSON",
        help="a further dnas run per seed with these options on top, and its own epochs (repeatable)",
    )  # fmt: skip
    parser.add_argument("--baseline-json", type=Path, help="the baselines' rows of an earlier run")
    parser.add_argument("--baselines-only", action="store_true", help="run no dnas (its baselines for later)")
    parser.add_argument("--seed", type=int, action="append", help="repeatable (default: 0)")
    parser.add_argument(
        "--split-seed", type=int,
        help="split digits with this seed in every run (default: each run's own seed); with another "
        "--seed, a second independent search of the same data (noise_floor.py)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout-share", type=float, metavar="F",
        help="run the baselines first and give every dnas run the timeout F x the first one's wall time "
        "(with retrain_distinct and a large retrain_budget: the likeliest retrained until then)",
    )  # fmt: skip
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    header = f"{'space':7} {'seed':>4} {'wall s':>7} {'cpu s':>7} {'trials':>6} {'val acc':>8} {'test acc':>8} {'params':>8} {'MFLOPs':>7} {'lat ms':>7}  strategy  architecture"  # noqa: E501
    print(header, flush=True)
    extra = {key: json.loads(value) for key, value in (o.split("=", 1) for o in args.dnas_option)}
    variants = [{"retrain_top": args.retrain_top, **extra}]
    variants += [{**variants[0], **json.loads(v)} for v in args.variant]
    variants = [] if args.baselines_only else variants
    earlier = json.loads(args.baseline_json.read_text())["rows"] if args.baseline_json else []
    baselines = [s for s in args.strategy or ["tpe"] if s != "none"]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{folder}/bench.db"
        for space in args.space or list(SPACES):
            for seed in args.seed or [0]:
                dnas_rows, base_rows, timeout = [], [], None
                if args.timeout_share:  # the baselines first: their wall time sets dnas's timeout
                    base_rows = [
                        _baseline(s, space, seed, args.trials, storage, earlier, args.split_seed)
                        for s in baselines
                    ]
                    timeout = args.timeout_share * base_rows[0]["wall_s"]
                for k, options in enumerate(variants or [None]):  # None: baselines only
                    if options is not None:  # a variant's "epochs" replaces --epochs
                        options = dict(options)
                        n_trials = options.pop("epochs", args.epochs) + options["retrain_top"]
                        row = search(
                            "dnas", space, storage, seed, n_trials, options, timeout, args.split_seed
                        )
                        if row is not None:  # else said so: counted as missing the goal
                            dnas_rows.append({**row, "epochs": n_trials - options["retrain_top"]})
                            _print(dnas_rows[-1])
                    if k == 0 and not base_rows:  # between the first and the other variants: alike loads
                        base_rows = [
                            _baseline(s, space, seed, args.trials, storage, earlier, args.split_seed)
                            for s in baselines
                        ]
                rows += dnas_rows + base_rows
                _compare(dnas_rows, base_rows)
                figures = {"epochs": args.epochs, "trials": args.trials, "variants": variants, "rows": rows}
                _report.write_json(args.json, figures)  # after every seed: a long run's rows so far


def _baseline(
    strategy: str,
    space: str,
    seed: int,
    trials: int,
    storage: str,
    earlier: list[dict[str, Any]],
    split_seed: int | None = None,
) -> dict[str, Any]:
    """The baseline's row: from the earlier run when it holds one of this space, seed, split and trial
    count."""
    split = seed if split_seed is None else split_seed
    for row in earlier:
        key = (row["strategy"], row["space"], row["seed"], row.get("split_seed", row["seed"]), row["trials"])
        if key == (strategy, space, seed, split, trials):
            print(f"    ({strategy} seed {seed}: taken from --baseline-json)", flush=True)
            _print(row)
            return row
    row = search(strategy, space, storage, seed, trials, split_seed=split_seed)
    if row is None:  # no timeout: a baseline always trains
        raise RuntimeError(f"{strategy} trained no architecture")
    _print(row)
    return row


if __name__ == "__main__":
    main()
