"""Prior knowledge for a search: warm-starting from an earlier study.

Two ways: `best_architectures` picks an earlier study's best architectures, which a search tries first
(``SearchConfig.warm_start`` enqueues them, evaluated again under the new search's settings), and
`warm_start` copies an earlier study's finished trials into a new one, so that a sampler learns from them
without evaluating them again (for Python users driving Optuna themselves: copied trials would count
towards the engine's ``n_trials``).

(The other kinds go through Optuna directly: known-good architectures are enqueued with
``study.enqueue_trial(spec.choices)``, and fixed decisions wrap the sampler in Optuna's
``PartialFixedSampler`` (`fix_choices`); `nas_workbench.search` does both from ``initial_architectures``
and ``fixed_choices``.)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.study import StudyDirection
from optuna.trial import TrialState

from nas_workbench import _compat
from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies._history import feasible, parent_spec

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec

__all__ = ["best_architectures", "fix_choices", "warm_start"]


def fix_choices(
    sampler: optuna.samplers.BaseSampler, fixed_choices: Mapping[str, Any]
) -> optuna.samplers.BaseSampler:
    """``sampler``, with the decisions of ``fixed_choices`` fixed to their values (Optuna's
    ``PartialFixedSampler``; ``sampler`` itself when there are none): ``SearchConfig.fixed_choices``."""
    if not fixed_choices:
        return sampler
    with warnings.catch_warnings():  # "experimental" since Optuna 2.4, unchanged: noise per search
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.PartialFixedSampler(dict(fixed_choices), sampler)


def best_architectures(
    source: optuna.Study, space: SearchSpace, top_k: int, fixed_choices: Mapping[str, Any] | None = None
) -> list[ArchSpec]:
    """The ``top_k`` best distinct architectures of ``source`` that belong to ``space``, best first.

    Best as the source's own objectives rank them, among its complete, feasible trials: for one objective
    by value; for several, front by front of non-dominated trials (its Pareto front first), each front in
    the order of its first objective. Trials over budget (never trained), pruned or failed ones, other
    spaces' and those that contradict ``fixed_choices`` are left out; an architecture evaluated several
    times counts at its best.

    Args:
        source: The earlier study.
        space: The space searched now.
        top_k: How many architectures to return at most.
        fixed_choices: Decisions the new search fixes; architectures with other values are left out.
    """
    fixed = dict(fixed_choices or {})
    candidates: list[tuple[ArchSpec, list[float]]] = []
    for trial in source.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        spec = parent_spec(trial, space) if feasible(trial) else None
        if spec is not None and all(spec.choices.get(name, value) == value for name, value in fixed.items()):
            candidates.append((spec, trial.values))
    if not candidates:
        return []
    signs = np.array([1.0 if d == StudyDirection.MAXIMIZE else -1.0 for d in source.directions])
    points = np.array([values for _, values in candidates], dtype=float) * signs  # larger is better
    chosen: dict[str, ArchSpec] = {}
    for front in _fronts(points):
        for index in front:
            spec = candidates[index][0]
            chosen.setdefault(spec.id, spec)
            if len(chosen) == top_k:
                return list(chosen.values())
    return list(chosen.values())


def _fronts(points: np.ndarray) -> Iterator[list[int]]:
    """Indices of ``points`` (rows; larger is better in every column) front by front of non-domination
    (Optuna's non-dominated sort), each front in lexicographic order, best first."""
    ranks = _compat.nondomination_ranks(-points)
    order = np.lexsort(tuple(-points[:, k] for k in reversed(range(points.shape[1]))))
    for rank in range(int(ranks.max()) + 1):
        yield [int(index) for index in order if ranks[index] == rank]


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
