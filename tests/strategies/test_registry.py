"""The strategy registry: names, documentation, options and refusals."""

from __future__ import annotations

import optuna
import pytest

from nas_workbench import strategies
from nas_workbench.exceptions import ConfigError, UnknownNameError
from nas_workbench.spaces import get as get_space
from nas_workbench.strategies.budget_aware import BudgetAwareSampler
from nas_workbench.testing.samplers import ToySpace


def test_lists_the_strategies_of_the_issue() -> None:
    assert {"random", "grid", "tpe", "gp", "evolution", "nsga2", "rl"} <= set(strategies.list())


def test_unknown_strategy_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'evolution'"):
        strategies.make_sampler("evolutoin")


def test_unknown_option_names_the_field_and_suggests() -> None:
    with pytest.raises(
        ConfigError,
        match=r"strategy_options\.populaton_size.*Unknown option 'populaton_size' of strategy 'evolution'"
        r".*Did you mean 'population_size'",
    ):
        strategies.make_sampler("evolution", populaton_size=10)


@pytest.mark.parametrize(
    ("name", "options", "field"),
    [
        ("evolution", {"population_size": 1}, "population_size"),
        ("evolution", {"population_size": 5, "tournament_size": 6}, "tournament_size"),
        ("rl", {"controller": "gru"}, "controller"),
        ("rl", {"learning_rate": -1.0}, "learning_rate"),
        ("nsga2", {"crossover_prob": 2.0}, "crossover_prob"),
        ("tpe", {"n_startup_trials": "ten"}, "n_startup_trials"),
    ],
)
def test_bad_option_values_name_the_option(name: str, options: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"strategy_options\.{field}"):
        strategies.make_sampler(name, **options)


def test_options_reach_the_sampler() -> None:
    sampler = strategies.make_sampler("evolution", seed=3, population_size=7, tournament_size=3)
    assert isinstance(sampler, strategies.RegularizedEvolutionSampler)
    assert (sampler.population_size, sampler.tournament_size) == (7, 3)
    nsga2 = strategies.make_sampler("nsga2", population_size=12, feasibility_candidates=5)
    assert isinstance(nsga2, BudgetAwareSampler) and nsga2.feasibility.candidates == 5
    assert isinstance(nsga2.sampler, optuna.samplers.NSGAIISampler)
    assert nsga2.sampler._population_size == 12


def test_grid_refuses_a_space_larger_than_its_limit_and_says_what_to_do() -> None:
    with pytest.raises(ConfigError, match=r"'nb201' space has 15,625.*max_size"):
        strategies.make_sampler("grid", space=get_space("nb201"))
    assert strategies.make_sampler("grid", space=get_space("nb201"), max_size=20_000) is not None
    assert strategies.make_sampler("grid", space=ToySpace()) is not None


def test_single_objective_strategy_refuses_several_objectives_and_lists_alternatives() -> None:
    with pytest.raises(ConfigError, match="nsga2"):
        strategies.make_sampler("rl", directions=("maximize", "minimize"))


def test_describe_is_one_paragraph_with_defaults() -> None:
    text = strategies.describe("evolution")
    assert "\n" not in text
    assert "population_size (default 20)" in text and "Real et al." in text
