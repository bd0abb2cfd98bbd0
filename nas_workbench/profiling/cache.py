"""Where profiling keeps its files: lookup tables and the measurement lock, under one cache directory.

The directory is ``$NAS_WORKBENCH_CACHE`` when set, else ``$XDG_CACHE_HOME/nas_workbench`` (``~/.cache``
by default). Files are written atomically (a temporary file renamed into place), so a reader never sees a
half-written table even with several workers on the machine.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "read_json", "write_json_atomic"]


def cache_dir() -> Path:
    """The profiling cache directory (created on first use)."""
    root = os.environ.get("NAS_WORKBENCH_CACHE")
    if root:
        path = Path(root)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "nas_workbench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when the file is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` (a JSON value) to ``path`` so that readers see either the old file or the new one, never
    a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
