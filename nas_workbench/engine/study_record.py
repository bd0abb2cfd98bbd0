"""The one owner of what a search stores about its study: the only reader and writer of its record.

Like Optuna's stateless `Study` over a storage, a `StudyRecord` is read from, and written to, the study's
user attribute ``nas_workbench`` and nothing else keeps a copy: the engine, workers, the widget, the CLI,
the export and the Jupyter server extension all read it here (a test scans the package so that no other
module touches a study's user attributes). It holds:

- ``config``: the `SearchConfig` as given, with the storage URL's password masked (the real URL comes
  from the process that opens the study) and the data named only by its identity;
- ``objectives`` / ``directions``, ``n_trials``, ``budget`` and what relative limits resolved to;
- ``data``: the identity of the data searched on (`DataIdentity`), so a resume, a worker or an export on
  other data is refused, and the name of each class, which exports write beside the network's outputs;
- ``verified``: the trials judged again after finalists were measured on the ``target_device``
  (`nas_workbench.engine.device_verdicts`): an Optuna trial cannot change once finished, so the verdicts
  live here and `nas_workbench.engine.records.trial_results` applies them;
- whether the study stopped itself (`mark_stopped_itself`, `stopped_itself`: a study system attribute, so
  that a process following workers elsewhere sees it), and the rule that turns a study's counts into its
  status (`study_status`).

This module needs neither torch nor widgets.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from optuna.study import StudyDirection

from nas_workbench.engine.data_identity import DataIdentity
from nas_workbench.engine.storage_urls import masked_url
from nas_workbench.exceptions import NasWorkbenchError

if TYPE_CHECKING:
    import optuna

    from nas_workbench.config import SearchConfig

__all__ = [
    "EXHAUSTED_ATTR",
    "RECORD_ATTR",
    "DataIdentity",
    "StudyRecord",
    "dead_worker_grace_s",
    "listed_stopped_itself",
    "mark_stopped_itself",
    "read_record",
    "read_stored_record",
    "record_of",
    "stopped_itself",
    "study_status",
    "wait_for_record",
    "write_record",
]

#: The study user attribute that holds the record.
RECORD_ATTR = "nas_workbench"

#: The study system attribute set (True) once a process saw the study stop itself.
EXHAUSTED_ATTR = "nas_workbench.exhausted"

#: Settings of the record a resume may change.
_RESUMABLE = ("n_trials", "budget", "budget_resolved")

#: The config's settings a resume may change: kept as last given, since every process that continues the
#: study (`StudyRecord.search_config`: a worker, `Workbench.load`, `run --study`) searches with them.
_RESUMABLE_SETTINGS = ("n_trials", "budget")

#: Seconds a workbench process waits for a study that is being created to record its settings.
RECORD_WAIT_S = 30.0


class _StudyLike(Protocol):
    """An `optuna.Study` or a `FrozenStudy` (what `BaseStorage.get_all_studies` returns)."""

    @property
    def user_attrs(self) -> dict[str, Any]: ...

    @property
    def directions(self) -> list[StudyDirection]: ...


class _ListedStudy(Protocol):
    """A `FrozenStudy`, as `BaseStorage.get_all_studies` lists it: its system attributes come with it."""

    @property
    def system_attrs(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class StudyRecord:
    """The workbench's record of a study's settings.

    Attributes:
        config: `SearchConfig.to_dict()` as given, storage password masked; a resume that changes the
            number of trials or a limit records them as it gave them.
        objectives: The objective metrics, in the order of the trials' values.
        directions: "maximize" / "minimize" per objective.
        n_trials: Trials the study should hold when its search ends.
        budget: Absolute limits per metric (relative ones resolved).
        budget_resolved: Relative limits and what they resolved to (`ResolvedBudget.to_dict`).
        space: The search space's name.
        space_reference: Where another process imports a user-defined space from (``"module:Class"``,
            `nas_workbench.spaces.reference`); None for a built-in space, or one defined in a notebook.
        strategy: The strategy's name.
        data: The data's identity (None in studies written before it was recorded).
        verified: After finalists were measured on the target device (`device_verdicts.verify`): the
            ``device``, its ``measurements`` (N + k), the ``limit_ms`` and, per architecture tried (the
            space's notation, under ``archs``: a later repeat copies an earlier trial), its latency
            judged again (``latency_ms``, a `Measurement` dict whose ``detail["budget"]`` is the verdict)
            and whether it is now ``feasible``; empty until then.
        version: The nas-workbench version that created the study.
    """

    config: Mapping[str, Any]
    objectives: tuple[str, ...]
    directions: tuple[str, ...]
    n_trials: int
    budget: Mapping[str, float] = field(default_factory=dict)
    budget_resolved: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    space: str | None = None
    space_reference: str | None = None
    strategy: str | None = None
    data: DataIdentity | None = None
    verified: Mapping[str, Any] = field(default_factory=dict)
    version: str = ""

    # -- to and from the stored form -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The stored form (``objectives`` as ``[{"metric", "direction"}]``, as every version stored it)."""
        return {
            "version": self.version,
            "config": dict(self.config),
            "objectives": [
                {"metric": m, "direction": d} for m, d in zip(self.objectives, self.directions, strict=True)
            ],
            "budget": dict(self.budget),
            "budget_resolved": {k: dict(v) for k, v in self.budget_resolved.items()},
            "n_trials": self.n_trials,
            "space": self.space,
            "space_reference": self.space_reference,
            "strategy": self.strategy,
            "data": None if self.data is None else self.data.to_dict(),
            "verified": dict(self.verified),
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> StudyRecord:
        """Read the stored form back (tolerant of records written by earlier versions)."""
        objectives = [o for o in stored.get("objectives") or [] if isinstance(o, Mapping)]
        n_trials = stored.get("n_trials")
        data = stored.get("data")
        config = dict(stored.get("config") or {})
        if isinstance(config.get("storage"), str):  # earlier versions stored it with its password
            config["storage"] = masked_url(config["storage"])
        return cls(
            config=config,
            objectives=tuple(str(o.get("metric")) for o in objectives),
            directions=tuple(str(o.get("direction")) for o in objectives),
            n_trials=n_trials if isinstance(n_trials, int) and not isinstance(n_trials, bool) else 0,
            budget=dict(stored.get("budget") or {}),
            budget_resolved=dict(stored.get("budget_resolved") or {}),
            space=stored.get("space"),
            space_reference=stored.get("space_reference"),
            strategy=stored.get("strategy"),
            data=DataIdentity.from_dict(data) if isinstance(data, Mapping) else None,
            verified=dict(stored.get("verified") or {}),
            version=str(stored.get("version", "")),
        )

    @classmethod
    def of(
        cls,
        given: SearchConfig,
        config: SearchConfig,
        *,
        version: str,
        budget_resolved: Mapping[str, Mapping[str, Any]],
        data: DataIdentity | None,
        space_reference: str | None = None,
    ) -> StudyRecord:
        """The record of a search of ``given`` (the config as the user wrote it), run as ``config`` (its
        relative limits resolved), on ``data``, its space found elsewhere at ``space_reference``."""
        stored = given.to_dict()
        if stored.get("storage"):
            stored["storage"] = masked_url(stored["storage"])
        return cls(
            config=stored,
            objectives=tuple(config.objectives),
            directions=tuple(config.directions),
            n_trials=config.n_trials,
            budget=config.limits(),
            budget_resolved=dict(budget_resolved),
            space=config.space,
            space_reference=space_reference,
            strategy=config.strategy,
            data=data,
            version=version,
        )

    # -- what a process rebuilds from it ---------------------------------------------------------------
    @property
    def own_data(self) -> str | None:
        """The data of the user's own the study searched on, described for a message (name, shape,
        classes, samples, hash), which a resume, a worker or an export must be given; None for the
        built-in digits."""
        if self.data is not None:
            return None if self.data.name == "digits" else self.data.describe()
        legacy = str(self.config.get("dataset", "digits"))  # earlier versions: "<tuple>", no identity
        return None if legacy == "digits" else f"data from Python ({legacy})"

    def search_config(self, storage: str, study_name: str) -> SearchConfig:
        """The `SearchConfig` to run more of the study's trials, reaching it at ``storage`` (the real URL,
        which the record holds only masked).

        Raises:
            NasWorkbenchError: The record holds no settings (the study was made by other code).
        """
        from nas_workbench.config import SearchConfig

        if not self.config:
            raise NasWorkbenchError(
                f"study {study_name!r} was not created by NAS Workbench (no settings stored)"
            )
        settings = {**self.config, "storage": storage, "study_name": study_name, "n_trials": self.n_trials}
        settings.pop("dataset", None)  # earlier versions kept the data's name among the settings
        return SearchConfig.from_dict(settings)

    def resumed_as(self, current: StudyRecord) -> StudyRecord:
        """This record as a resume with ``current`` settings leaves it: a resume may plan more (or fewer)
        trials or change a limit (in the config too, as given: a process continuing the study from the
        record searches with them, not with the first search's), and records the identity of its data if
        the study had none, and its class names and standardisation if the study had none (studies of
        earlier versions); what is recorded is kept; a space that became importable (moved from a notebook
        into a module) is recorded."""
        changed = {k: getattr(current, k) for k in _RESUMABLE if getattr(self, k) != getattr(current, k)}
        given = {k: current.config[k] for k in _RESUMABLE_SETTINGS if k in current.config}
        if self.config and any(self.config.get(k) != v for k, v in given.items()):  # as last given
            changed["config"] = {**self.config, **given}
        if self.space_reference is None and current.space_reference is not None:  # moved out of a notebook
            changed["space_reference"] = current.space_reference
        if current.data is not None:
            data = current.data if self.data is None else self.data.completed_by(current.data)
            if data != self.data:
                changed["data"] = data
        return self.with_changes(**changed) if changed else self

    def with_changes(self, **changes: Any) -> StudyRecord:
        """A copy with ``changes`` (a resume may plan more trials or change a limit)."""
        return dataclasses.replace(self, **changes)


# -- reading and writing ---------------------------------------------------------------------------------
def read_record(study: _StudyLike) -> StudyRecord | None:
    """The record of ``study`` (an `optuna.Study` or a `FrozenStudy`); None for a study the workbench did
    not create, or whose creation has not recorded it yet."""
    stored = study.user_attrs.get(RECORD_ATTR)
    return StudyRecord.from_dict(stored) if isinstance(stored, Mapping) else None


def read_stored_record(storage: optuna.storages.BaseStorage, study_id: int) -> StudyRecord | None:
    """`read_record` straight from a storage, without loading the study."""
    stored = storage.get_study_user_attrs(study_id).get(RECORD_ATTR)
    return StudyRecord.from_dict(stored) if isinstance(stored, Mapping) else None


def write_record(study: optuna.Study, record: StudyRecord) -> None:
    """Store ``record`` as ``study``'s record (replacing any earlier one)."""
    study.set_user_attr(RECORD_ATTR, record.to_dict())


def wait_for_record(study: optuna.Study, wait_s: float = RECORD_WAIT_S) -> StudyRecord:
    """The record of ``study``, waiting up to ``wait_s`` for a study still being created to write it.

    Raises:
        NasWorkbenchError: No record after ``wait_s``: the study was made by other code, or its creation
            was interrupted.
    """
    deadline = time.monotonic() + wait_s
    while (record := read_record(study)) is None:
        if time.monotonic() > deadline:
            raise NasWorkbenchError(
                f"study {study.study_name!r} has no nas-workbench settings (it was made by other code, or "
                "its creation was interrupted): workers cannot join it"
            )
        time.sleep(0.5)
    return record


def record_of(study: _StudyLike) -> StudyRecord:
    """The record of ``study``; for a study the workbench did not create, one with no settings whose
    objectives are named after Optuna's directions (``"objective 0"``, ...), so it can still be shown."""
    record = read_record(study)
    if record is not None and record.objectives and len(record.objectives) == len(study.directions):
        return record
    directions = tuple("maximize" if d == StudyDirection.MAXIMIZE else "minimize" for d in study.directions)
    names = tuple(f"objective {i}" for i in range(len(directions)))
    return StudyRecord(config={}, objectives=names, directions=directions, n_trials=0)


# -- how far a study got ---------------------------------------------------------------------------------
def mark_stopped_itself(storage: optuna.storages.BaseStorage, study_name: str) -> None:
    """Record that study ``study_name`` stopped itself (``Study.stop()`` from its sampler: a "grid" search
    that has tried every architecture), however many trials its plan still had room for."""
    storage.set_study_system_attr(storage.get_study_id_from_name(study_name), EXHAUSTED_ATTR, True)


def stopped_itself(storage: optuna.storages.BaseStorage, study_name: str) -> bool:
    """Whether a process of study ``study_name`` saw it stop itself (`mark_stopped_itself`): read from
    ``storage`` on each call, so it sees other processes' records."""
    study_id = storage.get_study_id_from_name(study_name)
    return bool(storage.get_study_system_attrs(study_id).get(EXHAUSTED_ATTR, False))


def listed_stopped_itself(study: _ListedStudy) -> bool:
    """`stopped_itself` of a study as a storage lists it, without another query."""
    return bool(study.system_attrs.get(EXHAUSTED_ATTR, False))


def study_status(
    done: int, total: int | None, running: int, dead: int, last_failed: bool, complete: bool = False
) -> str:
    """The status of a study's search from its counts (the side panel's, from one query per listing):
    "running" (a live trial), "failed" (a worker died, or the last trial failed and ended the search),
    "finished" (every planned trial done, or the study stopped itself: ``complete``) or "stopped" (fewer
    trials than planned, nothing running)."""
    if running:
        return "running"
    if dead:
        return "failed"
    if complete or (total is not None and done >= total):
        return "finished"
    if last_failed:
        return "failed"
    return "finished" if total is None and done else "stopped"


def dead_worker_grace_s(heartbeat_interval: float) -> float:
    """Seconds a RUNNING trial's heartbeat may be silent before a viewer calls its worker dead: longer
    than the four intervals after which the engine itself fails the trial (`open_storage`), so a viewer
    never calls a live search dead, whatever interval the study beats at."""
    return 6.0 * heartbeat_interval
