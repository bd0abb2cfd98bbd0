"""What the engine stores on each trial is read in one place, `nas_workbench.trial_attrs`."""

from __future__ import annotations

import re
from pathlib import Path

import nas_workbench

PACKAGE = Path(nas_workbench.__file__).parent

#: A read of a trial's (or any object's) user or system attributes, or of a storage's trial attributes.
_READS = re.compile(r"\.(?:user_attrs|system_attrs)\b|get_trial_(?:user|system)_attrs")

#: The owners: the trial records, the study record (`test_study_record`), the `proxy_guided` sampler's own
#: records on its trials, and the bulk reader that builds the trials the others read.
OWNERS = {
    "trial_attrs.py",
    "engine/study_record.py",
    "strategies/_proxy_record.py",
}

#: The engine's pipeline still reads back what it wrote on a trial where it acts on it (a repeat copies
#: its twin's records, a retry takes the result kept for the attempt it replaces, the pruner's curve).
ENGINE_PIPELINE = {
    "engine/repeats.py",
    "engine/scheduler.py",
    "engine/pipeline.py",
    "engine/pruning.py",
}


def offenders(allowed: set[str]) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE)) not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _READS.search(line)
    ]


def test_no_module_but_the_owners_reads_a_trials_attributes() -> None:
    assert offenders(OWNERS | ENGINE_PIPELINE) == []


def test_the_scan_finds_each_kind_of_read() -> None:
    assert _READS.search('trial.user_attrs.get("device")')
    assert _READS.search("attrs = trial.system_attrs")
    assert _READS.search("storage.get_trial_system_attrs(trial_id)")
    assert not _READS.search('trial.set_user_attr("spec", {})')
    assert not _READS.search("user_attrs=attrs")
    assert offenders(OWNERS)  # the engine's pipeline modules do read them
