"""Naming user code so that another process can import it: ``"module:function"`` references.

Worker processes get the user's ``evaluate`` and data by name (``--evaluate``, ``--dataset``): a function
defined in a notebook cannot cross a process boundary, so it is refused here with a way out.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from typing import Any

from nas_workbench.exceptions import ConfigError

__all__ = ["callable_name", "load_callable", "load_dataset"]


def load_callable(reference: str, field: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` (``field`` names the option in errors)."""
    module_name, _, name = reference.partition(":")
    if not module_name or not name:
        raise ConfigError(field, reference, "'module:function', e.g. 'my_project.evaluation:evaluate'")
    try:
        target: Any = pkgutil.resolve_name(reference)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(
            field, reference, f"a function importable here ({type(error).__name__}: {error})"
        ) from None
    if not callable(target):
        raise ConfigError(field, reference, "a callable")
    return target


def callable_name(function: Callable[..., Any], field: str) -> str:
    """The ``"module:function"`` another process imports ``function`` by.

    Raises:
        ConfigError: ``function`` has no importable name (defined in a notebook, a lambda, a closure).
    """
    module, qualname = getattr(function, "__module__", None), getattr(function, "__qualname__", "")
    if module in (None, "__main__") or "<" in qualname:
        raise ConfigError(
            field,
            getattr(function, "__name__", repr(function)),
            "a function worker processes can import by name: define it in a module (a .py file next to "
            "the notebook, say) and import it from there",
        )
    reference = f"{module}:{qualname}"
    if load_callable(reference, field) is not function:
        raise ConfigError(field, reference, "a module-level function")
    return reference


def load_dataset(reference: str) -> Any:
    """The data a ``--dataset`` option names: a file saved with ``torch.save``, a data file (.csv with its
    label in the last column, .npz; `nas_workbench.data_files`) or ``module:function``."""
    if reference.lower().endswith((".csv", ".npz")):
        from nas_workbench.data_files import read_data_file

        return read_data_file(reference, path_field="--dataset")
    if reference.endswith((".pt", ".pth")):
        import torch

        try:
            return torch.load(reference, weights_only=False)  # our own Task file, written by `_data_file`
        except OSError as error:
            raise ConfigError("--dataset", reference, f"a readable file ({error.strerror})") from None
        except Exception as error:  # truncated or not written by torch.save: unpickling fails many ways
            raise ConfigError(
                "--dataset", reference, f"a file written by torch.save ({type(error).__name__}: {error})"
            ) from None
    return load_callable(reference, "--dataset")()
