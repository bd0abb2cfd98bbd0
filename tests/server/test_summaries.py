"""The side panel's summaries kept incrementally: equal to a summary of every trial, reading only new ones.

Real SQLite storages; what the database is asked is watched through SQLAlchemy's own statement events.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import sqlalchemy

from nas_workbench.engine.records import pareto_front, trial_results
from nas_workbench.server.studies import StudySummaries

DIRECTIONS = ["maximize", "minimize"]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studies.db'}"


@pytest.fixture
def summaries(url: str, write_study: Any) -> StudySummaries:
    write_study(url, "first", [("ok", 0.5, 1.0)], n_trials=100)  # creates Optuna's tables
    with pytest.warns(optuna.exceptions.ExperimentalWarning):  # heartbeats, as the server opens storages
        storage = optuna.storages.RDBStorage(
            url, skip_table_creation=True, heartbeat_interval=5, grace_period=60
        )
    return StudySummaries(storage)


class UserAttrReads:
    """The trial ids whose user attributes the storage was asked for, per statement."""

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        self.statements: list[Any] = []
        self.engine = engine
        sqlalchemy.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, connection: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "FROM trial_user_attributes" in statement:
            self.statements.append(parameters)

    def close(self) -> None:
        sqlalchemy.event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.fixture
def user_attr_reads(summaries: StudySummaries) -> Iterator[UserAttrReads]:
    reads = UserAttrReads(summaries.storage.engine)
    yield reads
    reads.close()


def from_scratch(url: str, name: str) -> dict[str, Any]:
    """What a summary of every trial says (the listing before it was incremental)."""
    results = trial_results(optuna.load_study(study_name=name, storage=url))
    feasible = [r for r in results if r.status == "ok" and r.feasible]
    accuracies = [r.value("accuracy") for r in feasible if r.value("accuracy") is not None]
    return {
        "best_accuracy": max(accuracies, default=None),
        "front": [r.number for r in pareto_front(results, DIRECTIONS)],
        "feasible": {
            "count": len(feasible),
            "evaluated": sum(r.status in ("ok", "infeasible") for r in results),
        },
    }


def shown(summaries: StudySummaries, name: str) -> dict[str, Any]:
    row = next(r for r in summaries.rows() if r["name"] == name)
    details = summaries.details(name)
    return {
        "best_accuracy": row["best_accuracy"],
        "front": [p["number"] for p in details["pareto"]],
        "feasible": row["feasible"],
    }


def test_batches_added_between_listings_give_the_summary_of_every_trial(url, summaries, add_trials):
    study = optuna.load_study(study_name="first", storage=url)
    batches = [
        [("ok", 0.6, 1.5), ("infeasible", 0.99, 2.5), ("ok", 0.6, 1.5)],  # a tie: the earlier one stays
        [("pruned", 0.2, 1.0), ("failed",), ("ok", 0.7, 0.9)],  # dominates 0.6 / 1.5 and 0.5 / 1.0
        [("ok", 0.95, 1.9), ("ok", 0.1, 0.1), ("ok", 0.95, 1.9)],
    ]
    for batch in batches:
        add_trials(study, batch)
        assert shown(summaries, "first") == from_scratch(url, "first")
    assert shown(summaries, "first")["front"] == [7, 6, 8]
    assert summaries.details("first")["counts"] == {"ok": 7, "infeasible": 1, "pruned": 1, "failed": 1}


def test_a_listing_reads_only_the_trials_that_finished_since_the_last(
    url, summaries, add_trials, user_attr_reads
):
    study = optuna.load_study(study_name="first", storage=url)
    add_trials(study, [("ok", 0.6, 1.5), ("running",)])
    summaries.rows()
    assert len(user_attr_reads.statements) == 1  # the first listing reads the finished trials once
    user_attr_reads.statements.clear()
    for _ in range(3):
        row = summaries.rows()[0]
    assert user_attr_reads.statements == []  # nothing new: no trial record read
    assert row["trials"] == {"done": 2, "total": 100, "running": 1}

    study.tell(2, [0.9, 1.2])  # the running trial finishes
    row = summaries.rows()[0]
    (parameters,) = user_attr_reads.statements
    asked_for = {p for p in parameters if isinstance(p, int)} - {study._study_id}
    assert asked_for == {study.get_trials()[2]._trial_id}  # only the trial that finished
    assert row["trials"] == {"done": 3, "total": 100, "running": 0}
    assert row["pareto_size"] == 2  # (0.9, 1.2) joined (0.5, 1.0) and pushed (0.6, 1.5) off


def test_a_trial_recorded_as_finished_before_the_latest_is_still_counted(
    url, summaries, add_trials, tmp_path
):
    """A worker whose clock is behind writes completion times older than trials seen before."""
    study = optuna.load_study(study_name="first", storage=url)
    summaries.rows()
    add_trials(study, [("ok", 0.8, 0.5)])
    with sqlite3.connect(tmp_path / "studies.db") as db:
        db.execute("UPDATE trials SET datetime_complete = '2001-01-01 00:00:00.000000' WHERE number = 1")
    row = summaries.rows()[0]
    assert row["trials"]["done"] == 2 and row["best_accuracy"] == 0.8
    assert shown(summaries, "first") == from_scratch(url, "first")


def test_concurrent_listings_read_each_study_once(url, summaries, write_study, user_attr_reads):
    write_study(url, "second", [("ok", 0.4, 0.4)] * 5, n_trials=5)
    listings: list[list[dict[str, Any]]] = []
    threads = [threading.Thread(target=lambda: listings.append(summaries.rows())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(user_attr_reads.statements) == 2  # one read per study, not per listing
    assert all(listing == listings[0] for listing in listings)
    assert {r["name"]: r["trials"]["done"] for r in listings[0]} == {"first": 1, "second": 5}


def test_a_study_deleted_and_created_again_is_summarised_afresh(url, summaries, write_study):
    """`nas-workbench demo` deletes its study and starts again; SQLite gives the new one the old ids."""
    write_study(url, "again", [("ok", 0.9, 0.5), ("ok", 0.8, 0.4), ("ok", 0.7, 0.3)], n_trials=3)
    old_id = optuna.load_study(study_name="again", storage=url)._study_id
    assert shown(summaries, "again")["best_accuracy"] == 0.9
    optuna.delete_study(study_name="again", storage=url)
    write_study(url, "again", [("ok", 0.2, 1.0)], n_trials=1)
    assert optuna.load_study(study_name="again", storage=url)._study_id == old_id  # the premise
    assert shown(summaries, "again") == from_scratch(url, "again")
    assert shown(summaries, "again")["best_accuracy"] == 0.2


def test_a_verification_on_the_device_is_applied_at_the_next_listing(
    url, summaries, add_trials, verify_in_record, user_attr_reads
):
    """Verified after the listing had summarised the study: the next listing reads it again, once, and
    the best, the front and the feasible count follow the verdicts, as every reader of results does."""
    study = optuna.load_study(study_name="first", storage=url)
    add_trials(study, [("ok", 0.9, 1.8), ("ok", 0.7, 1.2)])  # 0.9 / 1.8 is the best, on the front
    assert shown(summaries, "first")["best_accuracy"] == 0.9
    assert summaries.rows()[0]["verified"] is None
    user_attr_reads.statements.clear()
    # the best measured over the budget; trial 0 (0.5, 1.0 ms) predicted at 0.5 ms stays on the front beside
    # trial 2 (0.7, measured 0.6 ms): the front is sorted by the judged latencies (at 1.1 ms 0 would leave it)
    verify_in_record(url, "first", {1: 2.4, 2: 0.6}, {0: 0.5}, 13)
    row = summaries.rows()[0]
    assert len(user_attr_reads.statements) == 1  # read again once, with the verdicts
    assert row["verified"] == {"device": "phone", "measurements": 13, "within": 1, "over": 1}
    assert shown(summaries, "first") == from_scratch(url, "first")  # trial_results applies the verdicts
    assert row["best_accuracy"] == 0.7 and row["feasible"] == {"count": 2, "evaluated": 3}
    details = summaries.details("first")
    verified = details["verified"]
    assert [(m["number"], m["latency_ms"], m["within"]) for m in verified["measured"]] == [
        (1, 2.4, False),
        (2, 0.6, True),
    ]
    assert verified["measured"][0]["verdict"] == "measured over budget on phone (2.4 ms > 2 ms)"
    assert verified["predicted"] == "predicted for phone from 13 measurements"
    sources = {p["number"]: p["metrics"]["latency_ms"]["source"] for p in details["pareto"]}
    assert sources == {2: "measured on phone", 0: "predicted for phone from 13 measurements"}
    user_attr_reads.statements.clear()
    summaries.rows()
    assert user_attr_reads.statements == []  # the same verification: served from the new tally
