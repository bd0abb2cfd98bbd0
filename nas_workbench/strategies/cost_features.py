"""What a budget-aware strategy knows of a candidate before training it, as feasibility-model features.

`CostFeatures` turns a candidate's decisions into its counted costs (`SamplerContext.costs`), and
`shared_choices` pools the one-hot of decisions that offer the same choices, so that an operation's cost is
learnt once wherever it is chosen. Both feed `feasibility.FeasibilityModel`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec

__all__ = ["CostFeatures", "shared_choices"]


class _Completion:
    """A suggester for `SearchSpace.define`: the wrapped sampler's answer where it gave one, else uniform."""

    def __init__(self, answers: Mapping[str, Any], rng: random.Random) -> None:
        self.answers = answers
        self.rng = rng

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        if name in self.answers and self.answers[name] in choices:
            return self.answers[name]
        return self.rng.choice(list(choices))


def shared_choices(decisions: Mapping[str, tuple[Any, ...]]) -> np.ndarray:
    """The matrix that turns the one-hot of ``decisions`` into, per set of choices that two or more
    decisions share, how many of them chose each choice: (one-hot features, shared counts).

    Decisions with the same choices usually cost alike for the same choice (the edges of a cell run the
    same operations on tensors of one shape), so the count of each operation predicts a latency from a
    few trials where one weight per decision and choice needs many; the indicators then refine it."""
    offsets, start = {}, 0
    for name, choices in decisions.items():
        offsets[name] = start
        start += len(choices)
    groups: dict[tuple[Any, ...], list[str]] = {}
    for name, choices in decisions.items():
        groups.setdefault(choices, []).append(name)
    shared = [(choices, names) for choices, names in groups.items() if len(names) > 1]
    pooling = np.zeros((start, sum(len(choices) for choices, _ in shared)))
    column = 0
    for choices, names in shared:
        for index in range(len(choices)):
            for name in names:
                pooling[offsets[name] + index, column + index] = 1.0
        column += len(choices)
    return pooling


class CostFeatures:
    """An architecture's counted costs (`SamplerContext.costs`), from its decisions, as model features.

    What the engine knows of a candidate before training it (parameters, FLOPs, or the latency a target
    device's profile predicts) enters the feasibility model as unpenalised features the one-hot decisions
    refine. A constraint that is linear in a known cost (a target device's latency budget is
    ``(predicted - limit) / limit``) is then learnt exactly from a few trials, so candidates over budget
    are not proposed; a cost that only correlates with the constraint is a prior. Values are cached per
    architecture, since a strategy asks for the same ones trial after trial.

    Args:
        space: The search space, to turn decisions into the architecture the costs are counted on.
        costs: Architecture → counted costs (name → value); the names must not change.
    """

    def __init__(self, space: SearchSpace, costs: Callable[[ArchSpec], Mapping[str, float]]) -> None:
        self.space = space
        self.costs = costs
        self._cache: dict[tuple[tuple[str, Any], ...], dict[str, float]] = {}

    def counted(self, params: Mapping[str, Any]) -> dict[str, float]:
        """The architecture's counted costs by name (cached)."""
        key = tuple(sorted(params.items()))
        if key not in self._cache:
            counted = self.costs(self.space.sample(_Completion(params, random.Random(0))))
            self._cache[key] = {name: float(counted[name]) for name in sorted(counted)}
        return self._cache[key]

    def names(self) -> tuple[str, ...]:
        """The costs' names, in the order of `__call__`'s values (those of a uniform draw's costs)."""
        return tuple(self.counted({}))

    def __call__(self, params: Mapping[str, Any]) -> np.ndarray:
        """Each counted cost, in name order."""
        return np.array(list(self.counted(params).values()))
