"""Budgets no architecture can meet are refused before a study is created, naming the tightest value."""

from __future__ import annotations

import optuna
import pytest

import nas_workbench as nw
from nas_workbench.engine.feasibility import smallest
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
    spec, value, converged = smallest(space, metric, (1, 8, 8), 10)
    assert converged and value == exhaustive_minimum(space, metric)
    assert space.validate(spec) == spec


def test_fixed_choices_are_kept_while_searching():
    space = nw.spaces.get("chain", **TINY)
    spec, _, _ = smallest(space, "params", (1, 8, 8), 10, fixed_choices={"stage1.block0.op": "conv"})
    assert spec.choices["stage1.block0.op"] == "conv"


def test_an_impossible_budget_is_refused_before_the_study_exists(storage):
    floor = exhaustive_minimum(nw.spaces.get("chain", **TINY), "params")
    config = cheap_config(storage, "impossible", space_options=TINY, budget={"params": floor - 1})
    with pytest.raises(InfeasibleBudgetError) as info:
        nw.search(config)
    message = str(info.value)
    assert message.startswith("budget.params") and f"tightest achievable value is {floor:g}" in message
    assert optuna.get_all_study_names(storage) == []  # nothing was created


def test_the_tightest_budget_is_accepted_and_the_search_runs(storage):
    floor = exhaustive_minimum(nw.spaces.get("chain", **TINY), "params")
    config = cheap_config(storage, "tight", space_options=TINY, budget={"params": floor}, n_trials=3)
    run = nw.search(config, evaluate=score).run()
    assert run.trials_done() == 3
