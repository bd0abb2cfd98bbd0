"""Search spaces: a registry of `SearchSpace` classes by name.

>>> import nas_workbench as nw
>>> space = nw.spaces.get("nb201")
>>> nw.spaces.list()
['cell', 'chain', 'multi_branch', 'nb201']

Importing the spaces imports no torch: a space asks, checks and describes architectures without it, and
imports torch when it builds a network. The modules that need torch, `ops` and `blocks`, are imported on
first use (``nw.spaces.ops.make_op``).
"""

from __future__ import annotations

import builtins
from typing import Any

from nas_workbench._lazy import lazy_attributes
from nas_workbench._registry import Registry
from nas_workbench.spaces._base import (
    NetworkShape,
    RandomSuggester,
    ReplaySuggester,
    SearchSpace,
    Suggester,
    enumerate_specs,
)

__all__ = [
    "NetworkShape",
    "RandomSuggester",
    "ReplaySuggester",
    "SearchSpace",
    "Suggester",
    "enumerate_specs",
    "get",
    "list",
    "register",
]

_REGISTRY: Registry[type[SearchSpace]] = Registry("search space")


def register(cls: type[SearchSpace]) -> type[SearchSpace]:
    """Class decorator that makes a user-defined space available by its ``name``."""
    _REGISTRY.add(cls.name, cls)
    return cls


def get(name: str, **options: Any) -> SearchSpace:
    """Instantiate the space registered as ``name`` with ``options``."""
    return _REGISTRY.get(name)(**options)


def list() -> builtins.list[str]:  # the public API name in DESIGN.md, shadowing the builtin here
    """Names of the registered spaces."""
    return _REGISTRY.names()


def _register_builtin() -> None:
    from nas_workbench.spaces.cell import CellSpace, NB201Space
    from nas_workbench.spaces.chain import ChainSpace
    from nas_workbench.spaces.multi_branch import MultiBranchSpace

    for cls in (ChainSpace, MultiBranchSpace, CellSpace, NB201Space):
        register(cls)


_register_builtin()

__getattr__ = lazy_attributes(__name__, {}, submodules=("blocks", "ops"))
