"""The feasibility model (nas_workbench.strategies.feasibility) and each strategy's use of constraints as
constraints, on the toy space: cost rises with accuracy, so the best architecture is over budget and the
best feasible one is known by enumeration."""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, create_trial

from nas_workbench import strategies
from nas_workbench.spaces._base import enumerate_specs
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies._history import parent_spec
from nas_workbench.strategies.budget_aware import BudgetAwareSampler
from nas_workbench.strategies.cost_features import CostFeatures, shared_choices
from nas_workbench.strategies.cost_prior import choices_key
from nas_workbench.strategies.feasibility import FeasibilityFilter
from nas_workbench.strategies.feasibility_model import FeasibilityModel
from nas_workbench.testing.samplers import ToySpace, quick_options, run_study, toy_accuracy, toy_cost

#: A budget of 40 on the toy cost (total hidden width, 8 to 96): random sampling draws about 60% feasible
#: architectures (shallow ones are likelier), and the unconstrained optimum (three 32-wide layers) is out.
BUDGET = 40.0
LEARNING = [name for name in strategies.list() if name not in ("random", "grid", "dnas")]


def relative(cost: float) -> float:
    """The engine's constraint value for ``cost`` under `BUDGET`."""
    return (cost - BUDGET) / BUDGET


def toy_trial(spec: ArchSpec, constraint: float | None) -> FrozenTrial:
    """A finished trial of ``spec`` (on `ToySpace`) with the constraint value ``constraint``."""
    distributions: dict[str, CategoricalDistribution] = {}

    class Replay:  # answers the space's questions from the spec, noting each question's choices
        def suggest_categorical(self, name: str, choices: list) -> object:
            distributions[name] = CategoricalDistribution(choices)
            return spec.choices[name]

    params = ToySpace().define(Replay())
    constraints = {} if constraint is None else {"budget": constraint}
    return create_trial(params=params, distributions=distributions, value=0.0, constraints=constraints)


def random_specs(n: int, seed: int) -> list[ArchSpec]:
    rng = random.Random(seed)
    return [ToySpace().random(rng) for _ in range(n)]


def test_the_model_learns_an_additive_cost_and_trusts_itself() -> None:
    model = FeasibilityModel.fit([toy_trial(s, relative(toy_cost(s))) for s in random_specs(40, 0)])
    assert model is not None and model.names == ("budget",) and model.n_trials == 40
    held_out = random_specs(300, 1)
    predicted = np.array([model.predict(s.choices)["budget"] for s in held_out])
    actual = np.array([relative(toy_cost(s)) for s in held_out])
    # The toy cost is a sum of per-decision costs (absent layers cost nothing): the one-hot model fits it
    # up to the ridge penalty's shrinkage, and its leave-one-out spread says so.
    errors = np.abs(predicted - actual)
    assert errors.max() < 0.25 and errors.mean() < 0.06
    assert model.spread[0] < 0.1 and model.skill[0] > 0.9
    assert np.mean((predicted <= 0) == (actual <= 0)) > 0.95
    far = [s for s in held_out if toy_cost(s) >= 2 * BUDGET]
    assert far and all(model.excess(s.choices, z=1.0) > 0 for s in far)


def test_decisions_with_the_same_choices_share_a_count_per_choice() -> None:
    decisions = {"a": (8, 16), "b": ("relu", "gelu", "tanh"), "c": (8, 16)}
    pooling = shared_choices(decisions)
    # one-hot rows: a=8, a=16, b=relu, b=gelu, b=tanh, c=8, c=16; columns: how many chose 8, 16
    assert pooling.tolist() == [[1, 0], [0, 1], [0, 0], [0, 0], [0, 0], [1, 0], [0, 1]]
    assert shared_choices({"a": (8, 16)}).shape == (2, 0)  # nothing shared: no count


def test_a_cost_shared_by_decisions_is_learnt_from_ten_trials() -> None:
    # The toy cost is the total width, whichever layer has it: the counts of each width learn it from 10
    # random trials (mean error 0.03-0.06 over these seeds), where one weight per layer and width could
    # not (0.18-0.25 for the one-hot model alone, measured when the counts were added).
    held_out = random_specs(300, 99)
    actual = np.array([relative(toy_cost(s)) for s in held_out])
    for seed in range(5):
        model = FeasibilityModel.fit([toy_trial(s, relative(toy_cost(s))) for s in random_specs(10, seed)])
        assert model is not None
        errors = np.abs([model.predict(s.choices)["budget"] for s in held_out] - actual)
        assert errors.mean() < 0.1, (seed, errors.mean())


def squared_cost(spec: ArchSpec) -> float:
    """A cost no sum of per-decision costs can reproduce (it multiplies layers' widths together)."""
    return toy_cost(spec) ** 2


