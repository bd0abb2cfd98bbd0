"""`with_fixed`: a search space with some decisions fixed, as a search's strategy must see it.

`SearchConfig.fixed_choices` fixes decisions for every trial: Optuna's `PartialFixedSampler` answers them in
the trial. But the workbench's strategies also draw, mutate and rank whole architectures of the space
themselves (a budget-aware strategy's candidates, proxy-guided search's pool, evolution's children), and
drawn from the whole space those candidates had other values in the fixed decisions: the trial then ran
another architecture than the one judged within budget or ranked best. On the toy space with one width
fixed at 32 (40 trials, 3 seeds, an exact width budget), proxy-guided search sent 23-31 trials over budget
and TPE 18-23, against none without the fixed width. Given this space (`strategies.make_sampler`'s
``fixed_choices``), a strategy's candidates keep the fixed values, so what it judges is what the trial runs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from nas_workbench.spaces._base import Choice, SearchSpace, Suggester, enumerate_specs

__all__ = ["ENUMERABLE", "with_fixed"]

#: Largest space (architectures of the whole space) whose fixed version counts its architectures exactly.
ENUMERABLE = 100_000


class _OneChoice:
    """A suggester that asks each fixed decision with its fixed value as the only choice."""

    def __init__(self, suggester: Suggester, fixed: Mapping[str, Choice]) -> None:
        self.suggester = suggester
        self.fixed = fixed

    def suggest_categorical(self, name: str, choices: Sequence[Choice]) -> Choice:
        if name in self.fixed and self.fixed[name] in choices:
            return self.suggester.suggest_categorical(name, [self.fixed[name]])
        return self.suggester.suggest_categorical(name, choices)


def with_fixed(space: SearchSpace, fixed: Mapping[str, Choice]) -> SearchSpace:
    """``space`` with each decision of ``fixed`` asked with its value as the only choice (``space`` itself
    when ``fixed`` is empty).

    The result is an instance of a subclass of the space's own class made for it, so its notation, its
    cell signature and live cell, its supernet and every check on its class stay; architectures are those of
    ``space`` (same name and options) that keep the fixed values, and `validate` refuses any other. Its
    `size` is exact when ``space`` has at most `ENUMERABLE` architectures (they are enumerated once), else
    the size of ``space``, an upper bound (a space that large is sampled, never enumerated).
    """
    if not fixed:
        return space
    fixed = dict(fixed)
    base = type(space)
    counted: list[int] = []

    def define(self: SearchSpace, suggester: Suggester) -> dict[str, Choice]:
        return base.define(self, _OneChoice(suggester, fixed))

    def size(self: SearchSpace) -> int:
        if not counted:
            whole = base.size(self)
            counted.append(whole if whole > ENUMERABLE else sum(1 for _ in enumerate_specs(self, whole + 1)))
        return counted[0]

    attributes: dict[str, Any] = {
        "define": define,
        "size": size,
        "__doc__": base.__doc__,
        "__module__": __name__,
    }
    fixed_space = copy.copy(space)
    fixed_space.__class__ = type(f"Fixed{base.__name__}", (base,), attributes)
    return fixed_space
