"""Opening a search's Optuna storage: heartbeats that expose dead workers, and retries that ride out a
dropped database connection.

Every process of a search (the notebook, `nas-workbench worker` on any machine) opens the storage here:

- **Heartbeats.** A running trial records a heartbeat every ``heartbeat_interval`` seconds; a trial whose
  heartbeat is older than `grace_period` (4 intervals) belongs to a dead process (killed, crashed, cut off)
  and any process of the study fails it, re-running its architecture when ``retries`` allows (Optuna's
  `RetryHeartbeatStaleTrialCallback`). See `nas_workbench.engine.scheduler` for how retries count.
- **Retries.** A call that fails because the connection dropped (a restarted or unreachable database
  server, a backend terminated by the administrator) or the SQLite file is locked by another process is
  retried with exponential backoff for up to ``retry_s`` seconds (60 by default, or
  ``NAS_WORKBENCH_STORAGE_RETRY_S``) before `StorageUnavailableError` ends the run with a clear message.
  Each retry runs on a fresh session and connection: Optuna keeps one SQLAlchemy session per thread and,
  after a dropped connection, may try again in that same broken session (its trial read falls back to a
  second query), which fails with ``PendingRollbackError``; that counts as a lost connection too, and the
  broken session and the pool's connections are discarded before the next attempt. The first connection
  gets a shorter window (``connect_s``), so a wrong URL is reported in seconds.
- **Drivers.** ``postgresql://`` URLs use psycopg 3 (the ``postgres`` extra) when it is installed and
  psycopg2 otherwise; PostgreSQL connections are checked before use (``pool_pre_ping``) and time out after
  10 s instead of hanging on an unreachable host.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import optuna
import sqlalchemy
import sqlalchemy.exc as sa_exc
from optuna.storages import BaseStorage, RDBStorage, RetryHeartbeatStaleTrialCallback

from nas_workbench._compat import RDB_PRIVATE_CALLS
from nas_workbench.engine._storage_errors import driver_reason, is_transient
from nas_workbench.engine.storage_urls import masked_url, normalize_url
from nas_workbench.exceptions import ConfigError, NasWorkbenchError

if TYPE_CHECKING:
    import tenacity

__all__ = [
    "CONNECT_WINDOW_S",
    "MAX_BACKOFF_S",
    "READ_ONLY",
    "RETRY_WINDOW_ENV",
    "RETRY_WINDOW_S",
    "ResilientRDBStorage",
    "StorageUnavailableError",
    "grace_period",
    "open_storage",
    "retry_window",
]

logger = logging.getLogger("nas_workbench")

#: Seconds a dropped connection is retried (with backoff) before a run gives up.
RETRY_WINDOW_S = 60.0
#: Environment variable that changes `RETRY_WINDOW_S` for every storage a process opens (an operator's
#: setting: a longer window rides out longer maintenance, a short one makes tests of it quick).
RETRY_WINDOW_ENV = "NAS_WORKBENCH_STORAGE_RETRY_S"
#: The longest wait between two attempts of a retried call.
MAX_BACKOFF_S = 5.0
#: Seconds the first connection is retried: long enough for a database that is starting, short enough
#: that a wrong URL is reported at once.
CONNECT_WINDOW_S = 5.0

#: Execution option of a connection that only reads: on SQLite its transactions begin without taking the
#: write lock (``BEGIN``, not ``BEGIN IMMEDIATE``), so a long read never holds up the workers' writes.
READ_ONLY = "nas_workbench_read_only"

T = TypeVar("T")


class StorageUnavailableError(NasWorkbenchError, ConnectionError):
    """The storage could not be reached, or stayed unreachable longer than the retry window."""


def grace_period(heartbeat_interval: float) -> float:
    """Seconds without a heartbeat after which a running trial's process counts as dead."""
    return 4 * heartbeat_interval


def retry_window() -> float:
    """Seconds a lost storage is retried: `RETRY_WINDOW_ENV` when set, else `RETRY_WINDOW_S`.

    Raises:
        ConfigError: The variable is set to something other than a positive number of seconds.
    """
    text = os.environ.get(RETRY_WINDOW_ENV)
    if text is None:
        return RETRY_WINDOW_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(RETRY_WINDOW_ENV, text, "a positive number of seconds")
    return value


