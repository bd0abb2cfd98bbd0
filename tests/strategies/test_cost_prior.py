"""The cost prior's warm start: once feasibility is learnt, the largest candidates predicted within budget.

On `ToySpace` under a budget on its total hidden width (`toy_cost` <= 40), the accuracy (`toy_accuracy`)
grows with width and depth, so the feasible optimum sits at the budget's edge; every strategy is told
each candidate's parameter count (what the engine counts for every search) and driven as the engine
drives it (`run_study`: over-budget trials pruned with their constraint, no value).
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from nas_workbench import strategies
from nas_workbench.exceptions import ConfigError
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies._history import parent_spec
from nas_workbench.strategies.cost_prior import CostPrior, choices_key
from nas_workbench.strategies.feasibility_model import FeasibilityModel
from nas_workbench.testing.samplers import ToySpace, quick_options, run_study, toy_accuracy, toy_cost

BUDGET = 40.0
LEARNING = ["tpe", "evolution", "rl", "nsga2"]
#: Input features and classes of the toy networks whose parameters are counted.
FEATURES, CLASSES = 64, 10


def toy_params(spec: ArchSpec) -> dict[str, float]:
    """The parameter count of the toy network `spec` describes (weights and biases of its layers)."""
    widths = [FEATURES] + [spec.choices[f"layer{i}.width"] for i in range(spec.choices["depth"])]
    if spec.choices["head"] == "mlp":
        widths.append(widths[-1])
    widths.append(CLASSES)
    return {"params": float(sum(a * b + b for a, b in itertools.pairwise(widths)))}


def constraint(spec: ArchSpec) -> float:
    return (toy_cost(spec) - BUDGET) / BUDGET


def search(name: str, seed: int, prior_trials: int, n_trials: int) -> list:
    space = ToySpace()
    options = {**quick_options(name), "prior_trials": prior_trials, "prior_pool": 1000}
    if name == "random":  # no feasibility model, no warm start
        options = {}
    sampler = strategies.make_sampler(name, seed=seed, space=space, costs=toy_params, **options)
    return run_study(sampler, space, lambda s: [toy_accuracy(s)], n_trials, constraint=constraint).trials


def test_the_prior_picks_the_largest_untried_candidate_predicted_within_budget() -> None:
    space = ToySpace()
    trials = search("random", 0, 0, 30)  # the constrained history of a random search
    model = FeasibilityModel.fit(trials)
    assert model is not None
    prior = CostPrior(space, toy_params, size=1000, seed=0)
    ranked = prior.ranked()
    assert len(ranked) == 1000  # a sample of the 3,768
    sizes = [toy_params(space.spec(choices))["params"] for choices in ranked]
    assert sizes == sorted(sizes, reverse=True)
    first = prior.pick(model, lambda choices: False)
    assert first is not None and model.headroom(first) <= 0
    # nothing ranked above it is predicted within budget, and once tried the next one comes
    assert all(model.headroom(c) > 0 for c in ranked[: ranked.index(first)])
    second = prior.pick(model, lambda choices: choices_key(choices) == choices_key(first))
    assert second is not None and second != first and ranked.index(second) > ranked.index(first)


def test_a_bolder_prior_picks_larger_candidates_predicted_just_over_the_limit() -> None:
    """``prior_z``: the warm start may take a candidate predicted up to that many leave-one-out deviations
    over the limit (where the model is a few percent off at the edge, the largest ones within budget are
    predicted about at it); none ranked above its pick is within that reach."""
    space = ToySpace()
    fitted = FeasibilityModel.fit(search("random", 0, 0, 30))
    assert fitted is not None
    model = dataclasses.replace(fitted, spread=fitted.spread + 0.6)  # off by 60% of the limit
    prior = CostPrior(space, toy_params, size=1000, seed=0)
    ranked = prior.ranked()
    safe = prior.pick(model, lambda choices: False)
    bold = prior.pick(model, lambda choices: False, z=1.0)
    assert safe == prior.pick(fitted, lambda choices: False)  # 0: within budget, whatever the spread
    assert safe is not None and bold is not None
    assert ranked.index(bold) < ranked.index(safe) and model.headroom(bold) > 0
    assert model.excess(bold, 1.0) == 0.0
    assert all(model.excess(c, 1.0) > 0 for c in ranked[: ranked.index(bold)])
    with pytest.raises(ConfigError, match="prior_z"):
        strategies.make_sampler("tpe", seed=0, space=space, costs=toy_params, prior_z=-1.0)


@pytest.mark.parametrize(
    # REINFORCE's policy updates make its two searches take about 18 s at load 13 (the others about 3 s)
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n == "rl" else n for n in LEARNING],
)
def test_the_warm_start_spends_trials_inside_the_budget_at_its_edge(name: str) -> None:
    space = ToySpace()
    warm, cold = search(name, 0, 10, 20), search(name, 0, 0, 20)
    assert [t.params for t in warm[:10]] == [t.params for t in cold[:10]]  # the model's first 10 alike
    # the 10 trials after the model's first fit are the prior's: within budget as far as 10 trials teach
    # the model, and spending most of it (the feasible optimum spends all 40), none twice
    prior_costs = [toy_cost(parent_spec(t, space)) for t in warm[10:]]
    inside = [cost for cost in prior_costs if cost <= BUDGET]
    assert len(inside) >= 8 and min(inside) >= 0.75 * BUDGET, prior_costs
    assert len({choices_key(t.params) for t in warm[10:]}) == 10
    # spending at least as much of the budget in feasible trials as the strategy's own proposals
    # (NSGA-II's, the nearest of 8 proposals within budget, spend as much on this space since the
    # feasibility model learns the cost of a width whichever layer has it: `shared_choices`)
    own_costs = [toy_cost(parent_spec(t, space)) for t in cold[10:]]
    own_inside = [cost for cost in own_costs if cost <= BUDGET]
    assert sum(own_inside) <= sum(inside), own_costs


def test_without_costs_or_a_budget_nothing_changes() -> None:
    space = ToySpace()
    options = quick_options("evolution")
    with_prior = strategies.make_sampler("evolution", seed=0, space=space, costs=toy_params, **options)
    without = strategies.make_sampler("evolution", seed=0, space=space, prior_trials=0, **options)

    def choices(sampler) -> list:  # no constraints: the study has no feasibility model, no warm start
        return [t.params for t in run_study(sampler, space, lambda s: [toy_accuracy(s)], 15).trials]

    assert choices(with_prior) == choices(without)


def test_a_prediction_a_millionth_over_the_limit_counts_as_at_it() -> None:
    # Where the best architectures take exactly the budget (a cost the model learns exactly, Pixel 2's
    # whole milliseconds), rounding puts their prediction a hair over the limit; they are within budget.
    model = FeasibilityModel.fit(search("random", 0, 0, 30))
    assert model is not None and model.skill.min() >= 0.5
    params = search("random", 1, 0, 1)[0].params
    predicted = model.predict(params)[model.names[0]]

    def shifted_to(value: float) -> FeasibilityModel:
        coefficients = model.coefficients.copy()
        coefficients[0] += value - predicted  # the intercept: this architecture's prediction is value
        return dataclasses.replace(model, coefficients=coefficients)

    at_limit, over = shifted_to(1e-6), shifted_to(0.01)
    assert at_limit.headroom(params) <= 0 and at_limit.excess(params, 0.0) == 0.0
    assert over.headroom(params) > 0 and over.excess(params, 0.0) > 0
