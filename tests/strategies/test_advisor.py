"""The strategy advisor picks a registered strategy that fits the search, with a one-sentence reason."""

from __future__ import annotations

import dataclasses

import pytest

import nas_workbench as nw
from nas_workbench import spaces, strategies
from nas_workbench.strategies import advise
from nas_workbench.testing.samplers import ToySpace

NB201 = spaces.get("nb201")


@pytest.mark.parametrize(
    ("space", "objectives", "budget", "n_trials", "expected"),
    [
        (ToySpace(), ["accuracy"], None, 5000, "grid"),  # 3,768 architectures: enumerate them
        (NB201, ["accuracy"], None, 20, "gp"),
        (NB201, ["accuracy"], {"latency_ms": 2.0}, 40, "gp"),
        (NB201, ["accuracy"], {"latency_ms": 2.0}, 100, "gp"),  # under a budget, up to 100 trials
        (NB201, ["accuracy"], {"latency_ms": 2.0}, 101, "tpe"),
        (NB201, ["accuracy"], {"params": 1e6}, 100, "tpe"),  # a counted limit is judged exactly, not learnt
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
    assert advise(NB201, ["accuracy"], {"latency_ms": 8.0}, 100, None).strategy == "gp"
    several = advise(NB201, ["accuracy", "params"], {"latency_ms": 8.0}, 100, None, target_device="pixel2")
    assert strategies.get(several.strategy).multi_objective
    assert advise(NB201, ["accuracy"], {"params": 1e6}, 100, None, target_device="pixel2").strategy == "tpe"


def test_a_target_device_latency_budget_goes_to_proxy_guided_search_even_where_dnas_would_search() -> None:
    """At 10 trials NAS-Bench-201 goes to the supernet (15,625 >= 1,000 x 10); with a latency budget on a
    target device it goes to proxy_guided all the same (README, "Search under a device latency budget"),
    and the reason says why not dnas: its latency loss ranks operators by this machine's lookup table."""
    assert advise(NB201, ["accuracy"], None, 10, None).strategy == "dnas"
    advice = advise(NB201, ["accuracy"], {"latency_ms": 8.0}, 10, None, target_device="pixel2")
    assert advice.strategy == "proxy_guided", advice
    assert "dnas's latency loss" in advice.reason and "this machine's lookup table" in advice.reason
    assert advice.reason.endswith(".") and advice.reason.count(". ") == 0
    # without a target device the small trial count still goes to the supernet
    assert advise(NB201, ["accuracy"], {"latency_ms": 8.0}, 10, None).strategy == "dnas"


def test_auto_the_default_strategy_is_what_the_advisor_recommends() -> None:
    budgeted = nw.SearchConfig(
        space="nb201",
        objectives=["accuracy"],
        budget={"latency_ms": 8.0},
        target_device="pixel2",
        n_trials=100,
    )
    assert budgeted.strategy == "auto"
    advice = strategies.auto_advice(budgeted)
    assert advice == advise(NB201, ["accuracy"], {"latency_ms": 8.0}, 100, None, target_device="pixel2")
    assert strategies.resolved_strategy(budgeted) == "proxy_guided"
    # without the target device the same budget goes to a GP, several objectives to a multi-objective one
    assert strategies.resolved_strategy(dataclasses.replace(budgeted, target_device=None)) == "gp"
    assert strategies.get(strategies.resolved_strategy(nw.SearchConfig())).multi_objective
    named = dataclasses.replace(budgeted, strategy="evolution")  # (replace would validate the device)
    assert strategies.auto_advice(named) is None and strategies.resolved_strategy(named) == "evolution"


def test_a_search_runs_stores_and_names_the_strategy_auto_resolved_to(storage: str) -> None:
    from nas_workbench.engine.study_record import read_record
    from tests.engine.conftest import cheap_config

    config = cheap_config(storage, "auto-resolved", strategy="auto", n_trials=30)
    run = nw.search(config)
    expected = advise(spaces.get("chain", **config.space_options), config.objectives, {}, 30, None)
    assert run.strategy_advice == expected and run.config.strategy == expected.strategy
    record = read_record(run.study)
    assert record is not None and record.strategy == expected.strategy
    assert record.config["strategy"] == "auto"  # the config as given, for a resume or a worker


def test_an_auto_search_without_a_study_name_is_stored_under_the_name_it_reports(storage: str) -> None:
    # `nas-workbench run` printed "Study 'chain-auto-seed0'" and wrote runs/chain-auto-seed0.html while
    # the study was stored as chain-tpe-seed0: `show chain-auto-seed0` then found no study.
    from tests.engine.conftest import cheap_config

    config = cheap_config(storage, "unused", strategy="auto", n_trials=1).replace(study_name=None)
    run = nw.search(config)
    assert run.study_name == run.study.study_name == f"chain-auto-seed{config.seed}"
