"""Naming user code so that another process can import it: ``"module:function"`` references.

Worker processes get the user's ``evaluate`` and data by name (``--evaluate``, ``--data``): a function
defined in a notebook cannot cross a process boundary, so it is refused here with a way out.
"""

from __future__ import annotations

import pkgutil
import re
from collections.abc import Callable
from typing import Any

from nas_workbench.exceptions import ConfigError

__all__ = ["DATA_OPTION", "callable_name", "load_callable", "load_dataset"]

#: What the command line's ``--data`` takes, for its help texts and errors.
DATA_OPTION = (
    "a .csv, .tsv or .npz data file, 'digits', a Task saved with torch.save (.pt), or 'module:function' "
    "returning the data"
)

#: A ``module:function`` reference (dotted names on both sides).
_REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


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


def load_dataset(
    reference: str, label: str | None = None, field: str = "--data", label_field: str = "--label"
) -> Any:
    """The data a ``--data`` option names (`DATA_OPTION`): a data file (`nas_workbench.data_files`; a
    CSV's label column ``label``, default its last), a `Task` saved with ``torch.save`` or
    ``module:function`` (called here). ``field`` and ``label_field`` name the options in errors."""
    from nas_workbench.data_files import read_data_file

    if reference.lower().endswith((".csv", ".tsv", ".npz")):
        return read_data_file(reference, label, path_field=field, label_field=label_field)
    if label is not None:
        raise ConfigError(label_field, label, f"the label column of a CSV file; {field} names no CSV file")
    if reference.endswith((".pt", ".pth")):
        import torch

        try:
            return torch.load(reference, weights_only=False)  # our own Task file, written by `_data_file`
        except OSError as error:
            raise ConfigError(field, reference, f"a readable file ({error.strerror})") from None
        except Exception as error:  # truncated or not written by torch.save: unpickling fails many ways
            raise ConfigError(
                field, reference, f"a file written by torch.save ({type(error).__name__}: {error})"
            ) from None
    if not _REFERENCE.fullmatch(reference):
        raise ConfigError(field, reference, DATA_OPTION)
    return load_callable(reference, field)()
