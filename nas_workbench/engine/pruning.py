"""Early stopping on the per-epoch validation accuracy, in single- and multi-objective studies alike.

Optuna's ``Trial.report`` and ``Trial.should_prune`` refuse multi-objective studies, yet accuracy vs
latency is this product's normal case, and the hardware objectives are known before training starts: only
the accuracy curve is uncertain, so it alone decides. `EpochPruner` records each epoch's accuracy and asks
an Optuna pruner (median, successive halving, Hyperband) about a single-objective view of the study in
which every trial's accuracy curve is its intermediate values and the direction is "maximize".

Where the curve is stored: in Optuna's own intermediate values when the study has the one direction
"maximize" (dashboards and TPE read them there); otherwise in trial system attributes
``accuracy_curve:<epoch>`` (`nas_workbench.trial_attrs.record_accuracy`), because Optuna would misread
intermediate values of a multi-objective trial (a pruned trial's values would become its last accuracy,
and TPE would fail on it). `nas_workbench.trial_attrs.learning_curve` reads either.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Container
from typing import Any

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from nas_workbench import _compat
from nas_workbench._registry import Registry, unknown_name_message
from nas_workbench.exceptions import ConfigError
from nas_workbench.trial_attrs import learning_curve, record_accuracy

__all__ = ["PRUNERS", "EpochPruner", "make_pruner"]

_PRUNERS: Registry[type[optuna.pruners.BasePruner]] = Registry("pruner")
_PRUNERS.add("median", optuna.pruners.MedianPruner)
_PRUNERS.add("successive_halving", optuna.pruners.SuccessiveHalvingPruner)
_PRUNERS.add("hyperband", optuna.pruners.HyperbandPruner)

#: Pruner names accepted by `make_pruner` ("none" disables early stopping).
PRUNERS = ("none", *_PRUNERS.names())


class EpochPruner:
    """Decides, epoch by epoch, whether a trial's training should stop.

    Args:
        pruner: The Optuna pruner that judges the accuracy curves.
    """

    def __init__(self, pruner: optuna.pruners.BasePruner) -> None:
        self.pruner = pruner

    def report(self, trial: optuna.Trial, epoch: int, accuracy: float) -> bool:
        """Record ``accuracy`` after ``epoch`` and return True when the trial should stop.

        The caller then ends the trial as pruned (raising ``optuna.TrialPruned`` inside
        ``study.optimize`` works for any number of objectives once the curve is stored as here).
        """
        study = trial.study
        if study.directions == [StudyDirection.MAXIMIZE]:
            trial.report(accuracy, epoch)
        else:
            record_accuracy(_compat.storage_of(study), _compat.trial_id(trial), epoch, accuracy)
        view = _AccuracyView(_compat.storage_of(study))
        seen = _compat.study_over_view(study, view)
        return self.pruner.prune(seen, view.get_trial(_compat.trial_id(trial)))

    def __repr__(self) -> str:
        return f"EpochPruner({type(self.pruner).__name__})"


class _AccuracyView:
    """A storage seen by the pruner: the study maximises, and each trial's intermediate values are its
    accuracy curve (trials without one are hidden). Everything else, writes included, goes through."""

    def __init__(self, storage: optuna.storages.BaseStorage) -> None:
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return [StudyDirection.MAXIMIZE]

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return _with_curve(self._storage.get_trial(trial_id))

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        trials = (
            _with_curve(t) for t in self._storage.get_all_trials(study_id, deepcopy=False, states=states)
        )
        return [t for t in trials if t.intermediate_values]


def _with_curve(trial: FrozenTrial) -> FrozenTrial:
    """``trial`` with its accuracy curve as intermediate values (a copy when they differ)."""
    curve = learning_curve(trial)
    if curve == trial.intermediate_values:
        return trial
    view = copy.copy(trial)
    view.intermediate_values = curve
    return view


def make_pruner(name: str | None, **options: Any) -> EpochPruner | None:
    """An `EpochPruner` wrapping Optuna's pruner ``name``, or None for "none" (no early stopping).

    Args:
        name: "none" (or None), "median", "successive_halving" or "hyperband".
        **options: Keyword arguments of the Optuna pruner (``n_startup_trials``, ``n_warmup_steps``,
            ``min_resource``, ``reduction_factor``, ...); unknown or invalid ones are a `ConfigError`.
    """
    if name is None or name == "none":
        if options:
            raise ConfigError("pruner_options", options, "no options: the pruner is 'none'")
        return None
    if name not in _PRUNERS:
        raise ConfigError("pruner", name, unknown_name_message("pruner", name, [*PRUNERS]))
    cls = _PRUNERS.get(name)
    allowed = [p for p in inspect.signature(cls).parameters if p != "self"]
    for key, value in options.items():
        if key not in allowed:
            raise ConfigError(
                f"pruner_options.{key}",
                value,
                unknown_name_message("option", key, allowed, f"of pruner {name!r}"),
            )
    try:
        return EpochPruner(cls(**options))
    except (TypeError, ValueError) as error:
        raise ConfigError(
            "pruner_options", options, f"valid options of the {name} pruner ({error})"
        ) from None
