"""Warm-starting a study from an earlier one: what is copied, what is refused, and that samplers use it."""

from __future__ import annotations

import optuna
import pytest

from nas_workbench import strategies
from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies.evolution import PARENT_ATTR
from nas_workbench.testing.samplers import ToySpace, run_study, toy_accuracy

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
