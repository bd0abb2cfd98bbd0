"""Counting a planned network's parameters by its layers, each distinct layer built once (issue #20: the
proxy-guided pool counts 40-45 candidates a trial). Exactness on random networks of every built-in space is
the space contract's `check_params_counter`."""

from __future__ import annotations

import random
from functools import partial

import pytest
from torch import nn

import nas_workbench as nw
from nas_workbench.engine.feasibility import architecture_value
from nas_workbench.spaces import SearchSpace
from nas_workbench.spaces._plan import LayerParams

_CALLS: list[int] = []  # the widths `_linear` was built with


def _linear(width: int, bias: bool = True) -> nn.Module:
    _CALLS.append(width)
    return nn.Linear(width, 2, bias=bias)


@pytest.fixture(autouse=True)
def _calls() -> None:
    _CALLS.clear()


def test_a_recipe_is_built_once() -> None:
    layers = LayerParams()
    makers = [partial(_linear, 3), partial(_linear, 3), partial(_linear, 5), partial(_linear, 3, bias=False)]
    assert [layers(make) for make in makers] == [8, 8, 12, 6]
    assert _CALLS == [3, 5, 3]


def test_a_maker_that_is_no_hashable_partial_is_built_every_time() -> None:
    layers = LayerParams()
    assert layers(lambda: _linear(3)) == layers(lambda: _linear(3)) == 8
    unhashable = partial(lambda widths: _linear(widths[0]), [3])
    assert layers(unhashable) == layers(unhashable) == 8
    assert _CALLS == [3, 3, 3, 3]


@pytest.mark.parametrize("name", ["chain", "multi_branch"])
def test_a_planned_space_counts_without_building_networks(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    space = nw.spaces.get(name)
    rng = random.Random(0)
    specs = [space.random(rng) for _ in range(10)]
    built = [sum(p.numel() for p in space.build(s, (1, 8, 8), 10).parameters()) for s in specs]

    def no_build(*args: object, **kwargs: object) -> nn.Module:
        raise AssertionError("a planned space's count built a network")

    monkeypatch.setattr(type(space), "build", no_build)
    monkeypatch.setattr(type(space), "assemble", no_build)
    value = architecture_value(space, "params", (1, 8, 8), 10)  # what the search's costs count by
    assert [value(s) for s in specs] == built


def test_the_default_counter_builds_the_network() -> None:
    space = nw.spaces.get("nb201", num_cells=1)
    spec = space.random(random.Random(1))
    model = space.build(spec, (3, 32, 32), 10)
    assert SearchSpace.params_counter(space, (3, 32, 32), 10)(spec) == sum(
        p.numel() for p in model.parameters()
    )
