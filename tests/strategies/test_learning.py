"""Each learning strategy beats random search on a known objective, on average over seeds.

The objective is `toy_accuracy` on `ToySpace` (3,768 architectures, one optimum): cheap, so many seeds fit
in seconds. "Beats" is a one-sided Wilcoxon signed-rank test on the best value found, paired by seed, at
the 5% level: the seeds are fixed, so the test is deterministic, and a strategy that learned nothing would
pass it with probability 5%.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import optuna
import pytest
from scipy.stats import wilcoxon

from nas_workbench import strategies
from nas_workbench.testing.samplers import ToySpace, run_study, toy_accuracy, toy_cost

SPACE = ToySpace()
SEEDS = range(12)
BOTH = ("maximize", "minimize")


def _best(name: str, seed: int, n_trials: int, **options: object) -> float:
    sampler = strategies.make_sampler(name, seed=seed, space=SPACE, **options)
    return run_study(sampler, SPACE, lambda s: [toy_accuracy(s)], n_trials).best_value


def _hypervolume(study: optuna.Study) -> float:
    """Area dominated by the front of (accuracy ↑, cost ↓) up to the reference point (0, 100)."""
    front = sorted((t.values[1], t.values[0]) for t in study.best_trials)
    edges = [cost for cost, _ in front[1:]] + [100.0]
    return sum((edge - cost) * accuracy for (cost, accuracy), edge in zip(front, edges, strict=True))


def _front(name: str, seed: int, n_trials: int, **options: object) -> float:
    sampler = strategies.make_sampler(name, seed=seed, space=SPACE, directions=BOTH, **options)
    return _hypervolume(run_study(sampler, SPACE, lambda s: [toy_accuracy(s), toy_cost(s)], n_trials, BOTH))


@cache
def _random(measure: Callable[..., float], n_trials: int) -> tuple[float, ...]:
    return tuple(measure("random", seed, n_trials) for seed in SEEDS)


def _assert_beats_random(scores: Sequence[float], baseline: Sequence[float], name: str) -> None:
    mean, base = sum(scores) / len(scores), sum(baseline) / len(baseline)
    p = wilcoxon(scores, baseline, alternative="greater").pvalue
    assert mean > base and p < 0.05, f"{name}: mean {mean:.3f} vs random {base:.3f}, p = {p:.3f}"


@pytest.mark.parametrize(
    ("name", "n_trials"),
    [("evolution", 60), ("tpe", 60), ("rl", 60), pytest.param("gp", 30, marks=pytest.mark.slow)],
)
def test_single_objective_strategy_beats_random(name: str, n_trials: int) -> None:
    scores = [_best(name, seed, n_trials) for seed in SEEDS]
    _assert_beats_random(scores, _random(_best, n_trials), name)


@pytest.mark.parametrize("name", ["nsga2", "evolution", pytest.param("tpe", marks=pytest.mark.slow)])
def test_multi_objective_strategy_beats_random_on_hypervolume(name: str) -> None:
    options = {"population_size": 20} if name == "nsga2" else {}
    scores = [_front(name, seed, 150, **options) for seed in SEEDS]
    _assert_beats_random(scores, _random(_front, 150), name)
