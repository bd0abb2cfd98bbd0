"""Latencies measured on a device, read from a CSV file (``arch,latency_ms``) with every bad row named,
and the CSV of proposed architectures a user fills in (``nas-workbench device propose`` / ``fit``)."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.profiling.device_model import MIN_MEASUREMENTS
from nas_workbench.spec import ArchSpec

__all__ = ["LatencyRow", "read_latency_table", "read_measurements", "write_proposal"]


@dataclass(frozen=True)
class LatencyRow:
    """One row of a latency table: its line in the file, its architecture and latencies (ms) by column."""

    line: int
    spec: ArchSpec
    latencies: list[float]


def read_latency_table(
    path: Path,
    space: Any,
    field: str,
    columns: Callable[[list[str]], list[str]],
    wanted: str,
    unmeasured: bool = False,
) -> tuple[list[str], list[LatencyRow]]:
    """The latency columns and rows of a CSV file: an ``arch`` column in ``space``'s notation and the
    latency columns ``columns`` picks from the header (``wanted`` says which, when it picks none).

    Blank rows are skipped, and with ``unmeasured`` rows whose latencies are all left empty (finalists
    not measured); every bad cell is a `ConfigError` naming its line and column (missing, not an
    architecture of ``space``, not a positive number, an architecture given twice); an unreadable file or
    header is one naming ``field`` and ``path``.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ConfigError(field, str(path), f"a readable CSV file ({error.strerror})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    latency_columns = columns(header)
    if "arch" not in header or not latency_columns:
        raise ConfigError(field, str(path), f"a header with {wanted} (found {header})")
    rows: list[LatencyRow] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str | None)}
        where = f"{path.name} line {line}"
        if not any(row.values()):
            continue
        if not row.get("arch"):
            raise ConfigError(f"{where} arch", "", "an architecture in the space's notation (missing)")
        try:
            spec = space.parse(row["arch"])
        except NasWorkbenchError as error:
            raise ConfigError(
                f"{where} arch", row["arch"], f"an architecture of {space.name!r}: {error}"
            ) from None
        if spec.id in seen:
            raise ConfigError(
                f"{where} arch", row["arch"], f"each architecture once (also on line {seen[spec.id]})"
            )
        seen[spec.id] = line
        if unmeasured and not any(row.get(column) for column in latency_columns):
            continue
        rows.append(LatencyRow(line, spec, [_latency(row, column, where) for column in latency_columns]))
    return latency_columns, rows


def _latency(row: Mapping[str, str], column: str, where: str) -> float:
    """The positive latency in ``column`` of ``row``, or a `ConfigError` naming the cell."""
    text = row.get(column, "")
    if not text:
        raise ConfigError(f"{where} {column}", "", "a latency in milliseconds (missing)")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{where} {column}", text, "a positive number of milliseconds")
    return value


def read_measurements(
    path: str | Path, space: Any, fewest: int = MIN_MEASUREMENTS, unmeasured: bool = False
) -> tuple[list[ArchSpec], list[float]]:
    """The ``arch,latency_ms`` rows of a CSV file, checked: every bad row is a `ConfigError` naming its
    line and what is wrong (missing value, not an architecture of ``space``, not a positive number, an
    architecture given twice). At least ``fewest`` measured rows (a fit's minimum by default; 1 for the
    finalists of a search, where ``unmeasured`` rows, their latency left empty, are skipped)."""
    path = Path(path)
    _, rows = read_latency_table(
        path,
        space,
        "CSV file",
        lambda header: ["latency_ms"] if "latency_ms" in header else [],
        "columns arch,latency_ms",
        unmeasured,
    )
    if len(rows) < fewest:
        raise ConfigError("CSV file", str(path), f"at least {fewest} measured rows, found {len(rows)}")
    return [row.spec for row in rows], [row.latencies[0] for row in rows]


def write_proposal(path: str | Path, archs: Iterable[str], models: Iterable[str] | None = None) -> None:
    """A CSV to fill in: one row per architecture to measure, the ``latency_ms`` column left empty, and
    with ``models`` a ``model`` column naming each architecture's model file (`read_measurements` reads
    only ``arch`` and ``latency_ms``)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if models is None:
            writer.writerow(["arch", "latency_ms"])
            writer.writerows([arch, ""] for arch in archs)
        else:
            writer.writerow(["arch", "latency_ms", "model"])
            writer.writerows([arch, "", model] for arch, model in zip(archs, models, strict=True))
