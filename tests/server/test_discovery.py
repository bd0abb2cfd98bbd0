"""Study files found under the server's root: beside notebooks, bounded, and nothing else opened or made."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import optuna
import pytest

from nas_workbench.server.discovery import StudyFileFinder, sqlite_storage_problem

API = "nas-workbench/api"


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the hash of its content."""
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def foreign_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"scan_interval": 0.0}  # every listing searches again


async def test_studies_beside_notebooks_are_listed_and_nothing_else_is_opened(
    jp_fetch, jp_root_dir, write_study
):
    write_study(f"sqlite:///{jp_root_dir / 'mine.db'}", "mine", [("ok", 0.5, 1.0)], n_trials=1)
    (jp_root_dir / "project" / "exp").mkdir(parents=True)
    write_study(f"sqlite:///{jp_root_dir / 'project' / 'exp' / 'run.sqlite3'}", "deep", [("ok", 0.6, 1.0)], 1)
    foreign_sqlite(jp_root_dir / "project" / "notes.db")
    (jp_root_dir / "project" / "data.db").write_text("not a database")
    (jp_root_dir / "project" / "empty.sqlite").touch()
    (jp_root_dir / ".hidden").mkdir()
    write_study(f"sqlite:///{jp_root_dir / '.hidden' / 'secret.db'}", "hidden", [("ok", 0.7, 1.0)], 1)
    too_deep = jp_root_dir / "a" / "b" / "c" / "d"
    too_deep.mkdir(parents=True)
    write_study(f"sqlite:///{too_deep / 'deep.db'}", "too-deep", [("ok", 0.8, 1.0)], 1)
    before = snapshot(jp_root_dir)

    listing = json.loads((await jp_fetch(API, "studies")).body)

    labels = [s["label"] for s in listing["storages"]]
    assert labels == ["runs/nas_workbench.db", "mine.db", "project/exp/run.sqlite3"]
    assert all(s["error"] is None for s in listing["storages"])
    assert sorted(s["name"] for s in listing["studies"]) == ["alpha", "deep", "mine"]
    assert snapshot(jp_root_dir) == before  # nothing created, nothing changed

    storage = listing["storages"][1]["id"]
    details = json.loads((await jp_fetch(API, "studies", storage, "mine")).body)
    assert details["storage_label"] == "mine.db" and details["trials"]["done"] == 1


async def test_a_study_file_written_later_is_found_by_a_later_listing(jp_fetch, jp_root_dir, write_study):
    first = json.loads((await jp_fetch(API, "studies")).body)
    assert [s["label"] for s in first["storages"]] == ["runs/nas_workbench.db"]
    write_study(f"sqlite:///{jp_root_dir / 'later.db'}", "later", [("ok", 0.5, 1.0)], n_trials=1)
    second = json.loads((await jp_fetch(API, "studies")).body)
    assert "later" in [s["name"] for s in second["studies"]]


@pytest.mark.parametrize("server_settings", [{"scan_depth": -1}])
async def test_the_search_can_be_turned_off(jp_fetch, jp_root_dir, write_study):
    write_study(f"sqlite:///{jp_root_dir / 'mine.db'}", "mine", [("ok", 0.5, 1.0)], n_trials=1)
    listing = json.loads((await jp_fetch(API, "studies")).body)
    assert [s["label"] for s in listing["storages"]] == ["runs/nas_workbench.db"]


def test_only_sqlite_files_with_optunas_tables_are_study_files(tmp_path, write_study):
    write_study(f"sqlite:///{tmp_path / 'study.db'}", "s", [("ok", 0.5, 1.0)], n_trials=1)
    foreign_sqlite(tmp_path / "notes.db")
    (tmp_path / "text.db").write_text("SQLite format 2, not really")
    (tmp_path / "truncated.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 10)
    assert sqlite_storage_problem(tmp_path / "study.db") is None
    assert "no Optuna tables" in sqlite_storage_problem(tmp_path / "notes.db")
    assert "no SQLite header" in sqlite_storage_problem(tmp_path / "text.db")
    assert "not a readable SQLite database" in sqlite_storage_problem(tmp_path / "truncated.db")
    assert "cannot be read" in sqlite_storage_problem(tmp_path / "missing.db")


def test_the_walk_stops_at_its_entry_limit_and_is_reused_until_its_interval_passes(tmp_path, write_study):
    for index in range(30):
        (tmp_path / f"file{index:02}.txt").touch()
    write_study(f"sqlite:///{tmp_path / 'zz.db'}", "s", [("ok", 0.5, 1.0)], n_trials=1)  # sorted last
    assert StudyFileFinder(tmp_path, max_entries=10).files() == []
    finder = StudyFileFinder(tmp_path, max_entries=100, interval_s=3600)
    assert finder.files() == [tmp_path / "zz.db"]
    write_study(f"sqlite:///{tmp_path / 'aa.db'}", "s", [("ok", 0.5, 1.0)], n_trials=1)
    assert finder.files() == [tmp_path / "zz.db"]  # remembered
    finder.interval_s = 0
    assert finder.files() == [tmp_path / "aa.db", tmp_path / "zz.db"]


def test_tables_written_to_the_write_ahead_log_only_are_seen(tmp_path):
    """In WAL mode a new table may live in the log while the file itself stays as it was."""
    path = tmp_path / "growing.db"
    finder = StudyFileFinder(tmp_path, interval_s=0)
    with closing(sqlite3.connect(path)) as db:  # held open: nothing is checkpointed into the file
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE notes (text TEXT)")
        db.commit()
        assert finder.files() == []
        before = path.stat().st_mtime_ns, path.stat().st_size
        for table in ("studies", "trials", "version_info"):
            db.execute(f"CREATE TABLE {table} (id INTEGER)")
        db.commit()
        assert (path.stat().st_mtime_ns, path.stat().st_size) == before
        assert finder.files() == [path]


_ADD_TRIALS = """
import sys, optuna
from nas_workbench.engine.storage import open_storage
study = optuna.create_study(study_name="s", storage=open_storage(sys.argv[1]), load_if_exists=True)
for _ in range(int(sys.argv[2])):
    study.tell(study.ask(), 0.5)
"""


def test_checking_a_study_file_the_server_reads_keeps_its_view_current(tmp_path):
    # The server reads a study file through its open storage and checks the file at each listing; a
    # search elsewhere writes and ends. The check's own open() and close() of the file dropped the server's
    # locks, so the search took itself for the file's last user and removed the write-ahead log the
    # server still read: the panel showed the study as it was, for good, and the file as "malformed".
    path = tmp_path / "study.db"
    url = f"sqlite:///{path}"
    subprocess.run([sys.executable, "-c", _ADD_TRIALS, url, "2"], check=True)
    server = optuna.storages.RDBStorage(url, skip_table_creation=True)
    study_id = server.get_study_id_from_name("s")
    assert len(server.get_all_trials(study_id)) == 2
    assert sqlite_storage_problem(path) is None
    for added, total in ((3, 5), (4, 9)):  # the second search wrote to a log the server never saw
        subprocess.run([sys.executable, "-c", _ADD_TRIALS, url, str(added)], check=True)
        assert len(server.get_all_trials(study_id)) == total
        assert path.with_name("study.db-wal").exists()  # the server's log, kept while it reads
    assert sqlite_storage_problem(path) is None
