"""Which trial of a study an export means: a trial number, or the study's best feasible trial."""

from __future__ import annotations

import optuna

from nas_workbench.engine.records import TrialResult, pareto_front, trial_results
from nas_workbench.engine.study_record import record_of
from nas_workbench.exceptions import ConfigError, NasWorkbenchError

__all__ = ["chosen_trial"]


def chosen_trial(study: optuna.Study, number: int | None) -> TrialResult:
    """Trial ``number`` of ``study``, or its best (the first of the Pareto front) when None."""
    results = trial_results(study)
    if number is None:
        directions = list(record_of(study).directions)
        front = pareto_front(results, directions)
        if not front:
            raise NasWorkbenchError(f"study {study.study_name!r} has no feasible, completed trial to export")
        return front[0]
    for result in results:
        if result.number == number:
            if not result.spec:
                raise NasWorkbenchError(
                    f"trial {number} of {study.study_name!r} has no architecture recorded"
                )
            return result
    raise ConfigError(
        "trial", number, f"a trial number of study {study.study_name!r} (0 to {len(results) - 1})"
    )