def test_a_cost_known_before_training_makes_the_model_exact() -> None:
    def constraint(spec: ArchSpec) -> float:
        return (squared_cost(spec) - BUDGET**2) / BUDGET**2

    trials = [toy_trial(s, constraint(s)) for s in random_specs(30, 0)]
    held_out = random_specs(300, 1)
    actual = np.array([constraint(s) for s in held_out])
    costs = CostFeatures(ToySpace(), lambda spec: {"squared": squared_cost(spec)})
    for model, worst in ((FeasibilityModel.fit(trials), 0.3), (FeasibilityModel.fit(trials, costs), 1e-3)):
        assert model is not None
        errors = np.abs([model.predict(s.choices)["budget"] for s in held_out] - actual)
        # the one-hot model can only approximate a product of widths; given the cost, the constraint is a
        # linear function of it (the engine's (value - limit) / limit), learnt to rounding error
        assert (errors.max() > worst) if worst > 0.1 else (errors.max() < worst), errors.max()


@pytest.mark.parametrize("name", ["tpe", "evolution", "rl", "nsga2"])
def test_given_the_constrained_cost_a_strategy_proposes_nothing_over_budget(name: str) -> None:
    space = ToySpace()
    sampler = strategies.make_sampler(
        name, seed=0, space=space, costs=lambda spec: {"squared": squared_cost(spec)}, **quick_options(name)
    )
    study = run_study(
        sampler,
        space,
        lambda s: [toy_accuracy(s)],  # over budget: pruned, not evaluated (as the engine does)
        30,
        constraint=lambda s: (squared_cost(s) - BUDGET**2) / BUDGET**2,
    )
    # the first `min_trials` (10) teach the model; from then on every proposal fits the budget
    late = [t.constraints["budget"] for t in study.trials[10:]]
    assert max(late) <= 1e-6, f"{name}: {sum(v > 0 for v in late)} of {len(late)} trials over budget"


def test_a_model_of_noise_does_not_trust_itself() -> None:
    rng = random.Random(0)
    model = FeasibilityModel.fit([toy_trial(s, rng.uniform(-1, 1)) for s in random_specs(40, 0)])
    assert model is not None and model.spread[0] > 0.4 and model.skill[0] < 0.5
    # a cost it cannot predict is no reason to refuse an architecture
    assert all(model.excess(s.choices, z=0.0) == 0 for s in random_specs(300, 1))


def test_no_model_without_constraints() -> None:
    assert FeasibilityModel.fit([toy_trial(s, None) for s in random_specs(20, 0)]) is None
    assert FeasibilityModel.fit([]) is None


def test_the_filter_keeps_the_first_plausible_proposal_else_the_least_over() -> None:
    model = FeasibilityModel.fit([toy_trial(s, relative(toy_cost(s))) for s in random_specs(40, 0)])
    cheap, costly = (
        {"depth": 1, "layer0.width": 8},
        {"depth": 3, **{f"layer{i}.width": 32 for i in range(3)}},
    )
    middle = {"depth": 2, "layer0.width": 32, "layer1.width": 32}
    proposals = iter([costly, middle, cheap, costly])
    assert FeasibilityFilter(candidates=5).choose(model, lambda: next(proposals)) == cheap
    only_over = iter([costly, middle, costly])
    assert FeasibilityFilter(candidates=3).choose(model, lambda: next(only_over)) == middle
    assert FeasibilityFilter().choose(None, lambda: costly) == costly  # no model: the strategy's own choice
    with pytest.raises(Exception, match="feasibility_candidates"):
        FeasibilityFilter(candidates=0)


def test_without_a_budget_a_wrapped_sampler_is_the_sampler_itself() -> None:
    space = ToySpace()
    wrapped = strategies.make_sampler("tpe", seed=0, space=space, **quick_options("tpe"))  # and its handover
    budget_aware = strategies.make_sampler("tpe", seed=0, space=space, handover=False, **quick_options("tpe"))
    assert isinstance(budget_aware, BudgetAwareSampler)
    bare = budget_aware.sampler

    def choices(sampler: optuna.samplers.BaseSampler) -> list[dict]:
        study = run_study(sampler, space, lambda s: [toy_accuracy(s)], 20)
        return [t.params for t in study.trials]

    assert choices(wrapped) == choices(bare)


def _feasible_share(name: str, seeds: range, n_trials: int) -> tuple[float, float]:
    """Share of feasible trials over ``seeds``, and the mean best feasible toy accuracy found."""
    space = ToySpace()
    shares, bests = [], []
    for seed in seeds:
        sampler = strategies.make_sampler(name, seed=seed, space=space, **quick_options(name))
        study = run_study(
            sampler,
            space,
            # as the engine does: a network over budget is not evaluated, its trial ends as pruned
            lambda s: [toy_accuracy(s)],
            n_trials,
            constraint=lambda s: relative(toy_cost(s)),
        )
        assert len(study.trials) == n_trials  # infeasible trials stay in the study
        feasible = [t for t in study.trials if t.constraints["budget"] <= 0]
        shares.append(len(feasible) / n_trials)
        bests.append(max((t.value for t in feasible), default=0.0))
    return float(np.mean(shares)), float(np.mean(bests))


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "gp" else n for n in LEARNING]
)
def test_each_strategy_spends_its_trials_inside_the_budget(name: str) -> None:
    space = ToySpace()
    optimum = max(toy_accuracy(s) for s in enumerate_specs(space) if toy_cost(s) <= BUDGET)
    seeds, n_trials = range(3), 40
    random_share, random_best = _feasible_share("random", seeds, n_trials)
    share, best = _feasible_share(name, seeds, n_trials)
    assert share > random_share + 0.1, f"{name}: {share:.0%} feasible trials, random {random_share:.0%}"
    # and the trials inside the budget are not wasted: a better feasible architecture than random finds
    assert random_best < best <= optimum, f"{name}: {best:.3f}, random {random_best:.3f}, best {optimum:.3f}"