def _with_retry(
    call: Callable[[], T],
    window_s: float,
    what: str,
    url: str,
    discard: Callable[[], None] | None = None,
    recovered: Callable[[], None] | None = None,
) -> T:
    """Run ``call``, retrying transient storage errors with jittered exponential backoff for ``window_s``
    (``discard``: called after each failed attempt, to drop what the failure left broken; ``recovered``:
    called when an attempt succeeds after failed ones). The first attempt is a plain call: tenacity's
    import (with tornado's, which it loads when installed) and set-up (about 60 Python calls) are only
    paid once a transient error needs retrying.

    Raises:
        StorageUnavailableError: Still failing when the window ran out; says for how long and why.
    """
    start = time.monotonic()
    try:
        return call()
    except Exception as error:  # tenacity's loop below re-raises it at once if it is not transient
        first: list[BaseException] = [error]
    import tenacity

    def attempt() -> T:  # the loop's first attempt is the failure above, not a second call
        if first:
            raise first.pop()
        return call()

    backoff = tenacity.wait_random_exponential(multiplier=0.1, max=MAX_BACKOFF_S)  # "full jitter"

    def failure(state: tenacity.RetryCallState) -> BaseException:  # retried: the attempt raised
        assert state.outcome is not None
        error = state.outcome.exception()
        assert error is not None
        return error

    def elapsed() -> float:  # since the first attempt
        return time.monotonic() - start

    def wait(state: tenacity.RetryCallState) -> float:  # the last attempt falls at the window's end
        return min(backoff(state), max(window_s - elapsed(), 0.01))

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if discard is not None:
            discard()
        if state.attempt_number == 1:
            reason = driver_reason(failure(state))
            logger.warning("storage %s: %s; retrying for up to %.0f s", masked_url(url), reason, window_s)

    def give_up(state: tenacity.RetryCallState) -> T:
        error = failure(state)
        raise StorageUnavailableError(
            f"storage {masked_url(url)} unreachable for {elapsed():.0f} s ({what}): {driver_reason(error)}"
        ) from error

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        stop=lambda _state: elapsed() >= window_s,
        wait=wait,
        before_sleep=before_sleep,
        retry_error_callback=give_up,
    )
    result = retrying(attempt)
    retries = retrying.statistics.get("attempt_number", 1) - 1
    if retries:
        logger.warning("storage %s reachable again after %d retries", masked_url(url), retries)
        if recovered is not None:
            recovered()
    return result


