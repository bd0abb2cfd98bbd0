"""Search spaces: a registry of `SearchSpace` classes by name.

>>> import nas_workbench as nw
>>> space = nw.spaces.get("nb201")
>>> nw.spaces.list()
['cell', 'chain', 'multi_branch', 'nb201']

A user-defined space is registered by its ``name`` (`register`) or named by where it lives,
``"my_project.spaces:MLPSpace"``, in a config file, on the command line or in a worker (`get` imports it).
A study records where its space lives (`reference`), so worker processes and the command line's ``export``
find it again.

Importing the spaces imports no torch: a space asks, checks and describes architectures without it, and
imports torch when it builds a network. The modules that need torch, `ops` and `blocks`, are imported on
first use (``nw.spaces.ops.make_op``).
"""

from __future__ import annotations

import builtins
import pkgutil
from typing import Any

from nas_workbench._lazy import lazy_attributes
from nas_workbench._registry import Registry
from nas_workbench.exceptions import ConfigError
from nas_workbench.spaces._base import (
    NetworkShape,
    RandomSuggester,
    ReplaySuggester,
    SearchSpace,
    Suggester,
    enumerate_specs,
)
from nas_workbench.spaces.fixed import with_fixed

__all__ = [
    "NetworkShape",
    "RandomSuggester",
    "ReplaySuggester",
    "SearchSpace",
    "Suggester",
    "enumerate_specs",
    "get",
    "importable_reference",
    "list",
    "reference",
    "register",
    "resolve",
    "unknown_message",
    "with_fixed",
]

#: How a space of the user's own is found, said after an unknown name (a study of a user-defined space
#: reopened after a kernel restart, before the cell defining the space has run again).
_UNKNOWN_HINT = (
    "A space of your own is found once its class is registered in this process (@nw.spaces.register: run "
    "the cell or import the module that defines it) or named as 'module:Class'."
)
_REGISTRY: Registry[type[SearchSpace]] = Registry("search space", unknown_hint=_UNKNOWN_HINT)


def register(cls: type[SearchSpace]) -> type[SearchSpace]:
    """Class decorator that makes a user-defined space available by its ``name``.

    Raises:
        ConfigError: A class that leaves an abstract method undefined (``size``, say), named here: it
            could not be instantiated, and a config naming it was refused as bad ``space_options``.
    """
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        raise ConfigError(
            "space",
            f"{cls.__module__}:{cls.__qualname__}",
            f"a SearchSpace subclass that defines {', '.join(missing)} (abstract in SearchSpace)",
        )
    _REGISTRY.add(cls.name, cls)
    return cls


def unknown_message(name: object) -> str:
    """Why ``name`` names no space: the registered names, a suggestion, how a space of your own is found."""
    return _REGISTRY.unknown(name)


def get(name: str, **options: Any) -> SearchSpace:
    """Instantiate the space ``name`` (registered, or ``"module:Class"``: `resolve`) with ``options``."""
    return resolve(name)(**options)


def resolve(name: str) -> type[SearchSpace]:
    """The space class ``name`` names: a registered name, or ``"module:Class"``, imported from there and
    registered under its own ``name`` (the name its architectures carry, so that they build here too).

    Raises:
        UnknownNameError: An unregistered name (with a suggestion).
        ConfigError: A ``"module:Class"`` that does not import, or is not a `SearchSpace` subclass.
    """
    if ":" not in name:
        return _REGISTRY.get(name)
    try:
        target = pkgutil.resolve_name(name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(
            "space", name, f"a SearchSpace class importable here ({type(error).__name__}: {error})"
        ) from None
    if not (isinstance(target, type) and issubclass(target, SearchSpace)):
        raise ConfigError("space", name, "a subclass of nas_workbench.spaces.SearchSpace")
    register(target)
    return target


def reference(name: str) -> str | None:
    """Where another process finds the space ``name``: ``"module:Class"`` for a user-defined space, None
    for a built-in one (every process has it) and for one defined in ``__main__`` (a notebook or a script:
    no other process can import it; `importable_reference` says so)."""
    cls = resolve(name)
    if cls.__module__.startswith("nas_workbench.spaces.") or not _importable(cls):
        return None
    return f"{cls.__module__}:{cls.__qualname__}"


def importable_reference(name: str) -> str | None:
    """`reference`, for a run whose trials other processes run: a space they cannot import is a
    `ConfigError` naming the way out."""
    if not _importable(resolve(name)):
        raise ConfigError(
            "space",
            name,
            "a search space worker processes can import: define its class in a module (a .py file next to "
            "the notebook, say) and import it from there, or name it as 'module:Class'",
        )
    return reference(name)


def _importable(cls: type[SearchSpace]) -> bool:
    """Whether another process can import ``cls`` by its module and name (not a notebook's or a
    function's own class)."""
    return cls.__module__ != "__main__" and "<" not in cls.__qualname__


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
