"""The part of `_compat` for Optuna's GP sampler: its private hooks and acquisition function, guarded as
`_compat` guards every use of a private API (`_compat.require`).

`GPSampler` fits a Gaussian process and maximises an acquisition function by a local search that knows
nothing of a learnt feasibility model; Optuna has no public way to fit it once and read the acquisition
of many candidates, which a budget-aware strategy needs (`strategies.gp_ranking`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nas_workbench._compat import require
from nas_workbench.trial_attrs import without_constraints

if TYPE_CHECKING:
    import numpy as np
    import optuna
    from optuna.trial import FrozenTrial

__all__ = ["acquisition_gp", "acquisition_values"]


def acquisition_gp(**options: Any) -> optuna.samplers.GPSampler:
    """Optuna's `GPSampler` (``options`` its arguments) that, while its ``defer`` is set, models the objective
    of the trials it is shown with their constraints set aside (``_get_acqf_and_best_params`` sees copies
    without them: the caller judges feasibility) and leaves the acquisition's maximisation to its caller:
    ``_optimize_acqf``, the hook Optuna's source leaves for that, keeps it in ``acquisition`` (read it with
    `acquisition_values`) and answers a random point, for the caller to replace. Unset (the default), it is
    Optuna's GP as it is, bar recording ``acquisition``."""
    require("optuna")
    import optuna

    class _AcquisitionGP(optuna.samplers.GPSampler):
        acquisition: Any = None
        defer = False

        def _get_acqf_and_best_params(self, completed: list[FrozenTrial], *args: Any) -> Any:
            if not self.defer:
                return super()._get_acqf_and_best_params(completed, *args)
            return super()._get_acqf_and_best_params(without_constraints(completed), *args)

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
