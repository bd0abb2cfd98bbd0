"""Public names of a package imported on first use (PEP 562), so importing the package starts nothing.

A package's ``__init__`` names where each public name lives; reading ``package.name`` imports that module
then. Light users (the CLI's ``--help``, the config, the Jupyter server extension listing studies) thus
pay neither for torch nor for a profiler session they never use. Type checkers read the same names from
the package's ``if TYPE_CHECKING:`` imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Collection, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, exports: Mapping[str, str], submodules: Collection[str] = ()
) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: a name of ``exports`` is read from the module it maps to,
    a name of ``submodules`` is that submodule, anything else is an `AttributeError`.

    A name, once read, is stored on the package, so later look-ups skip this function.
    """

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