class ResilientRDBStorage(RDBStorage):
    """An `optuna.storages.RDBStorage` whose calls retry transient connection errors with backoff.

    Each storage method is wrapped once (calls it makes to its own methods are not retried twice). Retrying
    is safe because Optuna's writes are idempotent or guarded: a state change the database applied before
    the connection dropped is refused on retry (the trial is already in that state or finished), and the
    engine treats such refusals as "someone else did it".

    Args:
        url: The SQLAlchemy URL.
        retry_s: Seconds to keep retrying a call (None: `retry_window`).
        **kwargs: Passed to `RDBStorage` (heartbeat settings, engine arguments).
    """

    def __init__(self, url: str, retry_s: float | None = None, **kwargs: Any) -> None:
        self.retry_s = retry_window() if retry_s is None else retry_s
        self._depth = threading.local()
        self._recovered_at = -math.inf
        super().__init__(url, **kwargs)
        self._tune_sqlite()

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state.pop("_depth", None)
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        self._depth = threading.local()
        super().__setstate__(state)
        self._tune_sqlite()

    def _tune_sqlite(self) -> None:
        """Make SQLite safe for several processes, and fast.

        - Every transaction takes the write lock when it begins (``BEGIN IMMEDIATE``). Python's sqlite3
          driver only begins a transaction at the first write, so Optuna's read-then-update of a trial's
          state (claiming a WAITING trial) would not be atomic across processes: two could claim one trial.
          Others now wait (busy timeout) instead. This is SQLAlchemy's documented recipe for pysqlite.
        - Write-ahead logging with ``synchronous=NORMAL``: a commit no longer waits for the disk (30 ms on
          a slow one), and the file stays consistent whatever process is killed, even on power loss (the
          last commits may then be lost). WAL needs a local disk: across machines, use PostgreSQL.
        """
        if self.engine.dialect.name != "sqlite":
            return

        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # the driver stops emitting its own BEGIN
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        def on_begin(connection: Any) -> None:
            # a read-only transaction (READ_ONLY option) takes no write lock: WAL gives it a snapshot
            read_only = connection.get_execution_options().get(READ_ONLY, False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        sqlalchemy.event.listen(self.engine, "connect", on_connect)
        sqlalchemy.event.listen(self.engine, "begin", on_begin)
        self.engine.dispose()  # connections opened before the listeners would not have them

    def mark_recovered(self) -> None:
        """Note that a call of this process just got through after failing: the storage is back."""
        self._recovered_at = time.monotonic()

    def settling(self) -> bool:
        """Whether this process saw the storage come back too recently to judge other processes' trials.

        A heartbeat is only as recent as the storage let it be: after an outage every running trial looks
        stale, though its process is alive and beating again once its own retry gets through (within
        `MAX_BACKOFF_S`). For the grace period plus that, a trial whose heartbeat stopped is not taken
        for dead, so a process that rode out the outage keeps its trial and its finished evaluation.
        """
        grace = self.grace_period or 2 * (self.heartbeat_interval or 0)
        return time.monotonic() - self._recovered_at < grace + MAX_BACKOFF_S

    def discard_broken(self) -> None:
        """Drop this thread's session and the pool's idle connections after a failed call, so that the
        retry starts on a fresh session and connection instead of the one the failure left broken.

        Other threads' sessions are untouched (the scoped session is per thread); connections they hold
        go back to the old pool and are closed with it.
        """
        with contextlib.suppress(Exception):  # closing a session on a dead connection may fail too
            self.scoped_session.remove()
        if self.engine.dialect.name != "sqlite":  # a locked SQLite file leaves nothing broken
            self.engine.dispose(close=False)


def _retrying(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: ResilientRDBStorage, *args: Any, **kwargs: Any) -> Any:
        depth = getattr(self._depth, "value", 0)
        if depth:  # an inner call of a retried call: the outer one retries the whole
            return method(self, *args, **kwargs)
        self._depth.value = 1
        try:
            return _with_retry(
                lambda: method(self, *args, **kwargs),
                self.retry_s,
                name,
                self.url,
                discard=self.discard_broken,
                recovered=self.mark_recovered,
            )
        finally:
            self._depth.value = 0

    return wrapper


# Every storage operation Optuna's studies and trials use, present and future (the public methods of its
# storage interface), and the private ones its trial cache (`_CachedStorage`, which wraps every RDB storage)
# and its heartbeat check call on the database.
for _name in sorted(
    {n for n in vars(BaseStorage) if not n.startswith("_")} | {"record_heartbeat"} | RDB_PRIVATE_CALLS
):
    if callable(getattr(RDBStorage, _name, None)):
        setattr(ResilientRDBStorage, _name, _retrying(_name, getattr(RDBStorage, _name)))


def _engine_kwargs(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Wait for another process's write instead of failing at once (the retry covers longer waits).
        return {"connect_args": {"timeout": 10}}
    if url.startswith("postgresql"):
        return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    return {}


def _prepare_sqlite_file(path: Path, create: bool) -> None:
    """Create the folder of a new SQLite file, or refuse a missing file when nothing may be created."""
    if not create and not path.is_file():
        raise StorageUnavailableError(
            f"no SQLite storage at {path}: the file does not exist (nothing was created)"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageUnavailableError(
            f"cannot create the folder of the SQLite storage {path}: {error.strerror}"
        ) from None


def open_storage(
    url: str,
    heartbeat_interval: float = 5.0,
    retries: int = 0,
    retry_s: float | None = None,
    connect_s: float = CONNECT_WINDOW_S,
    create: bool = True,
) -> ResilientRDBStorage:
    """Open the Optuna RDB storage at ``url`` with heartbeats and connection retries.

    Creates a SQLite file's folder when needed.

    Args:
        url: A SQLAlchemy URL (``sqlite:///runs/nas.db``, ``postgresql://user@host/db``).
        heartbeat_interval: Seconds between a running trial's heartbeats.
        retries: How many times a trial whose process died is re-run (0: it stays failed).
        retry_s: How long a dropped connection is retried during the run (None: `retry_window`).
        connect_s: How long the first connection is retried.
        create: Create a SQLite file (and its folder) that does not exist yet; False refuses a missing
            file, for readers that must not leave an empty database behind a mistyped path.

    Raises:
        StorageUnavailableError: The storage cannot be reached or opened; the message says why.
    """
    url = normalize_url(url)
    if url.startswith("sqlite:///"):
        _prepare_sqlite_file(Path(url.removeprefix("sqlite:///")).expanduser(), create)
    with warnings.catch_warnings():  # heartbeats and retries are "experimental" in Optuna 5 but long-standing
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        callback = RetryHeartbeatStaleTrialCallback(max_retry=retries) if retries > 0 else None

        def connect() -> ResilientRDBStorage:
            return ResilientRDBStorage(
                url,
                retry_s=retry_s,
                heartbeat_interval=heartbeat_interval,  # Optuna's annotation says int; a float works
                grace_period=grace_period(heartbeat_interval),
                heartbeat_stale_trial_callback=callback,
                engine_kwargs=_engine_kwargs(url),
            )

        try:
            return _with_retry(connect, connect_s, "connecting", url)
        except StorageUnavailableError:
            raise
        except (
            ImportError,
            sa_exc.SQLAlchemyError,
            optuna.exceptions.StorageInternalError,
            ValueError,
        ) as error:
            raise StorageUnavailableError(
                f"cannot open storage {masked_url(url)}: {driver_reason(error)}"
            ) from None
