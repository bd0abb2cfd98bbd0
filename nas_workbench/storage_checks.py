"""Checks of where a study lives: a storage URL the engine opens and a study name Optuna stores.

Shared by the config's checks (`nas_workbench.config_validation`), the command line's ``--storage`` and
``--study`` and the server extension's study URLs. Torch-free.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from nas_workbench.exceptions import ConfigError

__all__ = ["MAX_STUDY_NAME", "check_storage_url", "check_study_name"]

#: Optuna keeps study names in a VARCHAR(512) column.
MAX_STUDY_NAME = 512

#: Storage URL schemes the engine opens (SQLAlchemy driver names).
_STORAGE_DRIVERS = (
    "sqlite",
    "postgresql",
    "postgresql+psycopg2",
    "postgresql+psycopg",
    "mysql",
    "mysql+pymysql",
    "mysql+mysqldb",
)


def check_study_name(name: str, value: Any, what: str = "a study name") -> None:
    """A name Optuna stores and the side panel's URLs carry: 1-512 characters, no control characters,
    not only blanks, not '.' or '..' (browsers resolve those path segments away)."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or value in (".", "..")
        or len(value) > MAX_STUDY_NAME
        or any(unicodedata.category(c) == "Cc" for c in value)
    ):
        raise ConfigError(
            name,
            value,
            f"{what}: a non-empty string of at most {MAX_STUDY_NAME} characters, no control characters, "
            "not '.' or '..'",
        )


def check_storage_url(name: str, url: Any) -> None:
    """Raise `ConfigError` for setting ``name`` unless ``url`` is a storage URL the engine opens."""
    from sqlalchemy.engine import make_url

    example = "an Optuna storage URL such as 'sqlite:///runs/nas.db' or 'postgresql://user@host/db'"
    if not isinstance(url, str):
        raise ConfigError(name, url, example)
    try:
        parsed = make_url(url)
        port = parsed.port  # parsing the port is lazy: a malformed one raises here
    except Exception:
        raise ConfigError(name, url, example) from None
    shown = parsed.render_as_string(hide_password=True)  # errors end up in logs: no passwords
    if parsed.drivername not in _STORAGE_DRIVERS:
        raise ConfigError(name, shown, f"{example}; drivers: {', '.join(_STORAGE_DRIVERS)}")
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:" or parsed.host:
            raise ConfigError(
                name, shown, "a SQLite file shared by every process, 'sqlite:///path/to/file.db'"
            )
    elif not parsed.database or (port is not None and not 0 < port < 65536):
        raise ConfigError(name, shown, f"{example}, with a database name and a valid port")
