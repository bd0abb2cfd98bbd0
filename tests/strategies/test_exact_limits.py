"""A budget on a counted cost (a target device's predicted latency, the parameter count) is kept from the
first trial: the strategies judge it from the costs the engine tells them, without learning it first."""

from __future__ import annotations

import pytest

from nas_workbench import strategies
from nas_workbench.strategies.exact_limits import exact_limits
from nas_workbench.testing.samplers import ToySpace, quick_options, run_study, toy_accuracy
from tests.strategies.test_cost_prior import toy_params

#: About the 20th percentile of the toy space's parameter counts: most random draws are over it.
LIMIT = 1150.0
TRIALS = 12


def over(spec) -> float:
    return (toy_params(spec)["params"] - LIMIT) / LIMIT


def search(name: str, limits: dict[str, float] | None, costs: bool = True) -> list[float]:
    """The parameter counts of a search's trials, in order."""
    space = ToySpace()
    sampler = strategies.make_sampler(
        name, seed=0, space=space, costs=toy_params if costs else None, limits=limits, **quick_options(name)
    )
    study = run_study(
        sampler, space, lambda s: [toy_accuracy(s)], TRIALS, constraint=over, constraint_name="params"
    )
    return [toy_params(space.spec(t.params))["params"] for t in study.trials]


def test_most_random_draws_are_over_the_limit() -> None:
    space = ToySpace()
    counts = [toy_params(space.random(seed))["params"] for seed in range(200)]
    assert 0.1 <= sum(c <= LIMIT for c in counts) / len(counts) <= 0.35


@pytest.mark.parametrize("name", ["tpe", "gp", "evolution", "nsga2"])
def test_a_limit_the_engine_gives_is_kept_from_the_first_trial(name: str) -> None:
    counts = search(name, {"params": LIMIT})
    assert all(c <= LIMIT for c in counts), counts
    if name != "gp":  # the warm start (gp has none): the largest candidates within the limit
        assert min(counts[:5]) >= 0.9 * LIMIT, counts


@pytest.mark.parametrize("name", ["tpe", "evolution"])
def test_alone_with_optuna_the_first_profiled_trial_gives_the_limit(name: str) -> None:
    counts = search(name, None)
    assert all(c <= LIMIT for c in counts[1:]), counts


def test_without_the_costs_the_first_trials_learn_the_limit_by_going_over_it() -> None:
    counts = search("tpe", {"params": LIMIT}, costs=False)
    assert any(c > LIMIT for c in counts), counts


def test_exact_limits_come_from_the_engine_else_from_the_trials() -> None:
    observed = [
        ({"params": 0.5, "latency_ms": 0.1}, {"params": 300.0}),
        ({"params": -0.5}, {"params": 100.0}),
    ]
    assert exact_limits(["params"], {"params": 150.0, "peak_memory_mb": 3.0}, observed) == {"params": 150.0}
    assert exact_limits(["params"], None, observed) == {"params": 200.0}  # 300/1.5 and 100/0.5
    assert exact_limits(["params"], None, [({"latency_ms": 0.2}, {"params": 1.0})]) == {}
