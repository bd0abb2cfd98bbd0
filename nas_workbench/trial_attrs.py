"""The one reader and writer of what the engine stores on each trial, below every layer.

The engine records, per trial, the user attributes named in `RECORDS`: ``spec`` (ArchSpec dict),
``arch``, ``summary``, ``worker``, ``status``, ``reason``, ``metrics``, ``device``, ``timings``,
``repeat_of``, ``evaluated_by`` and, for a differentiable search, `DNAS_ATTR` and `WEIGHTS_ATTR` (see
`nas_workbench.engine.records`, which turns a trial into a `TrialResult`); a multi-objective trial's
accuracy curve is kept in system attributes (`CURVE_ATTR`), and Optuna's own ``fail_reason`` and
`RETRY_HISTORY` are read here too. Everything that writes or reads them, in the engine, the strategies,
the plots or the server extension, does it here, so the keys are written down once; a test scans the
package for reads and writes elsewhere. The study's own settings have their owner too
(`nas_workbench.engine.study_record`), and a strategy's records on its trials theirs
(`nas_workbench.strategies._proxy_record`, the evolution sampler's parent).

This module needs neither torch nor Optuna at import.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna.storages import BaseStorage
    from optuna.trial import BaseTrial, FrozenTrial

__all__ = [
    "CURVE_ATTR",
    "DNAS_ATTR",
    "RECORDS",
    "RETRY_HISTORY",
    "WEIGHTS_ATTR",
    "attr",
    "dnas_info",
    "dnas_weights",
    "fail_reason",
    "learning_curve",
    "record",
    "record_accuracy",
    "records",
    "replaced_attempts",
    "retried_attempts",
    "stored_device",
    "stored_label",
    "stored_spec",
    "without_constraints",
]

#: Trial user attribute of a differentiable search's trials:
#: ``{"phase": "search" | "retrain", "epoch", "expected", "targets", losses...}``.
DNAS_ATTR = "dnas"
#: Trial user attribute of a differentiable search's search trials: ``{decision: {choice: probability}}``.
WEIGHTS_ATTR = "arch_weights"

#: The user attributes the engine records on a trial (`record` refuses any other key).
RECORDS = frozenset(
    {"spec", "arch", "summary", "worker", "status", "reason", "metrics", "device", "timings", "repeat_of",
     "evaluated_by", DNAS_ATTR, WEIGHTS_ATTR}
)  # fmt: skip

#: Prefix of the trial system attributes holding a multi-objective trial's accuracy per epoch
#: (`nas_workbench.engine.pruning`): ``accuracy_curve:<epoch>``.
CURVE_ATTR = "accuracy_curve:"

#: Optuna's system attribute on the retry of a stale trial: the numbers of the attempts it replaces.
RETRY_HISTORY = "retry_history"


def record(trial: BaseTrial, **values: Any) -> None:
    """Record ``values`` (keys of `RECORDS`) on the running ``trial``, one storage write each.

    Raises:
        KeyError: A key that is not one of `RECORDS` (named with the allowed ones).
    """
    unknown = sorted(set(values) - RECORDS)
    if unknown:
        raise KeyError(f"trial record {unknown[0]!r} is not one of {sorted(RECORDS)}")
    for key, value in values.items():
        trial.set_user_attr(key, value)


def records(trial: FrozenTrial, keys: Iterable[str]) -> dict[str, Any]:
    """Those of the records ``keys`` that ``trial`` holds (a repeat copies its original's)."""
    stored = trial.user_attrs
    return {key: stored[key] for key in keys if key in stored}


def attr(trial: FrozenTrial, key: str, default: Any = None) -> Any:
    """The engine's record ``key`` of ``trial`` (``default`` when it has none)."""
    return trial.user_attrs.get(key, default)


def replaced_attempts(trial: FrozenTrial) -> list[int]:
    """The numbers of the attempts that ``trial`` retries, oldest first (Optuna's `RETRY_HISTORY`; empty
    for a trial that is no retry)."""
    return list(trial.system_attrs.get(RETRY_HISTORY, ()))


def retried_attempts(storage: BaseStorage, trial_id: int) -> list[int]:
    """`replaced_attempts` of a running trial, read from ``storage`` (a live trial has no frozen copy)."""
    return list(storage.get_trial_system_attrs(trial_id).get(RETRY_HISTORY, ()))


def learning_curve(trial: FrozenTrial) -> dict[int, float]:
    """Validation accuracy per epoch of ``trial``: its intermediate values and its `CURVE_ATTR` records."""
    curve = dict(trial.intermediate_values)
    for key, value in trial.system_attrs.items():
        if key.startswith(CURVE_ATTR):
            curve[int(key[len(CURVE_ATTR) :])] = float(value)
    return dict(sorted(curve.items()))


def record_accuracy(storage: BaseStorage, trial_id: int, epoch: int, accuracy: float) -> None:
    """Record a multi-objective trial's ``accuracy`` after ``epoch`` (`CURVE_ATTR`), where Optuna would
    misread an intermediate value."""
    storage.set_trial_system_attr(trial_id, f"{CURVE_ATTR}{int(epoch)}", float(accuracy))


def fail_reason(trial: FrozenTrial) -> str | None:
    """Why Optuna failed ``trial`` itself (its ``fail_reason`` system attribute: a value it refused)."""
    reason = trial.system_attrs.get("fail_reason")
    return None if reason is None else str(reason)


def stored_spec(trial: FrozenTrial) -> Mapping[str, Any] | None:
    """The ArchSpec dict the engine recorded for ``trial``; None when it recorded none (a trial of
    another kind, or one still choosing its architecture)."""
    stored = trial.user_attrs.get("spec")
    return stored if isinstance(stored, Mapping) else None


def stored_label(trial: FrozenTrial, summary: bool = True) -> str:
    """The trial's architecture in one line: its summary, else (or with ``summary`` False, always) its
    notation; "" when it has neither."""
    label = trial.user_attrs.get("summary") if summary else None
    return str(label or trial.user_attrs.get("arch", ""))


def stored_device(trial: FrozenTrial) -> Mapping[str, Any] | None:
    """The device the trial was profiled on, as recorded (`nas_workbench.profiling.DeviceInfo.to_dict`)."""
    device = trial.user_attrs.get("device")
    return device if isinstance(device, Mapping) else None


def dnas_info(trial: FrozenTrial) -> Mapping[str, Any]:
    """What a differentiable search recorded on ``trial`` (`DNAS_ATTR`; empty for other trials)."""
    info = trial.user_attrs.get(DNAS_ATTR, {})
    return info if isinstance(info, Mapping) else {}


def dnas_weights(trial: FrozenTrial) -> Mapping[str, Mapping[str, float]] | None:
    """A differentiable search's architecture weights at a search trial (`WEIGHTS_ATTR`), else None."""
    if dnas_info(trial).get("phase") != "search":
        return None
    weights = trial.user_attrs.get(WEIGHTS_ATTR)
    return weights if isinstance(weights, Mapping) else None


def without_constraints(trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """Copies of ``trials`` without the constraint values Optuna keeps in their system attributes
    (``constraints*``): for a model that should judge the objective alone (`_compat_gp.acquisition_gp`)."""
    shown = [copy.copy(trial) for trial in trials]
    for trial in shown:
        trial.system_attrs = {k: v for k, v in trial.system_attrs.items() if not k.startswith("constraints")}
    return shown
