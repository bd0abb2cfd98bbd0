"""How a failed storage call is judged: a lost or busy connection (worth retrying) or a bad request, and
the driver's own one-line reason for the message (used by `nas_workbench.engine.storage`'s retries)."""

from __future__ import annotations

from collections.abc import Iterator

import optuna
import sqlalchemy.exc as sa_exc

__all__ = ["driver_reason", "is_transient"]


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the errors it was raised from or while handling (each once)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is a lost or busy connection (worth retrying) rather than a bad request.

    Optuna wraps the driver's error in `StorageInternalError`; after a dropped connection it may also
    have tried again in the same broken session, so the error is SQLAlchemy's ``PendingRollbackError``
    ("Can't reconnect until invalid transaction is rolled back") raised while handling the first one.
    """
    for cause in _chain(error):
        if isinstance(cause, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.PendingRollbackError):
            return True
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return True
    return False


def driver_reason(error: BaseException) -> str:
    """The database driver's own one-line message, without SQLAlchemy's SQL echo and links."""
    cause = error.__cause__ if isinstance(error, optuna.exceptions.StorageInternalError) else error
    original = getattr(cause, "orig", None) or cause
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return f"{type(original).__name__}: {lines[0] if lines else ''}"
