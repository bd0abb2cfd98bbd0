"""The one reader of what the engine stores on each trial (Optuna user attributes), below every layer.

The engine writes, per trial, ``spec`` (ArchSpec dict), ``arch``, ``summary``, ``status``, ``reason``,
``metrics``, ``device``, ``worker`` and, for a differentiable search, `DNAS_ATTR` and `WEIGHTS_ATTR`
(see `nas_workbench.engine.records`, which turns a trial into a `TrialResult`). Everything that reads
them back, in the engine, the strategies, the plots or the server extension, reads them here, so the keys
are written down once; a test scans the package for reads elsewhere. The study's own settings have their
owner too (`nas_workbench.engine.study_record`), and a `proxy_guided` search's records on its trials theirs
(`nas_workbench.strategies._proxy_record`).

This module needs neither torch nor Optuna at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = [
    "DNAS_ATTR",
    "WEIGHTS_ATTR",
    "attr",
    "dnas_info",
    "dnas_weights",
    "fail_reason",
    "stored_device",
    "stored_label",
    "stored_spec",
]

#: Trial user attribute of a differentiable search's trials:
#: ``{"phase": "search" | "retrain", "epoch", "expected", "targets", losses...}``.
DNAS_ATTR = "dnas"
#: Trial user attribute of a differentiable search's search trials: ``{decision: {choice: probability}}``.
WEIGHTS_ATTR = "arch_weights"


def attr(trial: FrozenTrial, key: str, default: Any = None) -> Any:
    """The engine's record ``key`` of ``trial`` (``default`` when it has none)."""
    return trial.user_attrs.get(key, default)


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
