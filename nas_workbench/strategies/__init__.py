"""Search strategies: every one an Optuna sampler, made by name.

>>> import nas_workbench as nw
>>> nw.strategies.list()
['dnas', 'evolution', 'gp', 'grid', 'nsga2', 'proxy_guided', 'random', 'rl', 'tpe']
>>> sampler = nw.strategies.make_sampler("evolution", seed=0, population_size=20)
>>> print(nw.strategies.describe("grid"))  # doctest: +ELLIPSIS
grid: tries every architecture of a small space once...

`advise` recommends one for a space, objectives and budget, with a reason (`auto_advice`: for a config
whose strategy is "auto", the default, the one its search runs); `warm_start` seeds a study with
the finished trials of an earlier one, `best_architectures` picks an earlier study's best, and
`fix_choices` fixes decisions of a sampler.
"""

from __future__ import annotations

from nas_workbench.strategies import _optuna, dnas, evolution, proxy_guided, rl  # noqa: F401 - register the built-in strategies
from nas_workbench.strategies._base import (
    Option,
    SamplerContext,
    Strategy,
    describe,
    get,
    list,
    make_sampler,
    register,
)
from nas_workbench.strategies.advisor import Advice, advise, auto_advice, resolved_strategy
from nas_workbench.strategies.evolution import RegularizedEvolutionSampler
from nas_workbench.strategies.prior import best_architectures, fix_choices, warm_start
from nas_workbench.strategies.rl import ReinforceSampler

__all__ = [
    "Advice",
    "Option",
    "RegularizedEvolutionSampler",
    "ReinforceSampler",
    "SamplerContext",
    "Strategy",
    "advise",
    "auto_advice",
    "best_architectures",
    "describe",
    "fix_choices",
    "get",
    "list",
    "make_sampler",
    "register",
    "resolved_strategy",
    "warm_start",
]
