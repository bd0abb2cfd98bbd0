"""Is issue #16's first goal reachable? The noise floor of "TPE's best validation accuracy of 30 trials".

The goal asks a search (DNAS) to reach, on each of 5 seeds, the best validation accuracy that TPE's 30-trial
search found on the same data split, with a test accuracy at most 0.5 points below TPE's, in a third of
TPE's time. TPE's figure is the maximum of 30 single trainings, each noisy: this script measures what that
asks of any method, from three kinds of run (`vs_sampling.py --baselines-only --json`,
`retrain_seeds.py --json`):

- **TPE against itself** (and random search against TPE): on each split seed s, the reference run is the
  TPE search of seed s (its own split, as the goal's baseline); a challenger is any other run on the same
  split (``vs_sampling.py --seed s+5 --split-seed s``: the sampler and the trainings seeded anew, the data
  the same). Does the challenger's best of its first third of trials (TPE's own "third of the time") or of
  all its trials (the same time) reach the reference's best validation with test within 0.5 points?
- **The selection bias**: each run's best architecture retrained with new training seeds; how far the
  search's score lies above the retrained mean, and the share of retrainings that reach it (the measured
  share, and the chance under a normal law with the retrainings' mean and standard deviation, rounded to
  the split's digit grid).
- **What an equally good method can expect**: a method whose k retrained architectures are each exactly
  as good as a TPE run's best (one training drawn from that architecture's retrained validation and
  test accuracies) takes its best by validation; the chance that it meets both accuracy criteria (time
  taken as met) against each retrained TPE run (its score the target), and all at once, for each
  ``--k``. Two laws for one training, each simulated ``--draws`` times with numpy's generator seeded
  ``--sim-seed``: the measured retrainings drawn with replacement (pairs of validation and test kept
  together), and a bivariate normal with their mean and covariance, rounded to the digit grid (1/360
  validation, 1/359 test on digits).

    python benchmarks/dnas/noise_floor.py --runs 'runs/tpe_chain_*.json' --retrained 'runs/rt_*.json' \\
        [--k 4 --k 6 --k 8 --k 30] [--draws 20000] [--sim-seed 0] [--json out.json]
"""

from __future__ import annotations

import glob
import json
import statistics
import sys
from math import erf
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: Test accuracy may fall this far below the reference's (issue #16: 0.5 points).
TEST_SLACK = 0.005
#: Digits' validation and test split sizes (`nw.load_task("digits")`, 60/20/20 of 1,797 images).
VALID_SIZE, TEST_SIZE = 360, 359
#: Float tolerance when comparing accuracies that are counts over a split.
EPS = 1e-9


def split_of(row: dict[str, Any]) -> int:
    """The seed whose digits split a run searched on (its own seed unless ``--split-seed`` gave one)."""
    return int(row.get("split_seed", row["seed"]))


def best_of(row: dict[str, Any], first: int | None = None) -> dict[str, Any]:
    """A run's best trained trial by validation accuracy among its first ``first`` trained trials (all
    when None), ties to the earlier trial, as a search reports its best."""
    trained = sorted(row["trained"], key=lambda r: r["number"])[:first]
    return max(trained, key=lambda r: (r["accuracy"], -r["number"]))


def meets(challenger: dict[str, Any], reference: dict[str, Any]) -> bool:
    """Issue #16's two accuracy criteria: validation at least the reference's, test at most 0.5 points
    below it."""
    return (
        challenger["accuracy"] >= reference["accuracy"] - EPS
        and challenger["test_accuracy"] >= reference["test_accuracy"] - TEST_SLACK - EPS
    )


