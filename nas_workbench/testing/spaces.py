"""The contract every search space keeps, built-in or user-defined: reusable checks and a pytest base class.

Subclass `SearchSpaceContract` in a test module (the class name must start with ``Test``) and override the
``space`` fixture; pytest then runs every check on your space::

    import pytest
    from nas_workbench.testing.spaces import SearchSpaceContract

    class TestMySpace(SearchSpaceContract):
        input_shape = (3, 32, 32)

        @pytest.fixture
        def space(self):
            return MySpace(depth=2)

Outside pytest (in a notebook), ``check_space(MySpace())`` runs the same checks and raises AssertionError
at the first broken rule. Each ``check_*`` function is one rule, so a failure names it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import Any

import optuna
import pytest
import torch
from torch import nn

from nas_workbench.exceptions import ConfigError
from nas_workbench.spaces import SearchSpace, enumerate_specs
from nas_workbench.spaces._base import Choice, parameter_count
from nas_workbench.spec import ArchSpec
from nas_workbench.testing._rules import rule_id

__all__ = [
    "RULES",
    "SearchSpaceContract",
    "check_build",
    "check_describe",
    "check_deterministic_build",
    "check_json_round_trip",
    "check_mutate",
    "check_params_counter",
    "check_parse_format",
    "check_questions",
    "check_relaxable",
    "check_sample",
    "check_size",
    "check_space",
    "check_unknown_option",
    "check_width_multiplier",
    "run_rule",
]

_SCALARS = (str, int, float, bool)
#: Spaces up to this size are enumerated to check `size` exactly.
ENUMERATE_UP_TO = 2_000


class _Recorder:
    """A suggester that answers at random and records every question."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.questions: list[tuple[str, list[Choice]]] = []

    def suggest_categorical(self, name: str, choices: Sequence[Choice]) -> Choice:
        self.questions.append((name, list(choices)))
        return self.rng.choice(list(choices))


def _specs(space: SearchSpace, count: int, seed: int = 0) -> list[ArchSpec]:
    """``count`` random architectures of ``space`` (seeded)."""
    rng = random.Random(seed)
    return [space.random(rng) for _ in range(count)]


# -- the rules -------------------------------------------------------------------------------------------
def check_questions(space: SearchSpace, count: int = 20) -> None:
    """Decisions have unique non-empty names and non-empty categorical choices of str/int/float/bool;
    `define` returns exactly the answers it got."""
    for seed in range(count):
        recorder = _Recorder(seed)
        choices = space.define(recorder)
        names = [name for name, _ in recorder.questions]
        assert len(names) == len(set(names)), f"a decision is asked twice: {names}"
        for name, values in recorder.questions:
            assert isinstance(name, str) and name, f"decision names are non-empty strings, not {name!r}"
            assert values, f"decision {name!r} has no choices"
            assert all(isinstance(v, _SCALARS) for v in values), f"{name!r} has non-scalar choices {values}"
            assert len(set(values)) == len(values), f"{name!r} has repeated choices {values}"
        assert list(choices) == names, f"define returned {list(choices)}, asked {names}"


def check_sample(space: SearchSpace, count: int = 10) -> None:
    """Random and Optuna-trial samples are valid specs of this space with its options."""
    for spec in _specs(space, count):
        assert spec.space == space.name
        assert dict(spec.options) == space.options
        assert space.validate(spec) is spec
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(count):
        trial = study.ask()
        spec = space.sample(trial)
        space.validate(spec)
        assert dict(spec.choices) == trial.params, "the spec's choices are the trial's parameters"
        study.tell(trial, 0.0)


def check_build(space: SearchSpace, input_shape: Sequence[int], num_classes: int, count: int = 5) -> None:
    """Every network maps a batch of ``input_shape`` to finite logits of shape (batch, num_classes)."""
    x = torch.randn(2, *input_shape)
    for spec in _specs(space, count):
        model = space.build(spec, input_shape=input_shape, num_classes=num_classes)
        assert isinstance(model, nn.Module)
        for train in (True, False):
            logits = model.train(train)(x)
            assert logits.shape == (2, num_classes), f"{space.summary(spec)}: output {tuple(logits.shape)}"
            assert torch.isfinite(logits).all(), f"{space.summary(spec)}: non-finite logits"


def check_deterministic_build(
    space: SearchSpace, input_shape: Sequence[int], num_classes: int, count: int = 3
) -> None:
    """The same spec and torch seed build the same network: state_dict, parameters and outputs."""
    x = torch.randn(2, *input_shape)
    for spec in _specs(space, count, seed=1):
        models = []
        for _ in range(2):
            torch.manual_seed(0)
            models.append(space.build(ArchSpec.from_json(spec.to_json()), input_shape, num_classes).eval())
        first, second = (m.state_dict() for m in models)
        assert [(k, v.shape) for k, v in first.items()] == [(k, v.shape) for k, v in second.items()]
        assert all(torch.equal(first[k], second[k]) for k in first), "same seed, different weights"
        with torch.no_grad():
            assert torch.equal(models[0](x), models[1](x)), "same weights, different outputs"


def check_json_round_trip(space: SearchSpace, count: int = 20) -> None:
    """``ArchSpec.from_json(spec.to_json())`` is the same, valid spec with the same id."""
    for spec in _specs(space, count, seed=2):
        again = ArchSpec.from_json(spec.to_json())
        assert again == spec and again.id == spec.id
        space.validate(again)


def check_mutate(space: SearchSpace, count: int = 20) -> None:
    """A mutation is valid and changes exactly one shared decision (others appear or vanish only with
    structure that the change adds or removes)."""
    rng = random.Random(3)
    for spec in _specs(space, count, seed=3):
        child = space.mutate(spec, rng)
        space.validate(child)
        shared = set(spec.choices) & set(child.choices)
        changed = sorted(k for k in shared if spec.choices[k] != child.choices[k])
        assert len(changed) == 1, f"mutation changed {changed}, not one decision"


