"""The strategy advisor picks a registered strategy that fits the search, with a one-sentence reason."""

from __future__ import annotations

import pytest

from nas_workbench import spaces, strategies
from nas_workbench.strategies import advise
from nas_workbench.testing.samplers import ToySpace

NB201 = spaces.get("nb201")


@pytest.mark.parametrize(
    ("space", "objectives", "budget", "n_trials", "expected"),
    [
        (ToySpace(), ["accuracy"], None, 5000, "grid"),  # 3,768 architectures: enumerate them
        (NB201, ["accuracy"], None, 20, "gp"),
        (NB201, ["accuracy"], {"latency_ms": 2.0}, 80, "tpe"),
        (NB201, ["accuracy"], None, 300, "tpe"),
        (NB201, ["accuracy", "latency_ms"], None, 300, "tpe"),
        (NB201, ["accuracy", "latency_ms"], None, 2000, "tpe"),
        (NB201, ["accuracy", "latency_ms"], None, 10_000, "nsga2"),
        (spaces.get("multi_branch"), ["accuracy"], None, 300, "tpe"),  # huge but not relaxable
    ],
)
def test_recommendations(space, objectives, budget, n_trials, expected) -> None:
    advice = advise(space, objectives, budget, n_trials, None)
    assert advice.strategy == expected, advice
    assert advice.strategy in strategies.list()
    assert advice.reason.endswith(".") and advice.reason.count(". ") == 0  # one sentence


def test_a_huge_cell_space_goes_to_the_gradient_based_strategy_but_the_chain_space_does_not() -> None:
    """Measured (benchmarks/dnas/vs_sampling.py): the cell supernet searches and retrains in a fraction of
    TPE's time; the chain supernet, which runs every width pair and block variant, takes longer."""
    gradient = [n for n in strategies.list() if strategies.get(n).relaxation]
    if not gradient:
        pytest.skip("no gradient-based strategy is registered")
    huge_cell = spaces.get("cell", num_nodes=6)  # 5^15 architectures
    advice = advise(huge_cell, ["accuracy", "latency_ms"], {"latency_ms": 1.0}, 50, None)
    assert advice.strategy == gradient[0]
    assert "relaxation" in advice.reason
    chain = advise(spaces.get("chain"), ["accuracy", "latency_ms"], {"latency_ms": 1.0}, 50, None)
    assert chain.strategy not in gradient


def test_the_reason_names_the_budget_and_an_unknown_trial_count() -> None:
    advice = advise(NB201, ["accuracy"], {"latency_ms": 2.0}, None, 600)
    assert "latency_ms" in advice.reason and "600 s" in advice.reason
    assert str(advice).startswith(f"{advice.strategy}: ")


def test_never_recommends_a_strategy_that_refuses_the_objectives() -> None:
    for n_trials in (10, 50, 100, 200, 1000, None):
        advice = advise(NB201, ["accuracy", "latency_ms"], None, n_trials, None)
        assert strategies.get(advice.strategy).multi_objective


def test_a_latency_budget_on_a_target_device_goes_to_proxy_guided_search() -> None:
    """Its predicted latency is known before training (benchmarks/strategies/nb201_budgeted.py --costs
    latency): proxy_guided filters by it exactly. Without a target device, or for several objectives, not."""
    advice = advise(NB201, ["accuracy"], {"latency_ms": 8.0}, 100, None, target_device="pixel2")
    assert advice.strategy == "proxy_guided" and "'pixel2'" in advice.reason
    assert advice.reason.endswith(".") and advice.reason.count(". ") == 0
    assert advise(NB201, ["accuracy"], {"latency_ms": 8.0}, 100, None).strategy == "tpe"
    several = advise(NB201, ["accuracy", "params"], {"latency_ms": 8.0}, 100, None, target_device="pixel2")
    assert strategies.get(several.strategy).multi_objective
    assert advise(NB201, ["accuracy"], {"params": 1e6}, 100, None, target_device="pixel2").strategy == "tpe"
