"""Latencies measured on a device, read from a CSV file (``arch,latency_ms``) with every bad row named,
and the CSV of proposed architectures a user fills in (``nas-workbench device propose`` / ``fit``)."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.profiling.device_model import MIN_MEASUREMENTS
from nas_workbench.spec import ArchSpec

__all__ = ["read_measurements", "write_proposal"]


def read_measurements(path: str | Path, space: Any) -> tuple[list[ArchSpec], list[float]]:
    """The ``arch,latency_ms`` rows of a CSV file, checked: every bad row is a `ConfigError` naming its
    line and what is wrong (missing value, not an architecture of ``space``, not a positive number, an
    architecture given twice)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ConfigError("CSV file", str(path), f"a readable file ({error.strerror})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    if "arch" not in header or "latency_ms" not in header:
        raise ConfigError("CSV file", str(path), f"a header with columns arch,latency_ms (found {header})")
    specs: list[ArchSpec] = []
    values: list[float] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str | None)}
        where = f"{path.name} line {line}"
        if not any(row.values()):
            continue
        if not row.get("arch"):
            raise ConfigError(f"{where} arch", "", "an architecture in the space's notation (missing)")
        if not row.get("latency_ms"):
            raise ConfigError(f"{where} latency_ms", "", "a latency in milliseconds (missing)")
        try:
            spec = space.parse(row["arch"])
        except NasWorkbenchError as error:
            raise ConfigError(
                f"{where} arch", row["arch"], f"an architecture of {space.name!r}: {error}"
            ) from None
        try:
            value = float(row["latency_ms"])
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{where} latency_ms", row["latency_ms"], "a positive number of milliseconds")
        if spec.id in seen:
            raise ConfigError(
                f"{where} arch", row["arch"], f"each architecture once (also on line {seen[spec.id]})"
            )
        seen[spec.id] = line
        specs.append(spec)
        values.append(value)
    if len(specs) < MIN_MEASUREMENTS:
        raise ConfigError(
            "CSV file", str(path), f"at least {MIN_MEASUREMENTS} measured rows, found {len(specs)}"
        )
    return specs, values


def write_proposal(path: str | Path, archs: Iterable[str]) -> None:
    """A CSV to fill in: one row per architecture to measure, the ``latency_ms`` column left empty."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "latency_ms"])
        for arch in archs:
            writer.writerow([arch, ""])
