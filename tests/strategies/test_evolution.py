"""Regularised evolution: aging population, tournaments, the space's mutation, history from the study."""

from __future__ import annotations

import random

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from nas_workbench import strategies
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.evolution import PARENT_ATTR, select_parent
from nas_workbench.testing.samplers import ToySpace, run_study, toy_accuracy

SPACE = ToySpace()


def _evolution(seed: int = 0, **options: int) -> optuna.samplers.BaseSampler:
    return strategies.make_sampler("evolution", seed=seed, space=SPACE, **options)


def _spec(trial: optuna.trial.FrozenTrial) -> ArchSpec:
    return ArchSpec.from_dict(trial.user_attrs["spec"])


def _differences(a: ArchSpec, b: ArchSpec) -> set[str]:
    names = set(a.choices) | set(b.choices)
    return {n for n in names if a.choices.get(n) != b.choices.get(n)}


def test_children_are_one_mutation_of_a_parent_from_the_recent_population() -> None:
    study = run_study(
        _evolution(population_size=6, tournament_size=3), SPACE, lambda s: [toy_accuracy(s)], 30
    )
    trials = study.trials
    assert all(PARENT_ATTR not in t.system_attrs for t in trials[:6])  # random until the population is full
    for child in trials[6:]:
        parent = trials[child.system_attrs[PARENT_ATTR]]
        assert child.number - 6 <= parent.number < child.number  # among the 6 most recent
        changed = _differences(_spec(parent), _spec(child))
        # One decision changes; a changed depth adds or drops the decisions of the layers it concerns.
        assert len(changed - {n for n in changed if n.startswith("layer")}) <= 1 and changed


def test_tournament_prefers_feasible_then_least_violation_then_best_value() -> None:
    def trial(number: int, value: float, violation: float) -> optuna.trial.FrozenTrial:
        frozen = create_trial(value=value, system_attrs={"constraints:budget": violation})
        frozen.number = number
        return frozen

    maximize = [optuna.study.StudyDirection.MAXIMIZE]
    rng = random.Random(0)
    assert select_parent([trial(0, 0.9, 1.0), trial(1, 0.1, 0.0)], maximize, rng).number == 1
    assert select_parent([trial(0, 0.9, 2.0), trial(1, 0.1, 0.5)], maximize, rng).number == 1
    assert select_parent([trial(0, 0.2, 0.0), trial(1, 0.7, -0.3)], maximize, rng).number == 1
    minimize = [optuna.study.StudyDirection.MINIMIZE]
    assert select_parent([trial(0, 0.2, 0.0), trial(1, 0.7, 0.0)], minimize, rng).number == 0


def test_several_objectives_pick_a_non_dominated_parent() -> None:
    directions = [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    members = [create_trial(values=v) for v in ([0.9, 10.0], [0.5, 2.0], [0.4, 5.0])]
    for number, member in enumerate(members):
        member.number = number
    picked = {select_parent(members, directions, random.Random(s)).number for s in range(20)}
    assert picked == {0, 1}


def test_resumed_study_continues_as_if_uninterrupted() -> None:
    whole = run_study(
        _evolution(seed=5, population_size=5, tournament_size=2), SPACE, lambda s: [toy_accuracy(s)], 24
    )
    storage = optuna.storages.InMemoryStorage()
    for _ in range(2):  # two sessions, each with a fresh sampler on the same storage
        study = optuna.create_study(
            storage=storage,
            study_name="resume",
            direction="maximize",
            load_if_exists=True,
            sampler=_evolution(seed=5, population_size=5, tournament_size=2),
        )

        def evaluate(trial: optuna.Trial) -> float:
            spec = SPACE.sample(trial)
            trial.set_user_attr("spec", spec.to_dict())
            return toy_accuracy(spec)

        study.optimize(evaluate, n_trials=12)
    assert [t.params for t in study.trials] == [t.params for t in whole.trials]


def test_failed_trials_never_join_the_population() -> None:
    study = optuna.create_study(
        direction="maximize", sampler=_evolution(population_size=4, tournament_size=2)
    )

    def evaluate(trial: optuna.Trial) -> float:
        spec = SPACE.sample(trial)
        trial.set_user_attr("spec", spec.to_dict())
        if trial.number % 3 == 0:
            raise RuntimeError("crashed")
        return toy_accuracy(spec)

    study.optimize(evaluate, n_trials=30, catch=(RuntimeError,))
    failed = {t.number for t in study.trials if t.state == TrialState.FAIL}
    parents = {t.system_attrs[PARENT_ATTR] for t in study.trials if PARENT_ATTR in t.system_attrs}
    assert parents and not parents & failed


def test_without_a_space_it_mutates_plain_optuna_parameters() -> None:
    sampler = strategies.make_sampler("evolution", seed=0, population_size=4, tournament_size=2)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(
        lambda t: (
            sum(t.suggest_categorical(f"x{i}", [0, 1, 2, 3]) for i in range(5))
            + t.suggest_float("lr", 1e-3, 1.0, log=True)
        ),
        n_trials=40,
    )
    trials = study.trials
    for child in trials[4:]:
        parent = trials[child.system_attrs[PARENT_ATTR]]
        changed = [f"x{i}" for i in range(5) if parent.params[f"x{i}"] != child.params[f"x{i}"]]
        assert len(changed) == 1
    assert study.best_value > 12  # the sum of x0..x4 (at most 15) climbs well above random's ~7.5


@pytest.mark.parametrize("directions", [("maximize",), ("maximize", "minimize")])
def test_enqueued_architectures_are_tried_first_and_can_become_parents(directions: tuple[str, ...]) -> None:
    best = {"depth": 3, "head": "linear"} | {
        f"layer{i}.{k}": v for i in range(3) for k, v in (("act", ("gelu", "relu", "tanh")[i]), ("width", 32))
    }
    study = optuna.create_study(
        directions=list(directions), sampler=_evolution(population_size=4, tournament_size=4)
    )
    study.enqueue_trial(best)

    def evaluate(trial: optuna.Trial) -> list[float]:
        spec = SPACE.sample(trial)
        trial.set_user_attr("spec", spec.to_dict())
        return [toy_accuracy(spec), 1.0][: len(directions)]

    study.optimize(evaluate, n_trials=12)
    assert study.trials[0].params == best
    assert 0 in {t.system_attrs.get(PARENT_ATTR) for t in study.trials}
