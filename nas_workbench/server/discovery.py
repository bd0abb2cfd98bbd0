"""Finding Optuna SQLite files under the server's root, such as ``sqlite:///mine.db`` beside a notebook.

A search started in a notebook writes its storage relative to the notebook's folder, which may be
anywhere under the root. `StudyFileFinder` walks the root breadth-first to a bounded depth and a bounded
number of directory entries, skipping hidden folders (``.git``, ``.venv``, checkpoints), symbolic links
and package folders, and remembers the result for a few seconds, so a side panel that polls does not
walk a large tree on every call. A file is a study file only if its name ends like a database and a
read-only SQLite connection finds Optuna's tables in it: no file is created or changed.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import deque
from contextlib import closing
from pathlib import Path

__all__ = ["StudyFileFinder", "sqlite_storage_problem"]

logger = logging.getLogger("nas_workbench")

#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"

#: Names a storage file may end with (``sqlite:///runs/nas_workbench.db`` is the default).
SUFFIXES = (".db", ".sqlite", ".sqlite3")

#: Folders never searched, besides hidden ones: installed packages and caches hold no studies.
SKIPPED = frozenset({"node_modules", "__pycache__", "site-packages"})

#: The tables every Optuna RDB storage has.
OPTUNA_TABLES = frozenset({"studies", "trials", "version_info"})


def sqlite_storage_problem(path: Path) -> str | None:
    """Why ``path`` is not an Optuna SQLite storage (None when it is), checked without writing to it, in a
    read-only SQLite connection.

    The file is opened by SQLite, never by Python first: closing any other descriptor of a database file
    drops every POSIX lock this process holds on it, among them those of the server's own open
    connection to it (SQLite's documented "How To Corrupt" case 2.2), so a search finishing elsewhere took
    itself for the file's last user and removed the write-ahead log the server still read: the side panel
    showed that study as it was then, for good, and found the file "malformed". SQLite keeps its own
    descriptors of a file open while another of its connections holds a lock on it. Only a file SQLite
    refuses is read by Python, to say whether it is a SQLite database at all."""
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as connection:
            tables = {
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
    except sqlite3.OperationalError as error:  # missing, unreadable, locked
        return f"cannot be read ({error})"
    except sqlite3.Error as error:  # not a database, or a damaged one
        if _header(path) != SQLITE_HEADER:
            return "not a SQLite database (no SQLite header)"
        return f"not a readable SQLite database ({error})"
    if OPTUNA_TABLES - tables:
        return "not an Optuna storage (it has no Optuna tables)"
    return None


def _header(path: Path) -> bytes:
    """The first bytes of ``path`` (empty when it cannot be read)."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER))
    except OSError:
        return b""


class StudyFileFinder:
    """The Optuna SQLite files under a folder, found within bounds and remembered for a while.

    Args:
        root: The folder to search (the server's root directory).
        depth: Folder levels below ``root`` searched (0: ``root`` itself only).
        max_entries: Directory entries looked at per walk; the walk stops there (a root holding a
            dataset of many files must not stall the panel).
        interval_s: Seconds a walk's result is reused before the next walk.
    """

    def __init__(
        self, root: Path, depth: int = 3, max_entries: int = 20_000, interval_s: float = 10.0
    ) -> None:
        self.root = root.resolve()
        self.depth = depth
        self.max_entries = max_entries
        self.interval_s = interval_s
        self._found: list[Path] = []
        self._walked_at: float | None = None
        #: path -> (times and sizes of the file and its write-ahead log, whether it is a study file)
        self._verdicts: dict[Path, tuple[tuple[int, ...], bool]] = {}
        self._lock = threading.Lock()

    def files(self) -> list[Path]:
        """The study files found, in path order (walked again once ``interval_s`` has passed)."""
        with self._lock:
            now = time.monotonic()
            if self._walked_at is None or now - self._walked_at >= self.interval_s:
                candidates = self._candidates()
                self._found = sorted(path for path in candidates if self._is_study_file(path))
                self._verdicts = {path: self._verdicts[path] for path in candidates if path in self._verdicts}
                self._walked_at = now
            return list(self._found)

    def _candidates(self) -> list[Path]:
        """Regular files named like databases within the bounds, breadth-first."""
        found: list[Path] = []
        queue: deque[tuple[Path, int]] = deque([(self.root, 0)])
        seen = 0
        while queue:
            folder, level = queue.popleft()
            try:
                entries = list(os.scandir(folder))
            except OSError:  # unreadable or vanished: nothing to list there
                continue
            for entry in sorted(entries, key=lambda e: e.name):
                seen += 1
                if seen > self.max_entries:
                    logger.info(
                        "looked for study files in %d entries under %s and stopped there "
                        "(NasWorkbenchServer.scan_limit)",
                        self.max_entries,
                        self.root,
                    )
                    return found
                if entry.name.startswith(".") or entry.is_symlink():
                    continue
                if entry.is_dir():
                    if level < self.depth and entry.name not in SKIPPED:
                        queue.append((Path(entry.path), level + 1))
                elif entry.name.endswith(SUFFIXES) and entry.is_file():
                    found.append(Path(entry.path))
        return found

    def _is_study_file(self, path: Path) -> bool:
        """Whether ``path`` is an Optuna storage, re-checked only when it or its write-ahead log changed
        (in WAL mode, Optuna's tables may exist in the log only, the file itself unchanged)."""
        stamps = []
        for part in (path, path.with_name(path.name + "-wal")):
            try:
                stat = part.stat()
            except OSError:  # no log (or the file vanished, then the check below says so)
                continue
            stamps += [stat.st_mtime_ns, stat.st_size]
        key = tuple(stamps)
        known = self._verdicts.get(path)
        if known is None or known[0] != key:
            known = (key, bool(stamps) and sqlite_storage_problem(path) is None)
            self._verdicts[path] = known
        return known[1]
