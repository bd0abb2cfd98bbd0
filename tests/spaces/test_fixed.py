"""`spaces.with_fixed`: the space a search's strategy sees when the search fixes some decisions."""

from __future__ import annotations

import random

import pytest

import nas_workbench as nw
from nas_workbench.exceptions import SpaceError
from nas_workbench.spaces import enumerate_specs, with_fixed
from nas_workbench.spaces.cell import CellSpace
from nas_workbench.testing.samplers import ToySpace

FIXED = {"node3.from0": "nor_conv_3x3", "node1.from0": "skip_connect"}


def test_every_architecture_keeps_the_fixed_choices_and_the_space_keeps_its_class() -> None:
    space = nw.spaces.get("nb201")
    fixed = with_fixed(space, FIXED)
    assert isinstance(fixed, CellSpace) and fixed.name == space.name and fixed.options == space.options
    assert fixed.size() == space.size() // 25 == sum(1 for _ in enumerate_specs(fixed))
    rng = random.Random(0)
    for _ in range(50):
        spec = fixed.random(rng)
        assert all(spec.choices[name] == value for name, value in FIXED.items())
        assert space.validate(spec) == spec  # an architecture of the whole space too
        child = fixed.mutate(spec, rng)
        assert all(child.choices[name] == value for name, value in FIXED.items())
    spec = fixed.random(1)
    assert fixed.format(spec) == space.format(spec) and fixed.signature(spec) == space.signature(spec)
    other = space.spec({**spec.choices, "node3.from0": "none"})
    with pytest.raises(SpaceError):
        fixed.validate(other)


def test_a_conditional_decision_is_fixed_where_it_is_asked_and_no_fixed_choices_is_the_space() -> None:
    space = ToySpace()
    fixed = with_fixed(space, {"layer1.width": 32})
    specs = [fixed.random(seed) for seed in range(100)]
    assert all(s.choices.get("layer1.width", 32) == 32 for s in specs)
    assert any(s.choices["depth"] == 1 for s in specs)  # a network without the decision is still drawn
    assert fixed.size() == sum(1 for _ in enumerate_specs(fixed)) < space.size()
    assert with_fixed(space, {}) is space
