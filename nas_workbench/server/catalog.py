"""The storages the server may read: the configured URLs, every SQLite file in the runs folder, and the
Optuna SQLite files found under the server's root (`nas_workbench.server.discovery`).

The browser never sends a path or a URL. It names a storage by the opaque id the server gave it (a hash
of the URL), and the catalog maps that id back to a URL it was configured with or found itself. Anything
else is an `UnknownStorageError`. URLs, which may carry passwords, never leave the server: the browser
gets a label with the password masked.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import optuna
import sqlalchemy

from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.server.discovery import StudyFileFinder, sqlite_storage_problem
from nas_workbench.server.studies import StudySummaries

__all__ = ["Storage", "StorageCatalog", "StorageError", "UnknownStorageError"]

logger = logging.getLogger("nas_workbench")

#: The form of a storage id: the first 12 hex digits of the SHA-1 of its URL.
STORAGE_ID = re.compile(r"[0-9a-f]{12}")


class UnknownStorageError(NasWorkbenchError, LookupError):
    """A storage id the server was not configured with."""


class StorageError(NasWorkbenchError, RuntimeError):
    """A configured storage cannot be read (missing server, not an Optuna database, ...)."""


@dataclass(frozen=True)
class Storage:
    """One readable storage.

    Attributes:
        id: Opaque id the browser uses to name it.
        url: The SQLAlchemy URL; stays on the server.
        label: What the browser shows: the file path relative to the server root, or the URL with its
            password masked.
        sqlite_path: The absolute database file of a SQLite storage, None for a database server.
    """

    id: str
    url: str
    label: str
    sqlite_path: Path | None


def storage_id(url: str) -> str:
    """The opaque, stable id of a storage URL."""
    return hashlib.sha1(url.encode()).hexdigest()[:12]


def _sqlite_path(url: sqlalchemy.engine.URL, base: Path) -> Path | None:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return (base / Path(url.database).expanduser()).resolve()


class StorageCatalog:
    """Resolves storage ids to storages and opens them read-only, one Optuna storage per URL.

    Args:
        urls: Storage URLs from the server's configuration. A relative SQLite path is relative to
            ``root_dir``, like the runs folder.
        runs_dir: The folder whose ``*.db`` files are storages too (scanned on every listing, so a new
            search shows up without a restart).
        root_dir: The server's root directory, for labels and relative paths.
        finder: Finds Optuna SQLite files under the root (None: only the configured ones and the runs
            folder are listed).
    """

    def __init__(
        self, urls: Iterable[str], runs_dir: Path, root_dir: Path, finder: StudyFileFinder | None = None
    ) -> None:
        self.root_dir = root_dir.resolve()
        self.runs_dir = (self.root_dir / runs_dir).resolve()
        self.finder = finder
        self._configured = [self._describe(url) for url in urls]
        self._opened: dict[str, StudySummaries] = {}
        self._lock = threading.Lock()

    def _describe(self, url: str) -> Storage:
        try:
            parsed = sqlalchemy.engine.make_url(url)
        except sqlalchemy.exc.ArgumentError as error:
            raise StorageError(
                f"NasWorkbenchServer.storages: {url!r} is not a database URL ({error})"
            ) from None
        path = _sqlite_path(parsed, self.root_dir)
        if path is not None:  # one URL per file, however it was written
            url = parsed.set(database=str(path)).render_as_string(hide_password=False)
            label = self._relative(path)
        else:
            label = parsed.render_as_string(hide_password=True)
        return Storage(id=storage_id(url), url=url, label=label, sqlite_path=path)

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root_dir).as_posix() if path.is_relative_to(self.root_dir) else str(path)

    def storages(self) -> list[Storage]:
        """The configured storages, the runs folder's SQLite files in name order, then the study files
        found under the root in path order, without repeats."""
        runs = [p for p in sorted(self.runs_dir.glob("*.db")) if p.is_file()]
        found = [
            self._describe(f"sqlite:///{p}") for p in [*runs, *(self.finder.files() if self.finder else [])]
        ]
        unique: dict[str, Storage] = {}
        for storage in [*self._configured, *found]:
            unique.setdefault(storage.id, storage)
        return list(unique.values())

    def get(self, storage_id: str) -> Storage:
        """The storage with this id, or `UnknownStorageError`."""
        for storage in self.storages():
            if storage.id == storage_id:
                return storage
        raise UnknownStorageError(f"unknown storage {storage_id!r}: the server was not configured with it")

    def open(self, storage: Storage) -> StudySummaries | None:
        """The summaries of the Optuna storage behind ``storage`` (one per URL, kept for the server's
        life, so listings reuse what earlier ones read); None for a SQLite file that does not exist yet.

        Opening never writes: a SQLite file must already hold Optuna's tables (an unrelated ``.db`` file
        in the runs folder is a `StorageError`, not a database to migrate), and table creation is off.
        """
        if storage.sqlite_path is not None:
            if not storage.sqlite_path.exists() or storage.sqlite_path.stat().st_size == 0:
                return None  # no search has written to it yet
            _check_optuna_sqlite(storage.sqlite_path, storage.label)
        with self._lock:
            opened = self._opened.get(storage.url)
            if opened is None:
                try:  # a dead worker is judged by each study's own heartbeat interval (`server.studies`)
                    opened = StudySummaries(optuna.storages.RDBStorage(storage.url, skip_table_creation=True))
                except Exception as error:  # SQLAlchemy and drivers raise many kinds; all mean "unreadable"
                    raise StorageError(
                        f"{storage.label}: cannot open ({type(error).__name__}: {error})"
                    ) from None
                self._opened[storage.url] = opened
            return opened


def _check_optuna_sqlite(path: Path, label: str) -> None:
    """Raise `StorageError` unless ``path`` is a SQLite database with Optuna's tables (read-only check)."""
    problem = sqlite_storage_problem(path)
    if problem is not None:
        raise StorageError(f"{label}: {problem}")
