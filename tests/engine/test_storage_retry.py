"""Which storage errors count as a lost connection, and how long they are retried."""

from __future__ import annotations

import optuna
import pytest
import sqlalchemy.exc as sa_exc

from nas_workbench.engine.storage import RETRY_WINDOW_ENV, RETRY_WINDOW_S, _transient, retry_window
from nas_workbench.exceptions import ConfigError


def _raised_while_handling(first: BaseException, then: BaseException) -> BaseException:
    try:
        try:
            raise first
        except BaseException:
            raise then  # noqa: B904 - chained implicitly, as Optuna's fallback query does
    except BaseException as error:
        return error


def test_a_broken_session_after_a_dropped_connection_is_a_lost_connection():
    dropped = sa_exc.OperationalError("SELECT 1", {}, Exception("terminating connection"))
    pending = sa_exc.PendingRollbackError("Can't reconnect until invalid transaction is rolled back")
    try:  # Optuna wraps what its second query raised
        raise optuna.exceptions.StorageInternalError("commit failed") from _raised_while_handling(
            dropped, pending
        )
    except optuna.exceptions.StorageInternalError as error:
        assert _transient(error)
    assert not _transient(optuna.exceptions.StorageInternalError("too long"))
    assert not _transient(sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")))


def test_the_retry_window_comes_from_the_environment_and_a_bad_value_is_named(monkeypatch):
    monkeypatch.delenv(RETRY_WINDOW_ENV, raising=False)
    assert retry_window() == RETRY_WINDOW_S
    monkeypatch.setenv(RETRY_WINDOW_ENV, "2.5")
    assert retry_window() == 2.5
    for bad in ("soon", "0", "-1", "inf", "nan"):
        monkeypatch.setenv(RETRY_WINDOW_ENV, bad)
        with pytest.raises(ConfigError, match=f"{RETRY_WINDOW_ENV}: '{bad}' is not allowed"):
            retry_window()
