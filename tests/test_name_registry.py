"""The name registry behind spaces, strategies, proxies, ops and pruners: unique names, except that a
redefinition (a notebook cell run again) replaces the item it redefines."""

from __future__ import annotations

import optuna
import pytest

from nas_workbench import strategies
from nas_workbench._registry import Registry
from nas_workbench.strategies import _base


def _make(value: int):
    def factory() -> int:  # the same module and qualified name on every call, like a re-run cell
        return value

    return factory


def test_a_redefinition_replaces_the_item() -> None:
    registry: Registry = Registry("thing")
    registry.add("a", _make(1))
    registry.add("a", _make(2))
    assert registry.get("a")() == 2


@pytest.mark.parametrize(
    "second", [lambda: 2, _make, optuna.samplers.RandomSampler], ids=["lambda", "function", "class"]
)
def test_another_item_under_a_taken_name_is_an_error(second) -> None:
    registry: Registry = Registry("thing")
    registry.add("a", lambda: 1)
    with pytest.raises(ValueError, match="thing 'a' is already registered"):
        registry.add("a", second)


def test_a_rerun_cell_that_registers_a_strategy_replaces_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_base._REGISTRY, "_items", dict(_base._REGISTRY._items))  # leave the real one be

    def cell(version: int) -> None:
        def factory(context, **options):
            sampler = optuna.samplers.RandomSampler(seed=context.seed)
            sampler.version = version
            return sampler

        strategies.register(strategies.Strategy("mine", factory, "Random search, as edited."))

    cell(1)
    cell(2)
    assert strategies.make_sampler("mine", seed=0).version == 2
    with pytest.raises(ValueError, match="strategy 'random' is already registered"):
        strategies.register(strategies.Strategy("random", _make(0), "Not the real one."))