def check_describe(space: SearchSpace, count: int = 5) -> None:
    """`describe` gives non-empty, JSON-able rows; `summary` and `format` give non-empty strings."""
    for spec in _specs(space, count, seed=4):
        rows = space.describe(spec)
        assert rows and all(isinstance(row, dict) and row for row in rows), f"describe gave {rows!r}"
        json.dumps(rows)
        assert isinstance(space.summary(spec), str) and space.summary(spec)


def check_size(space: SearchSpace) -> None:
    """`size` is a positive int, and exact (by enumeration) when the space is small."""
    size = space.size()
    assert isinstance(size, int) and size > 0, f"size() is {size!r}"
    if size <= ENUMERATE_UP_TO:
        assert len(list(enumerate_specs(space))) == size


def check_parse_format(space: SearchSpace, count: int = 50) -> None:
    """``parse(format(spec)) == spec``."""
    for spec in _specs(space, count, seed=5):
        text = space.format(spec)
        assert isinstance(text, str) and text
        assert space.parse(text) == spec, f"parse(format(spec)) differs for {text!r}"


def check_width_multiplier(
    space: SearchSpace, input_shape: Sequence[int], num_classes: int, count: int = 3
) -> None:
    """``width_multiplier=0.5`` builds a network with fewer parameters, of the same output shape."""
    x = torch.randn(2, *input_shape)
    for spec in _specs(space, count, seed=6):
        full = space.build(spec, input_shape, num_classes)
        narrow = space.build(spec, input_shape, num_classes, width_multiplier=0.5)
        assert parameter_count(narrow) < parameter_count(full), f"{space.summary(spec)}: 0.5x is not smaller"
        assert narrow(x).shape == (2, num_classes)


def check_params_counter(
    space: SearchSpace, input_shape: Sequence[int], num_classes: int, count: int = 20
) -> None:
    """`params_counter` gives each network's parameter count exactly, at width 1 and 0.5, one counter for
    many architectures (a counter that keeps the counts of parts must never mix them up)."""
    for width in (1.0, 0.5):
        counter = space.params_counter(input_shape, num_classes, width)
        for spec in _specs(space, count, seed=8):
            built = parameter_count(space.build(spec, input_shape, num_classes, width_multiplier=width))
            counted = counter(ArchSpec.from_json(spec.to_json()))
            assert counted == built, f"{space.summary(spec)} at width {width}: counted {counted}, has {built}"


def check_relaxable(
    space: SearchSpace, input_shape: Sequence[int] = (1, 8, 8), num_classes: int = 10, count: int = 3
) -> None:
    """A relaxable space has a supernet (`nas_workbench.strategies.dnas`): under one-hot weights it computes
    exactly the standalone network of that architecture, and the architecture it derives is in the space."""
    if not space.relaxable:
        return
    from nas_workbench.strategies.dnas import build_supernet

    torch.manual_seed(0)
    supernet = build_supernet(space, input_shape, num_classes).eval()
    x = torch.randn(2, *input_shape)
    with torch.no_grad():
        for spec in _specs(space, count, seed=7):
            same = torch.equal(supernet(x, supernet.one_hot(spec)), supernet.extract(spec).eval()(x))
            assert same, f"{space.summary(spec)}: the supernet under one-hot weights is not the network"
    space.validate(supernet.derive())


def check_unknown_option(space: SearchSpace) -> None:
    """An unknown option is a `ConfigError` on ``space_options.<key>``."""
    with pytest.raises(ConfigError) as error:
        type(space)(**space.options, not_an_option=1)
    assert error.value.field == "space_options.not_an_option"


#: Every rule of the contract, one check each, in the order `check_space` runs them.
RULES: tuple[Callable[..., None], ...] = (
    check_questions,
    check_sample,
    check_build,
    check_deterministic_build,
    check_json_round_trip,
    check_mutate,
    check_describe,
    check_size,
    check_parse_format,
    check_width_multiplier,
    check_params_counter,
    check_relaxable,
    check_unknown_option,
)
#: The rules about built networks, which take the input shape and number of classes after the space.
_ON_NETWORKS = (
    check_build,
    check_deterministic_build,
    check_width_multiplier,
    check_params_counter,
    check_relaxable,
)


def run_rule(
    rule: Callable[..., None], space: SearchSpace, input_shape: Sequence[int], num_classes: int
) -> None:
    """Run ``rule`` (one of `RULES`) on ``space``, networks built for ``input_shape`` and ``num_classes``."""
    if rule in _ON_NETWORKS:
        rule(space, input_shape, num_classes)
    else:
        rule(space)


def check_space(space: SearchSpace, input_shape: Sequence[int] = (1, 8, 8), num_classes: int = 10) -> None:
    """Run every rule on ``space``; raises AssertionError naming the first broken rule."""
    for rule in RULES:
        run_rule(rule, space, input_shape, num_classes)


class SearchSpaceContract:
    """pytest tests of the space contract, one per rule of `RULES`; override the ``space`` fixture (and the
    class attributes)."""

    #: One input's shape (C, H, W) and the classes networks are built for.
    input_shape: tuple[int, ...] = (1, 8, 8)
    num_classes: int = 10

    @pytest.fixture
    def space(self) -> Any:
        raise NotImplementedError("override the `space` fixture to return the SearchSpace under test")

    @pytest.mark.parametrize("rule", RULES, ids=rule_id)
    def test_rule(self, space: SearchSpace, rule: Callable[..., None]) -> None:
        run_rule(rule, space, self.input_shape, self.num_classes)
