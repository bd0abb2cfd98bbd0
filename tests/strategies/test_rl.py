"""REINFORCE: it learns from completed trials, from the study's history, and refuses what it cannot do."""

from __future__ import annotations

import optuna
import pytest
import torch

from nas_workbench import strategies
from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies.rl import ReinforceSampler, _key
from nas_workbench.testing.samplers import TOY_BUDGET, ToySpace, run_study, toy_accuracy, toy_cost

SPACE = ToySpace()
ACTS = ["relu", "tanh", "gelu", "identity"]


def _probability(sampler: ReinforceSampler, name: str, choices: list, value: object) -> float:
    """The controller's probability of ``value`` for a decision asked first (no earlier context)."""
    with torch.no_grad():
        logits, _ = sampler.policy.controller.decision_logits(sampler.policy.begin(), _key(name, choices))
    return torch.softmax(logits, dim=0)[choices.index(value)].item()


@pytest.mark.parametrize("controller", ["factorized", "lstm"])
def test_policy_moves_towards_rewarded_choices(controller: str) -> None:
    sampler = strategies.make_sampler("rl", seed=0, controller=controller)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: float(t.suggest_categorical("act", ACTS) == "gelu"), n_trials=40)
    assert _probability(sampler, "act", ACTS, "gelu") > 0.6  # from 0.25
    assert [t.params["act"] for t in study.trials[-10:]].count("gelu") >= 6


def test_minimisation_rewards_small_values() -> None:
    sampler = strategies.make_sampler("rl", seed=1)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(lambda t: float(t.suggest_categorical("x", [1, 2, 3, 4])), n_trials=40)
    assert _probability(sampler, "x", [1, 2, 3, 4], 1) > 0.5


def test_infeasible_trials_are_penalised() -> None:
    """The toy objective rewards wide layers, which break the budget: told about the constraint, the
    policy proposes fewer infeasible architectures than when it is not."""

    def late_infeasible(told: bool) -> int:
        count = 0
        for seed in range(3):
            study = run_study(
                strategies.make_sampler("rl", seed=seed),
                SPACE,
                lambda s: [toy_accuracy(s)],
                60,
                constraint=(lambda s: toy_cost(s) - TOY_BUDGET) if told else None,
            )
            count += sum(toy_cost(SPACE.spec(t.params)) > TOY_BUDGET for t in study.trials[30:])
        return count

    assert late_infeasible(told=True) < late_infeasible(told=False)


def test_resumed_study_continues_as_if_uninterrupted() -> None:
    def evaluate(trial: optuna.Trial) -> float:
        spec = SPACE.sample(trial)
        trial.set_user_attr("spec", spec.to_dict())
        return toy_accuracy(spec)

    whole = optuna.create_study(direction="maximize", sampler=strategies.make_sampler("rl", seed=4))
    whole.optimize(evaluate, n_trials=24)
    storage = optuna.storages.InMemoryStorage()
    for _ in range(2):
        study = optuna.create_study(
            storage=storage,
            study_name="resume",
            direction="maximize",
            load_if_exists=True,
            sampler=strategies.make_sampler("rl", seed=4),
        )
        study.optimize(evaluate, n_trials=12)
    assert [t.params for t in study.trials] == [t.params for t in whole.trials]


def test_a_multi_objective_study_is_refused_with_a_reason() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=ReinforceSampler(seed=0))
    with pytest.raises(ConfigError, match="single-objective"):
        study.ask().suggest_categorical("x", [1, 2])


def test_the_lstm_controller_is_deterministic_and_leaves_the_global_random_state_alone() -> None:
    def choices(global_seed: int) -> list[dict]:
        torch.manual_seed(global_seed)  # whatever the global state, the controller's draws are its own
        sampler = strategies.make_sampler("rl", seed=9, controller="lstm")
        study = run_study(sampler, SPACE, lambda s: [toy_accuracy(s)], 12)
        return [t.params for t in study.trials]

    assert choices(1) == choices(2)
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    run_study(strategies.make_sampler("rl", seed=1, controller="lstm"), SPACE, lambda s: [toy_accuracy(s)], 6)
    assert torch.equal(torch.rand(1), expected)


def test_a_policy_drawn_to_costly_choices_falls_back_on_uniform_draws_under_a_budget() -> None:
    """A policy taught that cost pays (no budget yet) then meets a tight budget: when its own draws are all
    predicted over budget, it proposes uniform draws of the space that fit, instead of the least-over one."""
    sampler = strategies.make_sampler(
        "rl", seed=0, space=SPACE, costs=lambda spec: {"cost": toy_cost(spec)}, learning_rate=0.5
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def evaluate(trial: optuna.Trial, budget: float | None) -> float:
        spec = SPACE.sample(trial)
        trial.set_user_attr("spec", spec.to_dict())
        if budget is not None:
            trial.set_constraint("budget", (toy_cost(spec) - budget) / budget)
            if toy_cost(spec) > budget:
                raise optuna.TrialPruned("over budget")  # as the engine ends it
        return toy_cost(spec)

    study.optimize(lambda t: evaluate(t, None), n_trials=40)  # the policy learns: wide
    assert min(toy_cost(SPACE.spec(t.params)) for t in study.trials[-10:]) >= 3 * 16.0
    study.optimize(lambda t: evaluate(t, 16.0), n_trials=25)
    late = study.trials[-10:]  # the feasibility model is fitted after 10 constrained trials
    assert sum(t.constraints["budget"] <= 0 for t in late) >= 8