def test_the_filter_can_lean_to_the_budgets_edge() -> None:
    model = FeasibilityModel.fit([toy_trial(s, relative(toy_cost(s))) for s in random_specs(40, 0)])
    cheap = {"depth": 1, "layer0.width": 8}  # cost 8 of 40
    near = {"depth": 2, "layer0.width": 16, "layer1.width": 16}  # 32 of 40
    costly = {"depth": 3, **{f"layer{i}.width": 32 for i in range(3)}}  # 96: far over
    assert model is not None and model.headroom(cheap) < model.headroom(near) < 0 < model.headroom(costly)

    def proposals() -> Callable[[], dict]:
        drawn = iter([cheap, costly, near, cheap])
        return lambda: next(drawn)

    assert FeasibilityFilter(edge=1).choose(model, proposals()) == cheap  # the first plausible one
    # of the first two plausible proposals, the one predicted closest under the limit
    assert FeasibilityFilter(edge=2).choose(model, proposals()) == near
    with pytest.raises(Exception, match="feasibility_edge"):
        FeasibilityFilter(edge=0)


def _feasible_costs(name: str, edge: int, seeds: range, n_trials: int) -> list[float]:
    """The toy costs of the feasible trials after the first 10 (once the feasibility model is fitted)."""
    space, costs = ToySpace(), []
    for seed in seeds:
        sampler = strategies.make_sampler(
            name, seed=seed, space=space, feasibility_edge=edge, **quick_options(name)
        )
        study = run_study(
            sampler, space, lambda s: [toy_accuracy(s)], n_trials, constraint=lambda s: relative(toy_cost(s))
        )
        costs += [toy_cost(parent_spec(t, space)) for t in study.trials[10:] if t.constraints["budget"] <= 0]
    return costs


@pytest.mark.parametrize("name", ["evolution", "rl", "nsga2"])
def test_leaning_to_the_edge_spends_more_of_the_budget(name: str) -> None:
    # on the toy space accuracy grows with cost, so the best feasible architectures sit at the budget
    first, edge = (_feasible_costs(name, edge, range(3), 30) for edge in (1, 8))
    assert np.mean(edge) > np.mean(first) + 2.0, f"{name}: {np.mean(edge):.1f} vs {np.mean(first):.1f}"


def test_the_filter_passes_over_architectures_already_tried() -> None:
    model = FeasibilityModel.fit([toy_trial(s, relative(toy_cost(s))) for s in random_specs(40, 0)])
    cheap, other = {"depth": 1, "layer0.width": 8}, {"depth": 1, "layer0.width": 16}
    tried = {choices_key(cheap)}
    proposals = iter([cheap, cheap, other])
    # a strategy that converged draws its best architecture again; a whole trial would learn nothing new
    assert FeasibilityFilter(candidates=5).choose(model, lambda: next(proposals), tried=tried) == other
    uniform = iter([other])
    assert FeasibilityFilter(candidates=2).choose(model, lambda: cheap, lambda: next(uniform), tried) == other
    # nothing untried drawn at all: the strategy's first proposal, as before
    assert FeasibilityFilter(candidates=2).choose(model, lambda: cheap, tried=tried) == cheap


class _Reading(optuna.samplers.RandomSampler):
    """Optuna's random sampler, noting the constraints of the trials each proposal was made from."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.read: list[list[float]] = []

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict) -> dict:
        self.read.append([t.constraints.get("budget", 0.0) for t in study._get_trials(deepcopy=False)])
        return super().sample_relative(study, trial, search_space)


@pytest.mark.parametrize("hide", [True, False])
def test_a_wrapped_sampler_can_propose_from_the_trials_within_budget_only(hide: bool) -> None:
    space, inner = ToySpace(), _Reading()
    sampler = BudgetAwareSampler(inner, FeasibilityFilter(), space, seed=0, hide_infeasible=hide)
    study = run_study(
        sampler, space, lambda s: [toy_accuracy(s)], 25, constraint=lambda s: relative(toy_cost(s))
    )
    assert any(t.constraints["budget"] > 0 for t in study.trials)  # over-budget trials stay in the study
    late = inner.read[10:]  # once the feasibility model is fitted (10 profiled trials)
    assert late and all(late)
    assert all(max(read) <= 0 for read in late) == hide
    # TPE proposes from the feasible trials alone: c-TPE would rank the over-budget ones below every
    # feasible one, and so learn to keep away from the budget's edge, where the best feasible ones sit
    assert strategies.make_sampler("tpe", seed=0, space=space).first.hide_infeasible  # type: ignore[attr-defined]
