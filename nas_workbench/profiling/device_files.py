"""Where device profiles are saved, and what a listing reads of them without loading one.

A profile is a JSON file ``<cache>/devices/<name>.json`` (the profiling cache, `cache.cache_dir`), its name
1-64 letters, digits, '_', '.' or '-'. Loading and fitting one is `targets`' job; a list to choose a target
device from needs only the names and the space each serves, read from the files alone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling.cache import cache_dir, read_json

__all__ = ["check_name", "list_devices", "profile_path", "saved_spaces"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(name: Any) -> str:
    """``name`` if it is a valid profile name, else a `ConfigError` naming what is allowed."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            "device name", name, "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return name


def profile_path(name: str, directory: Path | None = None) -> Path:
    """The file of the profile called ``name`` in the profiling cache (or ``directory``)."""
    return (directory or cache_dir() / "devices") / f"{check_name(name)}.json"


def list_devices(directory: Path | None = None) -> list[str]:
    """The names of the saved device profiles, sorted."""
    root = directory or cache_dir() / "devices"
    return sorted(p.stem for p in root.glob("*.json") if _NAME.match(p.stem)) if root.is_dir() else []


def saved_spaces(directory: Path | None = None) -> dict[str, str]:
    """The space each saved profile was fitted on, by name (`list_devices`' order): what a list to choose
    a target device from says beside each, since a profile serves only searches of its space; read from
    the files alone, a damaged one's as "?"."""
    spaces: dict[str, str] = {}
    for name in list_devices(directory):
        data = read_json(profile_path(name, directory))
        space = data.get("space") if isinstance(data, dict) else None
        spaces[name] = space if isinstance(space, str) else "?"
    return spaces
