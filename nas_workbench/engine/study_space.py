"""The search space a stored study names, made known in the process that reads the study.

A user-defined space is known only where it was registered; a study records where its class lives
(`StudyRecord.space_reference`), so a worker process, the command line's export and the widget that opens
the study import it from there before they build its networks. Torch-free, like the spaces' registry:
the widget opens a stored study before torch is needed.
"""

from __future__ import annotations

from nas_workbench import spaces
from nas_workbench.engine.study_record import StudyRecord

__all__ = ["import_space"]


def import_space(record: StudyRecord) -> None:
    """Make the study's user-defined space known in this process, imported from where the study's record
    says it lives; nothing for a built-in space (or one defined in a notebook, which no record names)."""
    if record.space_reference is not None:
        spaces.resolve(record.space_reference)
