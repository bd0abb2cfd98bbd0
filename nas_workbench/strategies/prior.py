"""Prior knowledge for a search: warm-starting from an earlier study.

(The other two kinds go through Optuna directly: known-good architectures are enqueued with
``study.enqueue_trial(spec.choices)``, and fixed decisions wrap the sampler in Optuna's
``PartialFixedSampler``; `nas_workbench.search` does both from ``initial_architectures`` and
``fixed_choices``.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import optuna
from optuna.trial import TrialState

from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies._history import parent_spec

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace

__all__ = ["warm_start"]


def warm_start(study: optuna.Study, source: optuna.Study, space: SearchSpace) -> int:
    """Copy the finished trials of ``source`` whose architecture belongs to ``space`` into ``study``.

    Every strategy then learns from them as from its own trials: TPE and GP fit them, evolution's first
    population is their most recent ones, REINFORCE replays them. Values, constraints, accuracy curves and
    the engine's user attributes come along; failed and unfinished trials do not.

    Args:
        study: The new study (typically still empty).
        source: The earlier study; it must optimise the same directions.
        space: The space searched now; trials of other spaces or other space options are skipped.

    Returns:
        The number of trials copied.
    """
    if source.directions != study.directions:
        raise ConfigError(
            "warm_start",
            source.study_name,
            f"a study with the same directions ({[d.name.lower() for d in study.directions]}); it has "
            f"{[d.name.lower() for d in source.directions]}",
        )
    finished = source.get_trials(deepcopy=True, states=(TrialState.COMPLETE, TrialState.PRUNED))
    copies = [trial for trial in finished if parent_spec(trial, space) is not None]
    study.add_trials(copies)
    return len(copies)
