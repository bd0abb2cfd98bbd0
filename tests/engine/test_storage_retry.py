"""Which storage errors count as a lost connection, how long they are retried, and how a retried call ends."""

from __future__ import annotations

import logging
import time

import optuna
import pytest
import sqlalchemy.exc as sa_exc

from nas_workbench.engine._storage_errors import is_transient
from nas_workbench.engine.storage import (
    RETRY_WINDOW_ENV,
    RETRY_WINDOW_S,
    StorageUnavailableError,
    _with_retry,
    retry_window,
)
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
        assert is_transient(error)
    assert not is_transient(optuna.exceptions.StorageInternalError("too long"))
    assert not is_transient(sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")))


def test_the_retry_window_comes_from_the_environment_and_a_bad_value_is_named(monkeypatch):
    monkeypatch.delenv(RETRY_WINDOW_ENV, raising=False)
    assert retry_window() == RETRY_WINDOW_S
    monkeypatch.setenv(RETRY_WINDOW_ENV, "2.5")
    assert retry_window() == 2.5
    for bad in ("soon", "0", "-1", "inf", "nan"):
        monkeypatch.setenv(RETRY_WINDOW_ENV, bad)
        with pytest.raises(ConfigError, match=f"{RETRY_WINDOW_ENV}: '{bad}' is not allowed"):
            retry_window()


class _Outage:
    """A storage call that loses its connection ``failures`` times (``error`` each time), then answers."""

    def __init__(self, failures: int, error: BaseException | None = None, takes_s: float = 0.0) -> None:
        self.failures, self.calls, self.takes_s = failures, 0, takes_s
        self.error = error or sa_exc.OperationalError(
            "SELECT 1", {}, Exception("server closed the connection")
        )
        self.discarded = self.recovered = 0

    def __call__(self) -> str:
        self.calls += 1
        time.sleep(self.takes_s)
        if self.calls <= self.failures:
            raise self.error
        return "answer"

    def run(self, window_s: float) -> str:
        return _with_retry(
            self, window_s, "reading", "sqlite:///x.db", discard=self.discard, recovered=self.recover
        )

    def discard(self) -> None:
        self.discarded += 1

    def recover(self) -> None:
        self.recovered += 1


def test_a_call_that_answers_at_once_is_made_once_and_nothing_is_discarded():
    outage = _Outage(failures=0)
    assert outage.run(window_s=5) == "answer"
    assert (outage.calls, outage.discarded, outage.recovered) == (1, 0, 0)


def test_lost_connections_are_retried_on_a_fresh_session_until_the_call_answers(caplog):
    outage = _Outage(failures=2)
    with caplog.at_level(logging.WARNING, logger="nas_workbench"):
        assert outage.run(window_s=30) == "answer"
    assert (outage.calls, outage.discarded, outage.recovered) == (3, 2, 1)
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "storage sqlite:///x.db: Exception: server closed the connection; retrying for up to 30 s",
        "storage sqlite:///x.db reachable again after 2 retries",
    ]


def test_a_bad_request_is_raised_as_it_is_without_a_retry():
    bad = sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
    outage = _Outage(failures=5, error=bad)
    with pytest.raises(sa_exc.IntegrityError) as raised:
        outage.run(window_s=30)
    assert raised.value is bad
    assert (outage.calls, outage.discarded) == (1, 0)


def test_a_connection_still_lost_when_the_window_ends_says_for_how_long_and_why():
    outage = _Outage(failures=1000)
    with pytest.raises(
        StorageUnavailableError, match=r"unreachable for 0 s \(reading\): Exception: server"
    ) as raised:
        outage.run(window_s=0.3)
    assert raised.value.__cause__ is outage.error
    assert outage.calls >= 2 and outage.discarded == outage.calls - 1


def test_the_window_counts_from_the_first_attempt():
    outage = _Outage(failures=1000, takes_s=0.3)  # the first attempt alone outlasts the window
    with pytest.raises(StorageUnavailableError):
        outage.run(window_s=0.2)
    assert outage.calls == 1
