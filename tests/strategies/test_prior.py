"""Warm-starting a study from an earlier one: what is copied, what is refused, that samplers use it, and
which architectures count as its best."""

from __future__ import annotations

import optuna
import pytest

from nas_workbench import strategies
from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies.evolution import PARENT_ATTR
from nas_workbench.testing.samplers import TOY_BUDGET, ToySpace, run_study, toy_accuracy, toy_cost

SPACE = ToySpace()


def test_copies_finished_trials_of_the_space_and_evolution_continues_from_them() -> None:
    source = run_study(strategies.make_sampler("random", seed=0), SPACE, lambda s: [toy_accuracy(s)], 12)
    source.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    foreign = optuna.trial.create_trial(
        params={"other": 1},
        distributions={"other": optuna.distributions.CategoricalDistribution([1, 2])},
        value=0.5,
    )
    source.add_trial(foreign)

    study = optuna.create_study(
        direction="maximize",
        sampler=strategies.make_sampler(
            "evolution", seed=0, space=SPACE, population_size=8, tournament_size=3
        ),
    )
    assert strategies.warm_start(study, source, SPACE) == 12
    assert [t.params for t in study.trials] == [t.params for t in source.trials[:12]]

    def evaluate(trial: optuna.Trial) -> float:
        spec = SPACE.sample(trial)
        trial.set_user_attr("spec", spec.to_dict())
        return toy_accuracy(spec)

    study.optimize(evaluate, n_trials=1)
    assert study.trials[-1].system_attrs[PARENT_ATTR] < 12  # a child of a copied trial, no random start


def test_refuses_a_study_of_other_directions() -> None:
    source = optuna.create_study(directions=["maximize", "minimize"])
    with pytest.raises(ConfigError, match="same directions"):
        strategies.warm_start(optuna.create_study(direction="maximize"), source, SPACE)


def test_best_architectures_rank_feasible_trials_front_by_front_and_honour_fixed_choices() -> None:
    source = run_study(
        strategies.make_sampler("random", seed=1),
        SPACE,
        lambda s: [toy_accuracy(s), toy_cost(s)],
        60,
        directions=("maximize", "minimize"),
        constraint=lambda s: toy_cost(s) - TOY_BUDGET,
    )
    feasible = [t for t in source.trials if t.constraints["budget"] <= 0]
    distinct = {SPACE.sample(t).id for t in feasible}
    assert 4 < len(distinct) < len({SPACE.sample(t).id for t in source.trials})  # some are over budget

    best = strategies.best_architectures(source, SPACE, top_k=len(distinct) + 5)
    assert len(best) == len(distinct) == len({s.id for s in best})  # every feasible one, once; no other
    points = [(toy_accuracy(s), -toy_cost(s)) for s in best]  # larger is better in both
    front = [p for p in points if not any(q != p and q[0] >= p[0] and q[1] >= p[1] for q in points)]
    assert points[: len(front)] == sorted(front, reverse=True)  # the Pareto front first, best accuracy first
    assert strategies.best_architectures(source, SPACE, top_k=2) == best[:2]

    narrowed = strategies.best_architectures(source, SPACE, top_k=100, fixed_choices={"head": "mlp"})
    assert {s.id for s in narrowed} == {s.id for s in best if s.choices["head"] == "mlp"}  # ranked among them


@pytest.mark.parametrize("name", ["tpe", "evolution", "proxy_guided"])
def test_fixed_choices_keep_a_budget_aware_strategy_within_an_exact_budget(name: str) -> None:
    """Given the fixed choices (`make_sampler`'s ``fixed_choices``, as the engine gives them), a strategy's
    candidates are the architectures the trials run: under a budget its counted cost judges exactly, no
    trial goes over it. Given the whole space, its candidates had other values in the
    fixed decision, and 18-31 of 40 trials went over (tpe, proxy_guided)."""
    space, fixed = ToySpace(), {"layer0.width": 32}
    sampler = strategies.make_sampler(
        name, seed=0, space=space, costs=lambda spec: {"width": toy_cost(spec)},
        limits={"width": TOY_BUDGET}, fixed_choices=fixed,
    )  # fmt: skip
    study = run_study(
        sampler, space, lambda s: [toy_accuracy(s)], 40,
        constraint=lambda s: (toy_cost(s) - TOY_BUDGET) / TOY_BUDGET, constraint_name="width",
    )  # fmt: skip
    assert all(t.params["layer0.width"] == 32 for t in study.trials)
    assert [t.number for t in study.trials if t.constraints["width"] > 0] == []
