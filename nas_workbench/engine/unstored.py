"""Finished evaluations that could not be stored yet, kept on this machine's disk until they are.

A process cut off from its storage for longer than the retry window ends (exit status 2) with its trial
still running in the storage; the study's next process fails that attempt as stale and retries its
architecture. Without more, the evaluation the attempt had finished would be lost and done again. So the
pipeline writes every finished evaluation here before it records it in the storage (its values, its
records and constraints, keyed by study and trial), and forgets it once the study has been told; the
*retry* of that trial, in any process of this machine, takes the kept result instead of evaluating again
(`TrialPipeline.run_trial`). Workers on other machines do not see it: their retry evaluates again.

The files live in the profiling cache folder, which a machine's workers already share:
``$NAS_WORKBENCH_CACHE/unstored/<study hash>/<trial number>.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nas_workbench.profiling.cache import cache_dir

__all__ = ["Unstored", "UnstoredResults"]


@dataclass(frozen=True)
class Unstored:
    """A finished evaluation: what the study is told and what the trial records.

    Attributes:
        arch_id: The evaluated architecture's id (a retry of another architecture does not take it).
        values: The objective values.
        records: The trial's records that came from the evaluation (metrics, status, timings, ...).
        constraints: The budget constraints' values.
        worker: ``"host:pid"`` of the process that evaluated it.
    """

    arch_id: str
    values: list[float]
    records: dict[str, Any]
    constraints: dict[str, float]
    worker: str


class UnstoredResults:
    """The kept evaluations of one study on this machine.

    Args:
        study_name: The study.
        directory: Where to keep them; the profiling cache folder by default.
    """

    def __init__(self, study_name: str, directory: Path | None = None) -> None:
        digest = hashlib.sha256(study_name.encode()).hexdigest()[:16]  # any name is a safe folder name
        self.folder = (directory or cache_dir()) / "unstored" / digest

    def _path(self, number: int) -> Path:
        return self.folder / f"{number}.json"

    def keep(self, number: int, result: Unstored) -> None:
        """Write ``result`` of trial ``number`` (atomically: a killed process leaves no half file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f"{number}.{os.getpid()}.part"
        part.write_text(json.dumps(asdict(result)))
        os.replace(part, self._path(number))

    def holds_any(self) -> bool:
        """Whether any trial of the study has a kept result here (a look at a folder, no storage call)."""
        return any(self.folder.glob("*.json"))

    def take(self, numbers: Iterable[int]) -> tuple[int, Unstored] | None:
        """The kept result of the first of trials ``numbers`` that has one (it stays until `forget`)."""
        for number in numbers:
            try:
                return number, Unstored(**json.loads(self._path(number).read_text()))
            except (OSError, ValueError, TypeError):  # none, or unreadable: evaluate again
                continue
        return None

    def forget(self, number: int) -> None:
        """Drop the kept result of trial ``number``: the study holds it now."""
        with contextlib.suppress(OSError):
            self._path(number).unlink()
