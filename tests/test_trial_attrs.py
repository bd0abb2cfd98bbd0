"""What the engine stores on each trial is read and written in one place, `nas_workbench.trial_attrs`."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

import nas_workbench
from nas_workbench.trial_attrs import RECORDS, attr, record, records

PACKAGE = Path(nas_workbench.__file__).parent

#: A read of a trial's (or any object's) user or system attributes, or of a storage's trial attributes.
_READS = re.compile(r"\.(?:user_attrs|system_attrs)\b|get_trial_(?:user|system)_attrs")

#: A write of a trial's or a study's user or system attribute, or a trial enqueued with its attributes.
_WRITES = re.compile(r"\bset_(?:trial_)?(?:user|system)_attr\(|enqueue_trial\(.*\buser_attrs=")

#: The owners: the trial records, the study record (`test_study_record`), the `proxy_guided` sampler's own
#: records on its trials.
OWNERS = {
    "trial_attrs.py",
    "engine/study_record.py",
    "strategies/_proxy_record.py",
}

#: Strategies that write records of their own trials without reading them back: the evolution sampler
#: its trial's parent (`PARENT_ATTR`), the differentiable search the `DNAS_ATTR` and `WEIGHTS_ATTR` its
#: logged trials are enqueued with (keys named by `nas_workbench.trial_attrs`).
STRATEGY_WRITERS = {
    "strategies/evolution.py",
    "strategies/dnas/search.py",
    "strategies/dnas/retraining.py",
}


def offenders(pattern: re.Pattern[str], allowed: set[str]) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE)) not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]


def test_no_module_but_the_owners_reads_a_trials_attributes() -> None:
    assert offenders(_READS, OWNERS) == []


def test_no_module_but_the_owners_writes_them() -> None:
    assert offenders(_WRITES, OWNERS | STRATEGY_WRITERS) == []


def test_the_scans_find_each_kind_of_read_and_write() -> None:
    assert _READS.search('trial.user_attrs.get("device")')
    assert _READS.search("attrs = trial.system_attrs")
    assert _READS.search("storage.get_trial_system_attrs(trial_id)")
    assert not _READS.search('trial.set_user_attr("spec", {})')
    assert not _READS.search("user_attrs=attrs")
    assert _WRITES.search('trial.set_user_attr("spec", {})')
    assert _WRITES.search("storage.set_trial_system_attr(trial_id, key, 1)")
    assert _WRITES.search("run.study.enqueue_trial(dict(spec.choices), user_attrs=attrs)")
    assert not _WRITES.search("FrozenTrial(user_attrs=attrs)")
    assert offenders(_WRITES, OWNERS)  # the strategies above do write


def test_a_record_is_written_and_read_back_by_its_key() -> None:
    study = optuna.create_study(study_name="trial-attrs-records")
    trial = study.ask()
    record(trial, status="ok", reason="fine", repeat_of=3)
    frozen = study.tell(trial, 1.0)
    assert attr(frozen, "status") == "ok" and attr(frozen, "missing", "none") == "none"
    assert records(frozen, ["status", "repeat_of", "metrics"]) == {"status": "ok", "repeat_of": 3}


def test_an_unknown_record_is_refused_with_the_allowed_keys() -> None:
    trial = optuna.create_study(study_name="trial-attrs-unknown").ask()
    with pytest.raises(KeyError, match=r"'stauts' is not one of .*'status'"):
        record(trial, stauts="ok")
    assert "status" in RECORDS and "stauts" not in RECORDS
