"""The study record is the one reader and writer of what a search stores about its study."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

import nas_workbench
from nas_workbench.engine.study_record import (
    DataIdentity,
    StudyRecord,
    listed_stopped_itself,
    mark_stopped_itself,
    read_record,
    record_of,
    stopped_itself,
    study_status,
    write_record,
)
from nas_workbench.exceptions import ConfigError
from nas_workbench.task import load_task, make_task

PACKAGE = Path(nas_workbench.__file__).parent

#: A study's user attributes (studies are named ``study``, ``*_study``, ``source``...; trials' attributes
#: are the pipeline's and `records`'), a storage's study attributes (user or system), or the record's
#: keys: only the record module may touch them.
_STUDY_ATTRS = re.compile(
    r"\b(?:\w*study\w*|source)\.(?:set_user_attr|user_attrs)\b"
    r"|get_study_(?:user|system)_attrs|set_study_(?:user|system)_attr|RECORD_ATTR|EXHAUSTED_ATTR"
    r"|user_attrs\.get\(\"nas_workbench\""
)


def test_no_module_but_the_record_touches_a_studys_attributes() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "study_record.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _STUDY_ATTRS.search(line)
    ]
    assert offenders == []


def test_the_scan_finds_a_study_attribute_write() -> None:
    assert _STUDY_ATTRS.search('study.set_user_attr("nas_workbench", {})')
    assert _STUDY_ATTRS.search("storage.get_study_user_attrs(study_id)")
    assert _STUDY_ATTRS.search("storage.set_study_system_attr(study_id, EXHAUSTED_ATTR, True)")
    assert _STUDY_ATTRS.search("meta = run.study.user_attrs")
    assert not _STUDY_ATTRS.search('trial.set_user_attr("spec", {})')
    assert _STUDY_ATTRS.search('meta = frozen.user_attrs.get("nas_workbench")')
    assert not _STUDY_ATTRS.search("attrs = t.user_attrs")
    assert not _STUDY_ATTRS.search("if key in original.user_attrs:")


def _record(**changes: object) -> StudyRecord:
    record = StudyRecord(
        config={"space": "chain", "storage": "postgresql://u:***@db/nas"},
        objectives=("accuracy", "latency_ms"),
        directions=("maximize", "minimize"),
        n_trials=5,
        budget={"latency_ms": 2.0},
        space="chain",
        strategy="tpe",
        data=DataIdentity.of(load_task("digits", seed=0)),
        version="1",
    )
    return record.with_changes(**changes)


def test_a_record_round_trips_through_a_real_sqlite_study(tmp_path: Path) -> None:
    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path / 'r.db'}", study_name="r", directions=["maximize", "minimize"]
    )
    assert read_record(study) is None
    write_record(study, _record())
    again = optuna.load_study(study_name="r", storage=f"sqlite:///{tmp_path / 'r.db'}")
    assert read_record(again) == _record()
    assert record_of(again).objectives == ("accuracy", "latency_ms")


def test_a_foreign_study_is_shown_by_optunas_directions() -> None:
    study = optuna.create_study(directions=["minimize", "maximize"])
    record = record_of(study)
    assert record.objectives == ("objective 0", "objective 1")
    assert record.directions == ("minimize", "maximize")
    with pytest.raises(Exception, match="not created by NAS Workbench"):
        record.search_config("sqlite:///x.db", study.study_name)


def test_data_identity_tells_other_data_apart() -> None:
    digits = DataIdentity.of(load_task("digits", seed=0))
    assert DataIdentity.of(load_task("digits", seed=0)) == digits
    assert DataIdentity.of(load_task("digits", seed=1)) != digits  # another split is other data
    import numpy as np

    rng = np.random.default_rng(0)
    other = DataIdentity.of(make_task(rng.random((60, 1, 4, 4)), np.arange(60) % 3, seed=0))
    assert other.shape == (1, 4, 4) and other.classes == 3 and other.samples == 60
    with pytest.raises(ConfigError, match="data") as error:
        digits.check_same(other, "s")
    assert "digits" in str(error.value) and "1797 samples" in str(error.value)


def test_a_resume_records_class_names_a_study_lacked_and_keeps_those_it_has() -> None:
    named = _record()
    assert named.data is not None and named.data.class_names == tuple("0123456789")
    stored = named.to_dict()
    del stored["data"]["class_names"]  # a record of an earlier version
    unnamed = StudyRecord.from_dict(stored)
    assert unnamed.data is not None and unnamed.data.class_names is None
    assert unnamed.resumed_as(named) == named  # learnt from the data at hand
    assert named.resumed_as(unnamed) == named  # kept, though the data at hand has none
    stored["data"]["class_names"] = ["one name for ten classes"]
    assert StudyRecord.from_dict(stored) == unnamed


def test_a_study_that_stopped_itself_is_finished_with_room_left_in_its_plan() -> None:
    assert study_status(done=2, total=10, running=0, dead=0, last_failed=False) == "stopped"
    assert study_status(done=2, total=10, running=0, dead=0, last_failed=False, complete=True) == "finished"
    assert study_status(done=2, total=10, running=1, dead=0, last_failed=False, complete=True) == "running"
    assert study_status(done=10, total=10, running=0, dead=0, last_failed=True) == "finished"
    assert study_status(done=3, total=10, running=0, dead=0, last_failed=True) == "failed"


def test_stopping_itself_is_recorded_for_every_process_reading_the_storage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(storage=url, study_name="grid")
    assert not stopped_itself(optuna.storages.RDBStorage(url), "grid")
    mark_stopped_itself(optuna.storages.RDBStorage(url), "grid")
    other = optuna.storages.RDBStorage(url)  # another process's view
    assert stopped_itself(other, "grid")
    assert listed_stopped_itself(other.get_all_studies()[0])


def test_a_resume_on_other_data_is_refused_and_on_the_same_data_goes_on(storage, tiny_task) -> None:
    import nas_workbench as nw
    from nas_workbench.testing.workers import score
    from tests.engine.conftest import cheap_config

    config = cheap_config(storage, "data-identity", n_trials=1)
    first = nw.search(config, evaluate=score, data=tiny_task).run()
    assert read_record(first.study).data == DataIdentity.of(tiny_task)
    with pytest.raises(ConfigError, match="tiny") as refused:  # digits, the default data, is other data
        nw.search(config.replace(n_trials=2), evaluate=score)
    assert "--data FILE, a worker too" in str(refused.value) and "data=" in str(refused.value)
    resumed = nw.search(config.replace(n_trials=2), evaluate=score, data=tiny_task).run()
    assert resumed.trials_done() == 2
