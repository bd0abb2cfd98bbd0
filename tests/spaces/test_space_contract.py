"""The search-space contract, run on every registered space and on a user-defined one."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from torch import nn

import nas_workbench as nw
from nas_workbench.exceptions import ConfigError, UnknownNameError
from nas_workbench.spaces import NetworkShape, SearchSpace, Suggester
from nas_workbench.spec import ArchSpec
from nas_workbench.testing.spaces import SearchSpaceContract, check_space

BUILTIN = ["cell", "chain", "multi_branch", "nb201"]


class TestBuiltinSpaces(SearchSpaceContract):
    """Every built-in space, with its default options, on digits-sized inputs."""

    @pytest.fixture(params=BUILTIN)
    def space(self, request: pytest.FixtureRequest) -> SearchSpace:
        return nw.spaces.get(request.param)


class TestBuiltinSpacesOnCifarShapes(SearchSpaceContract):
    """The network-building rules again on 3x32x32 inputs and 100 classes (small options keep it fast)."""

    input_shape = (3, 32, 32)
    num_classes = 100

    @pytest.fixture(
        params=[
            (
                "cell",
                {"num_cells": 1, "num_nodes": 3, "ops": ("nor_conv_3x3", "sep_conv_3x3", "max_pool_3x3")},
            ),
            ("chain", {"max_depth": 2}),
            ("multi_branch", {"blocks_per_stage": 1}),
            ("nb201", {"num_cells": 1}),
        ],
        ids=lambda p: p[0],
    )
    def space(self, request: pytest.FixtureRequest) -> SearchSpace:
        name, options = request.param
        return nw.spaces.get(name, **options)


class StackSpace(SearchSpace):
    """A user-defined space: 1 or 2 conv layers of searched width, then a classifier."""

    name = "test_stack"
    default_options: ClassVar[Mapping[str, Any]] = {"widths": (4, 8)}

    def define(self, suggester: Suggester) -> dict:
        choices = {"layers": suggester.suggest_categorical("layers", (1, 2))}
        for i in range(choices["layers"]):
            choices[f"layer{i}.width"] = suggester.suggest_categorical(
                f"layer{i}.width", self.options["widths"]
            )
        return choices

    def assemble(self, spec: ArchSpec, shape: NetworkShape) -> nn.Module:
        layers: list[nn.Module] = []
        channels = shape.input_shape[0]
        for i in range(spec.choices["layers"]):
            width = max(1, round(spec.choices[f"layer{i}.width"] * shape.width_multiplier))
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
            channels = width
        head = nn.Linear(channels, shape.num_classes)
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)

    def size(self) -> int:
        widths = len(self.options["widths"])
        return widths + widths**2


class TestUserDefinedSpace(SearchSpaceContract):
    @pytest.fixture
    def space(self) -> SearchSpace:
        return StackSpace()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made in a test vanish after it."""
    monkeypatch.setattr(nw.spaces, "_REGISTRY", copy.deepcopy(nw.spaces._REGISTRY))


def test_builtin_spaces_are_registered() -> None:
    assert nw.spaces.list() == BUILTIN
    assert all(nw.spaces.get(name).name == name for name in BUILTIN)


def test_user_defined_space_registers_and_passes_check_space(registry: None) -> None:
    assert nw.spaces.register(StackSpace) is StackSpace
    assert "test_stack" in nw.spaces.list()
    space = nw.spaces.get("test_stack", widths=(2, 3, 5))
    assert space.size() == 12
    check_space(space)


def test_registering_a_taken_name_is_an_error(registry: None) -> None:
    class Clash(StackSpace):
        name = "chain"

    with pytest.raises(ValueError, match="'chain' is already registered"):
        nw.spaces.register(Clash)


def test_registering_a_redefinition_replaces_it(registry: None) -> None:
    """A notebook cell that defines and registers a space can be edited and run again."""

    def define(widths: tuple[int, ...]) -> type[SearchSpace]:
        class Redefined(StackSpace):  # the same module and qualified name each time, as a re-run cell
            name = "test_redefined"
            default_options: ClassVar[Mapping[str, Any]] = {"widths": widths}

        return Redefined

    first, second = define((4,)), define((4, 8))
    nw.spaces.register(first)
    nw.spaces.register(second)
    assert type(nw.spaces.get("test_redefined")) is second
    assert nw.spaces.get("test_redefined").size() == 6


def test_unknown_space_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown search space 'chian'.*Did you mean 'chain'"):
        nw.spaces.get("chian")


def test_an_unknown_space_says_how_a_space_of_your_own_is_found() -> None:
    """A study of a user-defined space reopened before its defining cell ran again was told only the
    built-in names (h1: "Unknown search space 'stack'. Available: cell, chain, ...")."""
    with pytest.raises(UnknownNameError, match=r"'stack'.*registered in this process \(@nw.spaces.register"):
        nw.spaces.get("stack")
    with pytest.raises(ConfigError, match=r"space: 'stack'.*or named as 'module:Class'"):
        nw.SearchConfig(space="stack").validate()