def against_itself(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every run against every TPE run of its split (the reference; "forward" when the reference searched
    its own split, as the goal's baseline, "reverse" when the challenger did): the challenger's best of its
    first third and of all its trials, each with the criteria."""
    out = []
    for reference, row in ((a, b) for a in rows for b in rows if a is not b and a["strategy"] == "tpe"):
        if (row["space"], split_of(row)) != (reference["space"], split_of(reference)):
            continue
        if reference["seed"] != split_of(reference) and row["seed"] != split_of(row):
            continue  # two challengers: neither is the goal's baseline
        target = best_of(reference)
        third = max(1, len(row["trained"]) // 3)
        entry = {
            "space": row["space"], "split_seed": split_of(row), "strategy": row["strategy"],
            "seed": row["seed"],
            "direction": "forward" if reference["seed"] == split_of(reference) else "reverse",
            "reference": {"seed": reference["seed"], **_figures(target)},
        }  # fmt: skip
        for label, first in (("third", third), ("all", None)):
            best = best_of(row, first)
            entry[label] = {
                "trials": first or len(row["trained"]),
                **_figures(best),
                "met": meets(best, target),
            }
        out.append(entry)
    return out


def _figures(trial: dict[str, Any]) -> dict[str, Any]:
    return {"trial": trial["number"], "accuracy": trial["accuracy"], "test_accuracy": trial["test_accuracy"]}


def normal_law(retrained: list[dict[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of (validation, test) over an architecture's retrainings."""
    pairs = np.array([[r["accuracy"], r["test_accuracy"]] for r in retrained])
    return pairs.mean(axis=0), np.cov(pairs.T)


def draw(
    retrained: list[dict[str, float]], law: str, shape: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """``shape`` trainings of one architecture, as (..., 2) arrays of (validation, test): ``law``
    "measured" draws its retrainings with replacement, "normal" from `normal_law`, on the digit grid."""
    pairs = np.array([[r["accuracy"], r["test_accuracy"]] for r in retrained])
    if law == "measured":
        return pairs[rng.integers(len(pairs), size=shape)]
    mean, cov = normal_law(retrained)
    drawn = rng.multivariate_normal(mean, cov, size=shape)
    grid = np.array([VALID_SIZE, TEST_SIZE])
    return np.clip(np.round(drawn * grid), 0, grid) / grid


def chance_of_goal(
    retrained: list[dict[str, float]],
    target: dict[str, Any],
    k: int,
    law: str,
    draws: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per simulated run (``draws`` of them), whether the best by validation of k trainings meets the
    accuracy criteria against ``target`` (ties: the first of the k, as a search keeps its earlier trial)."""
    trainings = draw(retrained, law, (draws, k), rng)
    chosen = trainings[np.arange(draws), np.argmax(trainings[:, :, 0], axis=1)]
    return (chosen[:, 0] >= target["accuracy"] - EPS) & (
        chosen[:, 1] >= target["test_accuracy"] - TEST_SLACK - EPS
    )


def reach_chance(score: float, mean: float, spread: float) -> float:
    """The chance that one training, normal with this mean and standard deviation and rounded to the
    validation grid, scores at least ``score``."""
    z = (score - 0.5 / VALID_SIZE - mean) / spread
    return 0.5 * (1 - erf(z / 2**0.5))


def summary_chances(summaries: list[str], ks: list[int]) -> list[dict[str, Any]]:
    """Validation alone, from an earlier measurement's summary ("SPACE,SEED,SCORE,MEAN,SD", in percent:
    the search's score and its architecture's retrained mean and standard deviation): per k, the chance
    that the best of k such trainings reaches the score, per seed and on all of a space's seeds."""
    parsed = []
    for text in summaries:
        fields = text.split(",")
        if len(fields) != 5:
            raise ValueError(f"--summary {text!r}: expected SPACE,SEED,SCORE,MEAN,SD (percent)")
        space, seed, score, mean, spread = fields[0], int(fields[1]), *(float(f) / 100 for f in fields[2:])
        parsed.append((space, seed, reach_chance(score, mean, spread)))
    out = []
    for space in sorted({p[0] for p in parsed}):
        mine = [p for p in parsed if p[0] == space]
        for k in ks:
            per_seed = [1 - (1 - p) ** k for _, _, p in mine]
            out.append({
                "space": space, "law": "normal, validation only", "k": k, "seeds": [p[1] for p in mine],
                "per_seed": per_seed, "all": float(np.prod(per_seed)), "expected_met": sum(per_seed),
            })  # fmt: skip
    return out


def selection_bias(retrained_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per retrained best architecture: the search's score against its retrainings."""
    out = []
    for row in retrained_rows:
        values = [r["accuracy"] for r in row["retrained"]]
        mean, spread = statistics.mean(values), statistics.stdev(values)
        score = row["search_accuracy"]
        out.append({
            "space": row["space"], "split_seed": split_of(row), "seed": row["seed"],
            "strategy": row["strategy"], "search_accuracy": score,
            "search_test_accuracy": row["search_test_accuracy"], "mean": mean, "sd": spread,
            "min": min(values), "max": max(values), "excess": score - mean,
            "test_mean": statistics.mean(r["test_accuracy"] for r in row["retrained"]),
            "share_reaching": sum(v >= score - EPS for v in values) / len(values),
            "normal_reaching": reach_chance(score, mean, spread),
        })  # fmt: skip
    return out


def goal_chances(
    retrained_rows: list[dict[str, Any]], ks: list[int], draws: int, seed: int
) -> list[dict[str, Any]]:
    """Per space, law and k: the chance of `chance_of_goal` against each retrained TPE run (its search
    score the target: a second search of a split is another draw of the goal's baseline) and against all
    of them at once."""
    rng = np.random.default_rng(seed)
    references = [r for r in retrained_rows if r["strategy"] == "tpe"]
    out = []
    for space in sorted({r["space"] for r in references}):
        mine = sorted(
            (r for r in references if r["space"] == space),
            key=lambda r: (r["seed"] != split_of(r), r["seed"]),
        )
        for law in ("measured", "normal"):
            for k in ks:
                met = [
                    chance_of_goal(
                        r["retrained"],
                        {"accuracy": r["search_accuracy"], "test_accuracy": r["search_test_accuracy"]},
                        k, law, draws, rng,
                    )
                    for r in mine
                ]  # fmt: skip
                out.append({
                    "space": space, "law": law, "k": k, "seeds": [r["seed"] for r in mine],
                    "per_seed": [float(m.mean()) for m in met],
                    "all": float(np.logical_and.reduce(met).mean()),
                    "forward_seeds": [r["seed"] for r in mine if r["seed"] == split_of(r)],
                    "all_forward": float(np.logical_and.reduce(forward(met, mine)).mean()),
                    "expected_met": float(sum(m.mean() for m in met)),
                })  # fmt: skip
    return out


def forward(met: list[np.ndarray], runs: list[dict[str, Any]]) -> list[np.ndarray]:
    """The simulated outcomes against the goal's own baselines: the TPE runs that searched their own
    split."""
    return [m for m, r in zip(met, runs, strict=True) if r["seed"] == split_of(r)]


def _paths(patterns: list[str]) -> list[Path]:
    return [Path(p) for pattern in patterns for p in sorted(glob.glob(pattern))]


def _pct(value: float) -> str:
    return f"{100 * value:6.2f}"


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--runs", action="append", default=[], help="vs_sampling.py --json files (globs)")
    parser.add_argument("--retrained", action="append", default=[], help="retrain_seeds.py --json (globs)")
    parser.add_argument("--k", type=int, action="append", help="retrained architectures (default 4 6 8 30)")
    parser.add_argument("--draws", type=int, default=20_000, help="simulated runs per seed, law and k")
    parser.add_argument("--sim-seed", type=int, default=0, help="seed of the simulation's generator")
    parser.add_argument(
        "--summary", action="append", default=[], metavar="SPACE,SEED,SCORE,MEAN,SD",
        help="an earlier measurement's search score and retrained mean and sd (percent), for step 3",
    )  # fmt: skip
    args = parser.parse_args()
    rows = [row for path in _paths(args.runs) for row in json.loads(path.read_text())["rows"]]
    retrained = [
        row for path in _paths(args.retrained) for row in json.loads(path.read_text())["rows"]
        if row["rank"] == 1
    ]  # fmt: skip
    pairs = against_itself(rows)
    print("1. Against TPE's best of 30 on the same split (validation / test %; met: val >= and test >= -0.5)")
    print(
        f"{'space':6} {'split':>5} {'challenger':>12} {'reference (seed; trial)':>26} "
        f"{'best of first third':>28} {'best of all':>28}"
    )
    for p in pairs:
        ref, third, full = p["reference"], p["third"], p["all"]
        print(
            f"{p['space']:6} {p['split_seed']:5d} {p['strategy'] + ' ' + str(p['seed']):>12} "
            f"{_pct(ref['accuracy'])} / {_pct(ref['test_accuracy'])} ({ref['seed']}; {ref['trial']:2d})  "
            f"{third['trials']:2d}: {_pct(third['accuracy'])} / {_pct(third['test_accuracy'])} "
            f"{'met' if third['met'] else 'missed':6}  "
            f"{full['trials']:2d}: {_pct(full['accuracy'])} / {_pct(full['test_accuracy'])} "
            f"{'met' if full['met'] else 'missed'}"
        )
    for key in sorted({(p["space"], p["strategy"], p["direction"]) for p in pairs}):
        mine = [p for p in pairs if (p["space"], p["strategy"], p["direction"]) == key]
        third, full = sum(p["third"]["met"] for p in mine), sum(p["all"]["met"] for p in mine)
        print(
            f"  {key[0]}, {key[1]} against TPE ({key[2]}): best of a third met on {third} of {len(mine)} "
            f"splits, best of all on {full} of {len(mine)}"
        )
    bias = selection_bias(retrained)
    n = len(retrained[0]["retrained"]) if retrained else 0
    print(f"\n2. Each run's best architecture retrained {n} times (validation %, test %)")
    print(
        f"{'space':6} {'split':>5} {'run':>8} {'search val':>10} {'mean':>6} {'sd':>5} {'min':>6} {'max':>6} "
        f"{'excess':>6} {'reach':>5} {'normal':>6} {'search test':>11} {'test mean':>9}"
    )
    for b in bias:
        print(
            f"{b['space']:6} {b['split_seed']:5d} {b['strategy'] + ' ' + str(b['seed']):>8} "
            f"{_pct(b['search_accuracy']):>10} {_pct(b['mean'])} {100 * b['sd']:5.2f} {_pct(b['min'])} "
            f"{_pct(b['max'])} {100 * b['excess']:+6.2f} {b['share_reaching']:5.0%} "
            f"{b['normal_reaching']:6.1%} "
            f"{_pct(b['search_test_accuracy']):>11} {_pct(b['test_mean']):>9}"
        )
    ks = args.k or [4, 6, 8, 30]
    chances = goal_chances(retrained, ks, args.draws, args.sim_seed) + summary_chances(args.summary, ks)
    print(
        f"\n3. A method whose k trainings are each one of a TPE run's best architecture: chance to meet "
        f"both accuracy criteria ({args.draws} runs, numpy seed {args.sim_seed})"
    )
    for c in chances:
        seeds = " ".join(f"{s}:{p:.2f}" for s, p in zip(c["seeds"], c["per_seed"], strict=True))
        print(
            f"{c['space']:6} {c['law']:8} k={c['k']:2d}  per run (seed) {seeds}  "
            f"expected {c['expected_met']:.2f} of {len(c['seeds'])}, all {len(c['seeds'])}: {c['all']:.4f}"
            + (f", all of seeds {c['forward_seeds']}: {c['all_forward']:.4f}" if "all_forward" in c else "")
        )
    _report.write_json(
        args.json,
        {"pairs": pairs, "selection_bias": bias, "goal_chances": chances, "draws": args.draws,
         "sim_seed": args.sim_seed},
    )  # fmt: skip


if __name__ == "__main__":
    main()
