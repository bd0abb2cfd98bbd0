"""Class labels as users have them (text, integers with gaps, floats that are integers, booleans) turned into
class indices 0..K-1 and the name of each class, one way for every source: a CSV's label column
(`nas_workbench.data_files`) and arrays or pandas columns given in Python (`nas_workbench.make_task`).

Classes are ordered by their labels' values: numbers by value (``1, 2, 10``), text by text; labels that are
all numbers written as text (a CSV's ``"1"``, ``"2"``) are numbers. A class's name is its label as a user
wrote it (``3``, not ``3.0``).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from nas_workbench.data_csv import is_number
from nas_workbench.exceptions import ConfigError

__all__ = ["encode_labels"]


def encode_labels(labels: np.ndarray, field: str, value: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class indices 0..K-1 (int64) for ``labels`` (shape (N,)), and each class's name, in class order.

    Raises:
        ConfigError: On ``field`` with ``value`` (the label column, or a description of the array) for
            labels that are no classes: fractional numbers (a regression target), missing values, a mix
            of text and numbers or other objects, or a single class.
    """
    if labels.dtype.kind == "O":
        labels = _from_objects(labels, field, value)
    if labels.dtype.kind in "US":
        as_text = labels.astype(str)
        numeric = all(is_number(text) for text in np.unique(as_text))
        labels = as_text.astype(np.float64) if numeric else as_text
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        missing = int((~np.isfinite(labels)).sum())
        raise ConfigError(
            field, value, f"a class label for every example; {missing} are NaN or infinite (drop those rows)"
        )
    if labels.dtype.kind == "f" and not np.all(np.mod(labels, 1) == 0):
        raise ConfigError(
            field,
            value,
            "class labels (integers or text); these are fractional numbers, "
            "as a regression target is: the workbench searches classifiers",
        )
    if labels.dtype.kind not in "biufU":
        raise ConfigError(field, value, f"class labels (integers or text), not {labels.dtype}")
    values, y = np.unique(labels, return_inverse=True)
    if len(values) == 0:
        raise ConfigError(field, value, "labels of at least two classes; there are no rows")
    if len(values) < 2:
        raise ConfigError(field, value, f"labels of at least two classes; every row is {_text(values[0])!r}")
    return y.astype(np.int64).reshape(-1), tuple(_text(v) for v in values)


def _from_objects(labels: np.ndarray, field: str, value: Any) -> np.ndarray:
    """Labels held as Python objects (a pandas column of text, or of None among numbers) as text or
    numbers, or the error naming what they mix."""
    items = labels.tolist()
    if all(isinstance(item, str) for item in items):
        return labels.astype(str)
    if all(isinstance(item, numbers.Real) for item in items):
        return labels.astype(np.float64)
    kinds = sorted({type(item).__name__ for item in items})
    raise ConfigError(
        field, value, f"class labels that are all text or all numbers; these mix {', '.join(kinds)}"
    )


def _text(value: Any) -> str:
    """A label as a user wrote it: ``3`` rather than ``3.0``."""
    if isinstance(value, np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)
