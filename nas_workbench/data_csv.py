"""Reading a CSV data file: its separator, its header, its numeric feature columns and its label column.

Spreadsheets save CSV files in more than one dialect: commas with decimal points (English settings),
semicolons with decimal commas (most European settings, Excel's "CSV" there), tabs (``.tsv``, or Excel's
"Text"). The separator is the tab for a ``.tsv`` file, else whichever of comma, semicolon and tab splits
the header row into the most columns (a header holds no numbers, so decimal commas cannot mislead it, as
they mislead `csv.Sniffer`, which prefers a comma whenever the header holds one). In a file separated by
semicolons or tabs a decimal comma (``1,5``) is read as ``1.5``; in a comma-separated file it can only be
a quoted cell, which could as well be a thousands separator (``"1,500"``), so it is refused, naming the
line and column. `nas_workbench.data_files` builds the data file from what is read here.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nas_workbench._registry import unknown_name_message
from nas_workbench.exceptions import ConfigError

__all__ = ["SEPARATORS", "CsvColumns", "is_number", "read_csv"]

#: The separators a CSV data file may use, as the messages name them.
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}

#: A number written with a decimal comma: ``1,5``, ``-0,25``, ``,5``, ``1,5e-3`` (no thousands separator).
_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d*,\d+(?:[eE][+-]?\d+)?\s*")


@dataclass(frozen=True, eq=False)
class CsvColumns:
    """A CSV file as read: its features as floats (N, D), its label column as text, the label column's
    name and the separator the file uses."""

    x: np.ndarray
    labels: np.ndarray
    label: str
    separator: str


def read_csv(path: str, label: str | None, path_field: str, label_field: str) -> CsvColumns:
    """Read the CSV file at ``path``; ``label`` names its label column (default: its last column).

    Raises:
        ConfigError: On ``path_field`` for a fault of the file, down to the line and column of a bad cell;
            on ``label_field`` for a label column the header does not name.
    """
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")  # a byte-order mark, as spreadsheets write it
    except OSError as error:
        raise ConfigError(path_field, path, f"a readable file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(path_field, path, "a CSV text file in UTF-8 (this one is not UTF-8 text)") from None
    separator = _separator(text, path)
    try:
        reader = csv.reader(io.StringIO(text), delimiter=separator)
        lines = [(reader.line_num, row) for row in reader if row]
    except csv.Error as error:
        raise ConfigError(path_field, path, f"a well-formed CSV file ({error})") from None
    if not lines:
        raise ConfigError(path_field, path, "a CSV file with a header row and rows of data (it is empty)")
    columns = [name.strip() for name in lines[0][1]]
    _check_header(path, columns, path_field)
    if label is None:
        label = columns[-1]
    elif label not in columns:
        raise ConfigError(
            label_field,
            label,
            "a column of the file's header: " + unknown_name_message("column", label, columns),
        )
    for line, row in lines[1:]:
        if len(row) != len(columns):
            raise ConfigError(
                path_field,
                path,
                f"rows of {len(columns)} cells as the header names; line {line} has {len(row)} (read as "
                f"{SEPARATORS[separator]}-separated: the separator that splits the header into the most "
                "columns)",
            )
    if len(lines) == 1:
        raise ConfigError(path_field, path, "rows of data below the header (it has none)")
    cells = np.array([row for _, row in lines[1:]], dtype=str)
    numbers = [line for line, _ in lines[1:]]
    empty = np.char.strip(cells) == ""
    if empty.any():
        row, col = np.argwhere(empty)[0]
        raise ConfigError(
            path_field,
            path,
            f"a value in every cell; line {numbers[row]}, column "
            f"{columns[col]!r} is empty (drop or fill the rows with missing values)",
        )
    at = columns.index(label)
    column = _Column(path, path_field, separator, numbers)
    features = [column.numbers(cells[:, j], columns[j]) for j in range(len(columns)) if j != at]
    if not features:
        raise ConfigError(
            path_field, path, f"feature columns beside the label {label!r} (it is the only column)"
        )
    return CsvColumns(np.stack(features, axis=1), np.char.strip(cells[:, at]), label, separator)


def _separator(text: str, path: str) -> str:
    """The tab for a ``.tsv`` file, else the separator that splits the header row into the most columns
    (quotes respected; a comma on a tie, and for a header of one column)."""
    if path.lower().endswith(".tsv"):
        return "\t"
    header = next((line for line in text.splitlines() if line.strip()), "")
    try:
        counts = {sep: len(next(csv.reader([header], delimiter=sep), [])) for sep in SEPARATORS}
    except csv.Error:  # a malformed header: the comma's reader reports it
        return ","
    return max(SEPARATORS, key=lambda sep: counts[sep])  # max keeps the first of equals: the comma


def _check_header(path: str, columns: list[str], path_field: str) -> None:
    """A header names every column once: a nameless first column is most often an index written along."""
    if "" in columns:
        where = columns.index("") + 1
        hint = " (pandas writes its index there: to_csv(..., index=False))" if where == 1 else ""
        raise ConfigError(
            path_field, path, f"a header row naming every column; column {where} has no name{hint}"
        )
    twice = sorted({name for name in columns if columns.count(name) > 1})
    if twice:
        raise ConfigError(path_field, path, f"a header naming each column once; {twice[0]!r} is named twice")


@dataclass(frozen=True)
class _Column:
    """Reads the feature columns of one file: where its faults are reported, and its separator (which
    decides whether a decimal comma is read)."""

    path: str
    field: str
    separator: str
    lines: list[int]

    def numbers(self, cells: np.ndarray, name: str) -> np.ndarray:
        """One feature column as finite floats, or the error naming its first bad cell."""
        if self.separator != ",":
            commas = np.array([_DECIMAL_COMMA.fullmatch(cell) is not None for cell in cells], dtype=bool)
            cells = np.where(commas, np.char.replace(cells, ",", "."), cells)
        try:
            values = cells.astype(np.float64)
        except ValueError:
            bad = next(i for i, cell in enumerate(cells) if not is_number(cell))
            raise ConfigError(self.field, self.path, self._not_a_number(str(cells[bad]), name, bad)) from None
        finite = np.isfinite(values)
        if not finite.all():
            bad = int(np.argmin(finite))
            raise ConfigError(
                self.field,
                self.path,
                f"finite numbers; line {self.lines[bad]}, column {name!r} is "
                f"{cells[bad].strip()!r} (drop or fill the rows with missing values)",
            )
        return values

    def _not_a_number(self, cell: str, name: str, bad: int) -> str:
        """What is allowed in place of the text ``cell`` on row ``bad`` of column ``name``."""
        where = f"line {self.lines[bad]}, column {name!r} is {cell!r}"
        if "," in cell and self.separator == ",":
            return (
                f"numbers with a decimal point in a comma-separated file; {where} (a decimal comma is read "
                "in a file separated by semicolons or tabs, as European spreadsheets save CSV files; a "
                "thousands separator is not)"
            )
        if "," in cell:
            return (
                f"numbers with a decimal point or a decimal comma (1.5 or 1,5); {where} (no thousands "
                "separators)"
            )
        return (
            f"numeric feature columns; column {name!r} holds text ({cell!r} on line {self.lines[bad]}): "
            "encode it as numbers, drop it, or make it the label column"
        )


def is_number(text: str) -> bool:
    """Whether ``text`` reads as a float (``float`` itself decides: ``1e3``, ``inf`` and ``nan`` do)."""
    try:
        float(text)
    except ValueError:
        return False
    return True
