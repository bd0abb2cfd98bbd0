"""Data files a search reads from the terminal: a CSV with a label column, or a NumPy ``.npz`` of x and y.

``nas-workbench run --data wine.csv --label class`` and a config file's ``dataset: {path: wine.csv, label:
class}`` read their data here (and ``nw.search(config, data="wine.csv")`` in Python). A file is read into
examples and class indices (`DataFile`); everything after that, the stratified split, the standardisation
(per feature for flat rows) and the input shape, is `make_task`'s. Every fault of a file is a
`ConfigError` naming the option, the value and what is allowed, down to the line and column of a bad cell.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nas_workbench.data_csv import SEPARATORS, read_csv
from nas_workbench.exceptions import ConfigError
from nas_workbench.labels import encode_labels
from nas_workbench.task import Task, make_task

__all__ = ["DATA_FILES", "SETTINGS", "DataFile", "read_data_file", "read_data_settings"]

#: What a data file may be, for error messages and help texts.
DATA_FILES = (
    "a .csv or .tsv file (a header row naming the columns, numeric features, one label column; separated by "
    "commas, semicolons or tabs) or a .npz file (arrays x: (N, D), (N, H, W) or (N, C, H, W), and y: N "
    "labels)"
)


@dataclass(frozen=True, eq=False)
class DataFile:
    """A data file's examples and labels as read, before any split.

    Attributes:
        path: The file, as given (a study records it as its data's name).
        x: The examples: one row of features each, (N, D), or images, (N, H, W) or (N, C, H, W).
        y: Each example's class, 0..K-1 (int64).
        classes: The label value of each class, in class order (sorted: numbers by value, text by text).
        label: The CSV's label column; None for a .npz file.
        field: How the path was given (``--data``, ``dataset.path``), for errors.
        separator: The CSV's separator (`nas_workbench.data_csv`); None for a .npz file.
    """

    path: str
    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    label: str | None = None
    field: str = "dataset.path"
    separator: str | None = None

    def task(self, seed: int = 0) -> Task:
        """The `Task` the search trains on, split with ``seed`` (a study resumes only on the same split);
        rows are standardised per feature, each a 1xD input, images over all their values (`make_task`)."""
        source = {"path": self.path} if self.label is None else {"path": self.path, "label": self.label}
        try:
            task = make_task(self.x, self.y, name=self.path, seed=seed, class_names=self.classes)
        except ConfigError as error:  # too few examples for the splits: said of the file
            raise ConfigError(
                self.field, self.path, f"{error.allowed} ({error.field}: {error.value})"
            ) from None
        return dataclasses.replace(task, source=source)

    def describe(self) -> str:
        """One line for the terminal, the classes in the order of the model's outputs:
        ``wine.csv: 178 rows of 13 features; label 'class': 3 classes (a, b, c)``."""
        what = (
            f"{len(self.x)} rows of {self.x.shape[1]} feature{'s' if self.x.shape[1] != 1 else ''}"
            if self.x.ndim == 2
            else f"{len(self.x)} images of {'x'.join(str(n) for n in self.x.shape[1:])}"
        )
        shown = ", ".join(self.classes[:10]) + (", ..." if len(self.classes) > 10 else "")
        label = f"label {self.label!r}: " if self.label is not None else ""
        separated = f" ({SEPARATORS[self.separator]}-separated)" if self.separator not in (None, ",") else ""
        return f"{self.path}{separated}: {what}; {label}{len(self.classes)} classes ({shown})"


def read_data_file(
    path: str | os.PathLike[str],
    label: str | None = None,
    *,
    path_field: str = "dataset.path",
    label_field: str = "dataset.label",
) -> DataFile:
    """Read a .csv, .tsv or .npz data file.

    Args:
        path: The file.
        label: The CSV's label column (default: its last column); not allowed for a .npz file.
        path_field, label_field: How the caller names the two settings in errors (``--data``, ``--label``
            on the command line).

    Raises:
        ConfigError: The file is missing or unreadable, of another kind, or holds data that cannot be
            searched on (non-numeric features, empty or non-finite cells, one class, no x or y).
    """
    shown = os.fspath(path)
    suffix = Path(shown).suffix.lower()
    if suffix not in (".csv", ".tsv", ".npz"):
        raise ConfigError(
            path_field,
            shown,
            f"{DATA_FILES}, or 'digits' (scikit-learn's, the default); "
            f"this path ends in {repr(suffix) if suffix else 'no suffix'}",
        )
    if not Path(shown).is_file():
        where = "a folder" if Path(shown).is_dir() else "no such file"
        raise ConfigError(
            path_field, shown, f"an existing file ({where}; paths are relative to {os.getcwd()})"
        )
    if suffix == ".npz":
        if label is not None:
            raise ConfigError(label_field, label, "no label for a .npz file: its labels are the array y")
        x, labels = _read_npz(shown, path_field)
        separator = None
    else:
        columns = read_csv(shown, label, path_field, label_field)
        x, labels, label, separator = columns.x, columns.labels, columns.label, columns.separator
    y, classes = encode_labels(labels, label_field if label is not None else path_field, label or shown)
    return DataFile(shown, x, y, classes, label, path_field, separator)


#: The keys of a data file's settings (a config file's ``dataset: {path: ..., label: ...}``).
SETTINGS = ("path", "label")


def read_data_settings(settings: str | os.PathLike[str] | Mapping[str, Any]) -> DataFile:
    """The data file a config file's ``dataset:`` names: its path, or ``{path: ..., label: ...}``."""
    if isinstance(settings, str | os.PathLike):
        settings = {"path": settings}
    if not isinstance(settings, Mapping):
        raise ConfigError("dataset", settings, "'digits', a data file's path, or {path: FILE, label: COLUMN}")
    for key, value in settings.items():
        if key not in SETTINGS:
            raise ConfigError(
                f"dataset.{key}", value, f"no such setting of a data file; {', '.join(SETTINGS)}"
            )
    path, label = settings.get("path"), settings.get("label")
    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise ConfigError("dataset.path", path, "the path of a .csv, .tsv or .npz file")
    if label is not None and (not isinstance(label, str) or not label):
        raise ConfigError("dataset.label", label, "the name of the CSV's label column")
    return read_data_file(path, label)


def _read_npz(path: str, path_field: str) -> tuple[np.ndarray, np.ndarray]:
    """Arrays ``x`` and ``y`` of a .npz file (never unpickled: a data file must not run code)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            missing = [key for key in ("x", "y") if key not in arrays.files]
            if missing:
                raise ConfigError(
                    path_field,
                    path,
                    f"a .npz file with arrays x (examples) and y (labels), "
                    f"as np.savez(path, x=x, y=y) writes it; it holds {sorted(arrays.files)}",
                )
            x, y = arrays["x"], arrays["y"]
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ConfigError(path_field, path, f"a .npz file written by np.savez ({error})") from None
    if x.dtype.kind not in "biuf" or x.ndim not in (2, 3, 4):
        raise ConfigError(
            path_field,
            path,
            f"numbers in x of shape (N, D), (N, H, W) or (N, C, H, W); x is {x.dtype} of shape {x.shape}",
        )
    if y.ndim != 1 or len(y) != len(x):
        raise ConfigError(
            path_field, path, f"y of shape ({len(x)},): one label per example of x; y has shape {y.shape}"
        )
    return x.astype(np.float32), y
