"""The contract every search strategy keeps, built-in or user-registered: reusable checks and a base class.

Subclass `SamplerContract` in a test module (the class name must start with ``Test``) and override the
``strategy`` fixture; pytest then runs every check on it, over `ToySpace` and every registered space::

    import pytest
    from nas_workbench.testing.samplers import SamplerContract

    class TestMyStrategy(SamplerContract):
        @pytest.fixture
        def strategy(self):
            return "my_strategy"

Outside pytest, ``check_strategy("my_strategy")`` runs the same checks and raises AssertionError at the first
broken rule. The checks run real Optuna studies (in memory) on cheap synthetic objectives: `ToySpace`, a
small conditional space of MLPs, with `toy_accuracy` (a known optimum) and `toy_cost` (a budget it
conflicts with).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna
import pytest
import torch
from optuna.study import StudyDirection
from optuna.trial import TrialState
from torch import nn

from nas_workbench import spaces, strategies
from nas_workbench.exceptions import ConfigError
from nas_workbench.spaces import NetworkShape, SearchSpace, Suggester
from nas_workbench.spec import ArchSpec
from nas_workbench.testing._rules import rule_id
from nas_workbench.trial_attrs import record, stored_spec

__all__ = [
    "RULES",
    "TOY_BUDGET",
    "SamplerContract",
    "ToySpace",
    "check_constraints",
    "check_deterministic",
    "check_failures",
    "check_multi_objective",
    "check_options",
    "check_space",
    "check_strategy",
    "quick_options",
    "rule_id",
    "run_study",
    "toy_accuracy",
    "toy_cost",
]

#: Objective of a study: an architecture → its values (one per direction).
Objective = Callable[[ArchSpec], Sequence[float]]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "identity": nn.Identity}
_WIDTHS = (8, 16, 32)
#: Per layer, how much each activation is worth in `toy_accuracy` (each layer prefers another one).
_ACTIVATION_WORTH = (
    {"relu": 0.10, "tanh": 0.05, "gelu": 0.20, "identity": 0.0},
    {"relu": 0.20, "tanh": 0.10, "gelu": 0.05, "identity": 0.0},
    {"relu": 0.05, "tanh": 0.20, "gelu": 0.10, "identity": 0.0},
)
_WIDTH_WORTH = {8: 0.0, 16: 0.06, 32: 0.1}
#: The best `toy_accuracy` (depth 3, every layer 32 wide with its preferred activation, a linear head).
TOY_OPTIMUM = 0.1 + 3 * (0.2 + 0.1)
#: The `toy_cost` limit of the constraint checks: about half the space fits, the best architecture doesn't.
TOY_BUDGET = 48


class ToySpace(SearchSpace):
    """MLPs with 1-3 hidden layers, each with an activation and a width, then a linear or MLP head.

    Conditional like the real spaces (deeper networks ask more questions) and small (3,768 architectures),
    so the checks run in seconds and grid search can enumerate it.
    """

    name = "toy"

    def define(self, suggester: Suggester) -> dict[str, Any]:
        depth = suggester.suggest_categorical("depth", [1, 2, 3])
        choices: dict[str, Any] = {"depth": depth}
        for i in range(depth):
            choices[f"layer{i}.act"] = suggester.suggest_categorical(f"layer{i}.act", list(_ACTIVATIONS))
            choices[f"layer{i}.width"] = suggester.suggest_categorical(f"layer{i}.width", list(_WIDTHS))
        choices["head"] = suggester.suggest_categorical("head", ["linear", "mlp"])
        return choices

    def assemble(self, spec: ArchSpec, shape: NetworkShape) -> nn.Module:
        features = int(torch.tensor(shape.input_shape).prod())
        layers: list[nn.Module] = [nn.Flatten()]
        for i in range(spec.choices["depth"]):
            width = max(1, round(spec.choices[f"layer{i}.width"] * shape.width_multiplier))
            layers += [nn.Linear(features, width), _ACTIVATIONS[spec.choices[f"layer{i}.act"]]()]
            features = width
        if spec.choices["head"] == "mlp":
            layers += [nn.Linear(features, features), nn.ReLU()]
        layers.append(nn.Linear(features, shape.num_classes))
        return nn.Sequential(*layers)

    def size(self) -> int:
        per_layer = len(_ACTIVATIONS) * len(_WIDTHS)
        return 2 * sum(per_layer**depth for depth in (1, 2, 3))


def toy_accuracy(spec: ArchSpec) -> float:
    """A known objective on `ToySpace` in [0, 1]: each layer's activation and width add to it, more layers
    add more, and an MLP head only helps shallow networks. The optimum is unique."""
    c = spec.choices
    depth = c["depth"]
    worth = sum(
        _ACTIVATION_WORTH[i][c[f"layer{i}.act"]] + _WIDTH_WORTH[c[f"layer{i}.width"]] for i in range(depth)
    )
    head = 0.1 if (c["head"] == "mlp") == (depth < 3) else 0.0
    return (worth + head) / TOY_OPTIMUM


def toy_cost(spec: ArchSpec) -> float:
    """A hardware-like cost on `ToySpace`: the total width of the hidden layers (8 to 96)."""
    return float(sum(spec.choices[f"layer{i}.width"] for i in range(spec.choices["depth"])))


def _hashed_score(spec: ArchSpec) -> float:
    """A deterministic pseudo-random score in [0, 1) for any architecture of any space."""
    return int(hashlib.sha1(spec.to_json().encode()).hexdigest()[:12], 16) / 16**12


def run_study(
    sampler: optuna.samplers.BaseSampler,
    space: SearchSpace,
    objective: Objective,
    n_trials: int,
    directions: Sequence[str] = ("maximize",),
    constraint: Callable[[ArchSpec], float] | None = None,
    constraint_name: str = "budget",
) -> optuna.Study:
    """Run an in-memory study the way the engine does: sample a spec, store it, set constraints, tell.

    Args:
        constraint: Optional ``spec → value`` (feasible when <= 0), set with ``Trial.set_constraint``. A
            trial that breaks it is not evaluated and ends as pruned, as the engine ends a trial over
            budget (`nas_workbench.engine.budget.OverBudget`): the sampler sees its constraint, no value.
        constraint_name: The constraint's name (the engine names each after its budget metric).
    """
    study = optuna.create_study(directions=[StudyDirection[d.upper()] for d in directions], sampler=sampler)

    def evaluate(trial: optuna.Trial) -> Sequence[float]:
        spec = space.sample(trial)
        record(trial, spec=spec.to_dict())
        if constraint is not None:
            excess = constraint(spec)
            trial.set_constraint(constraint_name, excess)
            if excess > 0:
                record(trial, status="infeasible")
                raise optuna.TrialPruned("over budget")
        return objective(spec)

    study.optimize(evaluate, n_trials=n_trials)
    return study


def _choices(study: optuna.Study) -> list[dict[str, Any]]:
    return [dict(t.params) for t in study.get_trials(deepcopy=False)]


def quick_options(name: str) -> dict[str, Any]:
    """Options that make strategy ``name`` start learning within a few trials (fewer random start-up
    trials, smaller populations and pools), so short checks exercise its learning phase, not only its
    warm-up."""
    quick = {"n_startup_trials": 4, "population_size": 4, "tournament_size": 2, "pool_size": 500}
    return {key: value for key, value in quick.items() if key in strategies.get(name).options}


def _sampler(
    name: str, seed: int, space: SearchSpace | None = None, **kwargs: Any
) -> optuna.samplers.BaseSampler:
    return strategies.make_sampler(name, seed=seed, space=space, **quick_options(name), **kwargs)


# -- the rules -----------------------------------------------------------------------------------------------
def check_options(name: str) -> None:
    """The strategy is documented, lists its options, and rejects an unknown option with a suggestion."""
    text = strategies.describe(name)
    assert text.startswith(f"{name}: ") and len(text) > len(name) + 20, f"{name!r} is not described: {text!r}"
    for option in strategies.get(name).options:
        assert option in text, f"describe({name!r}) does not mention option {option!r}"
    with pytest.raises(ConfigError, match="Available"):
        strategies.make_sampler(name, seed=0, no_such_option=1)


def check_deterministic(name: str, space: SearchSpace | None = None, n_trials: int = 10) -> None:
    """The same seed gives the same architectures; another seed gives others."""
    space = space or ToySpace()

    def trials(seed: int) -> list[dict[str, Any]]:
        sampler = _sampler(name, seed, space)
        return _choices(run_study(sampler, space, lambda s: [_hashed_score(s)], n_trials))

    first = trials(0)
    assert trials(0) == first, f"{name!r} chose different architectures with the same seed"
    assert trials(1) != first, f"{name!r} chose the same architectures with seeds 0 and 1"


def check_space(name: str, space: SearchSpace, n_trials: int = 8) -> str:
    """The strategy searches ``space``, every trial an architecture of it, or refuses it with a reason.

    Returns:
        "ok", or the refusal's message.
    """
    try:
        sampler = _sampler(name, 0, space)
    except ConfigError as refusal:
        assert space.name in str(refusal), f"{name!r} refused {space.name!r} without saying why: {refusal}"
        return str(refusal)
    study = run_study(sampler, space, lambda s: [_hashed_score(s)], n_trials)
    assert len(study.trials) == min(n_trials, space.size())
    for trial in study.trials:
        assert trial.state == TrialState.COMPLETE, (
            f"{name!r} on {space.name!r}: trial {trial.number} {trial.state}"
        )
        stored = stored_spec(trial)
        assert stored is not None, f"{name!r} on {space.name!r}: trial {trial.number} recorded no spec"
        space.validate(ArchSpec.from_dict(stored))
    return "ok"


def check_constraints(name: str, n_trials: int = 30, seeds: Sequence[int] = (0, 1, 2)) -> None:
    """With a budget the best architecture breaks, the strategy finds feasible architectures and, once it
    has learned, proposes infeasible ones no more often than random sampling does."""
    space = ToySpace()
    rng = random.Random(0)
    random_rate = sum(toy_cost(space.random(rng)) > TOY_BUDGET for _ in range(4000)) / 4000
    late_infeasible, late_total = 0, 0
    for seed in seeds:
        study = run_study(
            _sampler(name, seed, space),
            space,
            lambda s: [toy_accuracy(s)],
            n_trials,
            constraint=lambda s: toy_cost(s) - TOY_BUDGET,
        )
        feasible = [t for t in study.trials if t.constraints["budget"] <= 0]
        assert feasible, f"{name!r} found no feasible architecture in {n_trials} trials (seed {seed})"
        late = study.trials[n_trials // 2 :]
        late_infeasible += sum(t.constraints["budget"] > 0 for t in late)
        late_total += len(late)
    rate = late_infeasible / late_total
    # The margin covers sampling noise (about 2.5 standard deviations of a random sampler's rate).
    margin = 2.5 * (random_rate * (1 - random_rate) / late_total) ** 0.5
    assert rate <= random_rate + margin, (
        f"{name!r} proposed {rate:.0%} infeasible architectures after learning; "
        f"random sampling: {random_rate:.0%}"
    )


def check_multi_objective(name: str, n_trials: int = 10) -> None:
    """A multi-objective strategy searches accuracy vs cost; a single-objective one refuses, saying why."""
    space = ToySpace()
    directions = ("maximize", "minimize")
    if not strategies.get(name).multi_objective:
        with pytest.raises(ConfigError, match="objectives"):
            _sampler(name, 0, space, directions=directions)
        return
    sampler = _sampler(name, 0, space, directions=directions)
    study = run_study(sampler, space, lambda s: [toy_accuracy(s), toy_cost(s)], n_trials, directions)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert study.best_trials, f"{name!r} left an empty Pareto front"


def check_failures(name: str, n_trials: int = 15) -> None:
    """Failed and pruned trials (a crashed training, early stopping) do not stop the strategy."""
    space = ToySpace()
    study = optuna.create_study(direction="maximize", sampler=_sampler(name, 0, space))

    def evaluate(trial: optuna.Trial) -> float:
        spec = space.sample(trial)
        record(trial, spec=spec.to_dict())
        if trial.number % 5 == 1:
            raise RuntimeError("training diverged")
        if trial.number % 5 == 2:
            trial.report(0.1, 1)
            raise optuna.TrialPruned()
        return toy_accuracy(spec)

    study.optimize(evaluate, n_trials=n_trials, catch=(RuntimeError,))
    expected = [
        TrialState.FAIL if n % 5 == 1 else TrialState.PRUNED if n % 5 == 2 else TrialState.COMPLETE
        for n in range(n_trials)
    ]
    assert [t.state for t in study.trials] == expected, f"{name!r} broke after failed or pruned trials"


#: The rules every strategy keeps whatever the space, one check each, in the order `check_strategy` runs
#: them (`check_space` then runs on each space).
RULES: tuple[Callable[[str], None], ...] = (
    check_options,
    check_deterministic,
    check_constraints,
    check_multi_objective,
    check_failures,
)


def check_strategy(name: str, search_spaces: Mapping[str, SearchSpace] | None = None) -> None:
    """Every rule above, on `ToySpace` and each space of ``search_spaces`` (default: every registered one)."""
    for rule in RULES:
        rule(name)
    for space in (search_spaces or {n: spaces.get(n) for n in spaces.list()}).values():
        check_space(name, space)


class SamplerContract:
    """Pytest base class: override the ``strategy`` fixture (a registered name) in a ``Test...`` subclass.

    The contract is for strategies that sample; a gradient-based one (``Strategy.relaxation``) drives its
    study itself and is not a sampler in this sense.
    """

    @pytest.fixture
    def strategy(self) -> str:
        raise NotImplementedError("override the `strategy` fixture with the registered name to check")

    @pytest.mark.parametrize("rule", RULES, ids=rule_id)
    def test_rule(self, strategy: str, rule: Callable[[str], None]) -> None:
        rule(strategy)

    @pytest.mark.parametrize("space_name", spaces.list())
    def test_space(self, strategy: str, space_name: str) -> None:
        check_space(strategy, spaces.get(space_name))
