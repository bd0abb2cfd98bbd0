"""The dataset field: scikit-learn's digits (built in), or data found in the notebook's namespace.

A search can train on what the user already has in the kernel: ``(x, y)`` arrays, a torch ``Dataset``
or ``DataLoader``, or a `Task`. `DatasetChoices` lists the variables holding such data by name, so the
form can offer them without the user typing code. It imports neither torch nor `nas_workbench.task`: a
value can only be a torch dataset or a `Task` once their modules are loaded, so it asks the loaded ones.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import ipywidgets as W

from nas_workbench.ui._fields import DESCRIPTION_WIDTH

__all__ = ["DIGITS", "DatasetChoices", "describe_dataset", "kernel_namespace"]

DIGITS = "digits"
_GIVEN = "<given>"


def kernel_namespace() -> Mapping[str, Any]:
    """The running IPython kernel's user namespace (empty outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


def describe_dataset(value: Any) -> str | None:
    """A short description of ``value`` if a search can train on it, else None."""
    task, torch_data = sys.modules.get("nas_workbench.task"), sys.modules.get("torch.utils.data")
    if task is not None and isinstance(value, task.Task):
        return f"Task {value.name!r}, {value.input_shape}, {value.num_classes} classes"
    if torch_data is not None and isinstance(value, torch_data.DataLoader):
        return "torch DataLoader"
    if torch_data is not None and isinstance(value, torch_data.Dataset):
        size = len(value) if hasattr(value, "__len__") else "?"
        return f"torch Dataset, {size} examples"
    if isinstance(value, tuple | list) and len(value) == 2:
        x, y = value
        if hasattr(x, "shape") and hasattr(y, "shape") and len(x.shape) >= 2 and x.shape[:1] == y.shape[:1]:
            return f"arrays x{tuple(x.shape)}, y{tuple(y.shape)}"
    return None


class DatasetChoices:
    """The dataset dropdown: digits, every dataset variable of ``namespace``, and a dataset given in code.

    Args:
        namespace: Variables to look in (default: the kernel's namespace).
    """

    def __init__(self, namespace: Mapping[str, Any] | None = None) -> None:
        self.namespace = kernel_namespace() if namespace is None else namespace
        self._given: Any = None
        self.widget = W.Dropdown(
            description="dataset",
            style={"description_width": DESCRIPTION_WIDTH},
            layout=W.Layout(width="60%"),
        )
        self.refresh()

    def _candidates(self) -> dict[str, str]:
        found = {}
        for name, value in list(self.namespace.items()):
            if not name.startswith("_"):
                description = describe_dataset(value)
                if description is not None:
                    found[name] = description
        return found

    def refresh(self) -> None:
        """Look for dataset variables again (keeps the current choice when it is still there)."""
        current = self.widget.value
        options = [("digits (scikit-learn, built in)", DIGITS)]
        if self._given is not None:
            options.append(
                (f"given in code: {describe_dataset(self._given) or type(self._given).__name__}", _GIVEN)
            )
        options += [(f"{name}: {description}", name) for name, description in self._candidates().items()]
        self.widget.options = options
        values = [value for _, value in options]
        self.widget.value = current if current in values else DIGITS

    def read(self) -> Any:
        """The chosen data, as a run's ``data`` argument: None for digits, else the data object itself."""
        choice = self.widget.value
        if choice == DIGITS:
            return None
        if choice == _GIVEN:
            return self._given
        return self.namespace[choice]

    def write(self, dataset: Any) -> None:
        """Show ``dataset`` (None or "digits": the built-in digits): a namespace variable holding it is chosen
        by name, else it is "given in code"."""
        if dataset is None or (isinstance(dataset, str) and dataset == DIGITS):
            self.widget.value = DIGITS
            return
        for name, value in list(self.namespace.items()):
            # never IPython's output aliases (``_``, ``__``, ``_3``): they are not offered as choices
            if value is dataset and not name.startswith("_") and describe_dataset(value) is not None:
                self.refresh()
                self.widget.value = name
                return
        self._given = dataset
        self.refresh()
        self.widget.value = _GIVEN
