"""The part of `_compat` for Optuna's GP sampler: its private hooks and acquisition function, guarded as
`_compat` guards every use of a private API (`_compat.require`).

`GPSampler` fits a Gaussian process and maximises an acquisition function by a local search that knows
nothing of a learnt feasibility model; Optuna has no public way to fit it once and read the acquisition
of many candidates, which a budget-aware strategy needs (`strategies.gp_ranking`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nas_workbench._compat import require
from nas_workbench.trial_attrs import without_constraints

if TYPE_CHECKING:
    import numpy as np
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial

__all__ = ["acquisition_gp", "acquisition_values"]


def acquisition_gp(**options: Any) -> optuna.samplers.GPSampler:
    """Optuna's `GPSampler` (``options`` its arguments) that, while its ``defer`` is set, models what its
    caller shows it and leaves the acquisition's maximisation to its caller. ``_sample_relative_impl`` fits
    the GP to the trials its ``shown`` makes of the completed and running ones (by default copies without
    their constraints: the caller judges feasibility), over the search space plus ``inputs`` (numeric
    inputs beside the decisions, which the shown trials carry as params, and so must the candidates of
    `acquisition_values`); ``_optimize_acqf``, the hook Optuna's source leaves for the maximisation, keeps
    the acquisition in ``acquisition`` and answers a random point, for the caller to replace. Unset (the
    default), it is Optuna's GP as it is, bar recording ``acquisition``."""
    require("optuna")
    import optuna

    class _AcquisitionGP(optuna.samplers.GPSampler):
        acquisition: Any = None
        defer = False

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            self.shown: Callable[[list[FrozenTrial]], list[FrozenTrial]] = without_constraints
            self.inputs: dict[str, BaseDistribution] = {}

        def _sample_relative_impl(
            self,
            study: Any,
            completed: list[FrozenTrial],
            running: list[FrozenTrial],
            search_space: dict[str, BaseDistribution],
        ) -> Any:
            if not self.defer:
                return super()._sample_relative_impl(study, completed, running, search_space)
            shown, extended = (self.shown(completed), self.shown(running)), search_space | self.inputs
            params = super()._sample_relative_impl(study, *shown, extended)
            return {name: value for name, value in params.items() if name not in self.inputs}

        def _optimize_acqf(self, acqf: Any, best_params: Any) -> Any:
            self.acquisition = acqf
            if not self.defer:
                return super()._optimize_acqf(acqf, best_params)
            return acqf.search_space.sample_normalized_params(1, self._rng.rng)[0]

    return _AcquisitionGP(**options)


def acquisition_values(acqf: Any, candidates: list[dict[str, Any]]) -> np.ndarray:
    """Each candidate's acquisition under ``acqf`` (`acquisition_gp`; ``SearchSpace.get_normalized_params``,
    whose first argument only sizes the array, then ``eval_acqf_no_grad``)."""
    require("optuna")
    return acqf.eval_acqf_no_grad(acqf.search_space.get_normalized_params(candidates, candidates))
