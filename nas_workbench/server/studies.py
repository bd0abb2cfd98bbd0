"""Summaries and details of the workbench's studies, read from an Optuna storage for the side panel.

The records themselves are read by `nas_workbench.engine.study_record` and `nas_workbench.engine.records`
(the engine's own readers of what it stores); this module only condenses them into the JSON the panel
shows: one row per study, and the details of one study (its Pareto front and best architecture with its
profile). The engine and the
spaces are imported on the first request, not when the Jupyter server loads the extension: they load torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial

from nas_workbench.engine.study_record import StudyRecord, dead_worker_grace_s, progress, record_of
from nas_workbench.exceptions import NasWorkbenchError

if TYPE_CHECKING:  # what BaseStorage.get_all_studies returns; Optuna 5 does not re-export it
    from optuna.study._frozen import FrozenStudy

__all__ = ["StudyNotFoundError", "list_studies", "study_details"]


class StudyNotFoundError(NasWorkbenchError, LookupError):
    """The storage holds no study of that name."""


def list_studies(storage: optuna.storages.BaseStorage) -> list[dict[str, Any]]:
    """One summary row per study in ``storage``, most recently updated first."""
    rows = [_summary(storage, study, _trials(storage, study))[0] for study in storage.get_all_studies()]
    return sorted(rows, key=lambda row: row["last_update"] or 0.0, reverse=True)


def study_details(storage: optuna.storages.BaseStorage, name: str) -> dict[str, Any]:
    """The summary of study ``name`` plus its settings, Pareto front and best architecture."""
    study = next((s for s in storage.get_all_studies() if s.study_name == name), None)
    if study is None:
        raise StudyNotFoundError(f"no study named {name!r} in this storage")
    trials = _trials(storage, study)
    row, results, front = _summary(storage, study, trials)
    record = record_of(study)
    best = _best(front)
    if best is not None:
        best["device"] = next(t for t in trials if t.number == best["number"]).user_attrs.get("device")
        best["architecture"] = _architecture(best["spec"])
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return {
        **row,
        "budget": dict(record.budget),
        "config": dict(record.config),
        "counts": counts,
        "pareto": [r.to_dict() for r in front],
        "best": best,
    }


def _architecture(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The renderer's payload of a stored spec (None for a missing or malformed one)."""
    from nas_workbench._mime import arch_payload

    try:
        return arch_payload(spec) if spec else None
    except NasWorkbenchError:
        return None


def _trials(storage: optuna.storages.BaseStorage, study: FrozenStudy) -> list[FrozenTrial]:
    return storage.get_all_trials(storage.get_study_id_from_name(study.study_name), deepcopy=False)


def _summary(
    storage: optuna.storages.BaseStorage, study: FrozenStudy, trials: Sequence[FrozenTrial]
) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """The panel's row for one study, with the trial records and Pareto front it was made from."""
    from nas_workbench.engine.records import TrialResult, pareto_front

    record = record_of(study)
    objectives = [
        {"metric": m, "direction": d} for m, d in zip(record.objectives, record.directions, strict=True)
    ]
    results = [TrialResult.from_frozen(t) for t in trials]
    front = pareto_front(results, record.directions)
    state = progress(trials, record, _dead_trials(storage, study, record))
    feasible = [r for r in results if r.status == "ok" and r.feasible]
    accuracies = [v for v in (r.value("accuracy") for r in feasible) if v is not None]
    row = {
        "name": study.study_name,
        "space": record.space,
        "strategy": record.strategy,
        "objectives": objectives,
        "status": state.status,
        "trials": {"done": state.done, "total": state.total, "running": state.running},
        "best_accuracy": max(accuracies, default=None),
        "pareto_size": len(front),
        "feasible": {
            "count": len(feasible),
            "evaluated": sum(r.status in ("ok", "infeasible") for r in results),
        },
        "last_update": _last_update(trials),
    }
    return row, results, front


def _dead_trials(storage: optuna.storages.BaseStorage, study: FrozenStudy, record: StudyRecord) -> set[int]:
    """Numbers of RUNNING trials whose worker stopped beating (a killed kernel): the search died.

    A trial is dead once its heartbeat has been silent for `dead_worker_grace_s` of the study's own
    heartbeat interval (from its record), so a study that beats once an hour is not called dead early.
    Only a database storage answers; others have no dead trials to report.
    """
    if not isinstance(storage, optuna.storages.RDBStorage):
        return set()
    from nas_workbench.engine._bulk_read import silent_trials

    interval = record.config.get("heartbeat_interval")
    grace = dead_worker_grace_s(float(interval) if isinstance(interval, int | float) else 5.0)
    return silent_trials(storage, storage.get_study_id_from_name(study.study_name), grace)


def _last_update(trials: Sequence[FrozenTrial]) -> float | None:
    """Epoch seconds of the latest trial start or completion (Optuna stores local naive datetimes)."""
    stamps = [d for t in trials for d in (t.datetime_start, t.datetime_complete) if d is not None]
    return max(stamps).timestamp() if stamps else None


def _best(front: Sequence[Any]) -> dict[str, Any] | None:
    """The front's most accurate architecture (the front's first when accuracy is not measured)."""
    if not front:
        return None
    scored = [r for r in front if r.value("accuracy") is not None]
    best = max(scored, key=lambda r: r.value("accuracy")) if scored else front[0]
    return best.to_dict()
