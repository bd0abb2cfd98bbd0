"""Budgets no architecture can meet are refused before a study is created, naming the tightest value."""

from __future__ import annotations

import re

import optuna
import pytest

import nas_workbench as nw
from nas_workbench.engine.feasibility import architecture_value, smallest
from nas_workbench.exceptions import InfeasibleBudgetError
from nas_workbench.profiling.flops import count
from nas_workbench.testing.workers import TINY_CHAIN, score
from tests.engine.conftest import cheap_config

TINY = {**TINY_CHAIN, "max_depth": 2}  # 20 architectures


def exhaustive_minimum(space, metric: str) -> float:
    values = []
    for spec in nw.spaces.enumerate_specs(space):
        model = space.build(spec, (1, 8, 8), 10)
        values.append(
            sum(p.numel() for p in model.parameters())
            if metric == "params"
            else count(model, (1, 8, 8))[metric].value
        )
    return min(values)


@pytest.mark.parametrize("metric", ["params", "macs"])
def test_the_descent_finds_the_exhaustive_minimum(metric):
    space = nw.spaces.get("chain", **TINY)
    spec, value, converged = smallest(space, architecture_value(space, metric, (1, 8, 8), 10))
    assert converged and value == exhaustive_minimum(space, metric)
    assert space.validate(spec) == spec


def test_fixed_choices_are_kept_while_searching():
    space = nw.spaces.get("chain", **TINY)
    params = architecture_value(space, "params", (1, 8, 8), 10)
    spec, _, _ = smallest(space, params, fixed_choices={"stage1.block0.op": "conv"})
    assert spec.choices["stage1.block0.op"] == "conv"


def test_an_impossible_budget_is_refused_before_the_study_exists(storage):
    floor = exhaustive_minimum(nw.spaces.get("chain", **TINY), "params")
    config = cheap_config(storage, "impossible", space_options=TINY, budget={"params": floor - 1})
    with pytest.raises(InfeasibleBudgetError) as info:
        nw.search(config)
    message = str(info.value)
    assert message.startswith("budget.params") and f"tightest achievable value is {floor:g}" in message
    assert optuna.get_all_study_names(storage) == []  # nothing was created
    assert info.value.__context__ is None  # a notebook shows the refusal alone, not Optuna's KeyError first


def test_the_tightest_budget_is_accepted_and_the_search_runs(storage):
    floor = exhaustive_minimum(nw.spaces.get("chain", **TINY), "params")
    config = cheap_config(storage, "tight", space_options=TINY, budget={"params": floor}, n_trials=3)
    run = nw.search(config, evaluate=score).run()
    assert run.trials_done() == 3


def test_a_latency_budget_below_the_fastest_architecture_is_refused_with_the_tightest_value(
    storage, tiny_task
):
    space = nw.spaces.get("chain", **TINY_CHAIN)
    config = cheap_config(storage, "too-fast", threads=1, budget={"latency_ms": 1e-6})
    with pytest.raises(InfeasibleBudgetError) as info:
        nw.search(config, evaluate=score, data=tiny_task)
    message = str(info.value)
    match = re.search(
        r"tightest achievable value is ([0-9.e+-]+) ms \(measured on cpu, confirmed\): .+?, in the space's "
        r"notation (.+?)\. Raise",
        message,
    )
    assert message.startswith("budget.latency_ms") and "fits 1e-06 ms" in message and match, message
    assert float(match.group(1)) > 1e-6
    assert space.format(space.parse(match.group(2))) == match.group(2)  # an architecture of the space
    assert optuna.get_all_study_names(storage) == []


def test_a_memory_budget_below_the_smallest_network_is_refused_with_the_exhaustive_minimum(
    storage, tiny_task
):
    space = nw.spaces.get("chain", **TINY_CHAIN)
    memory = architecture_value(space, "peak_memory_mb", (1, 8, 8), 2, threads=1)
    floor = min(memory(spec) for spec in nw.spaces.enumerate_specs(space))
    config = cheap_config(storage, "too-small", threads=1, budget={"peak_memory_mb": floor / 2})
    with pytest.raises(InfeasibleBudgetError) as info:
        nw.search(config, evaluate=score, data=tiny_task)
    match = re.search(r"tightest achievable value is ([0-9.e+-]+) MB", str(info.value))
    assert str(info.value).startswith("budget.peak_memory_mb") and match, str(info.value)
    assert float(match.group(1)) == pytest.approx(floor, rel=0.05)


def test_a_latency_budget_some_architecture_meets_is_accepted(storage, tiny_task):
    space = nw.spaces.get("chain", **TINY_CHAIN)
    latency = architecture_value(space, "latency_ms", (1, 8, 8), 2, threads=1)
    slowest = max(latency(spec) for spec in nw.spaces.enumerate_specs(space))
    config = cheap_config(storage, "roomy", threads=1, budget={"latency_ms": 100 * slowest})
    assert nw.search(config, evaluate=score, data=tiny_task).study.study_name == "roomy"
