"""A cost prior for the start of a budgeted search: the largest live candidates predicted within budget.

Under a hardware budget the best architectures usually spend nearly all of it, and among the candidates
within a budget a larger network is usually a more accurate one: on NAS-Bench-201's device latency
budgets, training the 25 cells within budget with the most FLOPs leaves a mean regret of 0.17 points
(against the exact constrained optimum), where 100 random trials leave 1 point. A strategy's
own start-up draws (TPE's and GP's random trials, evolution's random population, REINFORCE's flat
policy) know nothing of that. So once the feasibility model is fitted, the first trials a strategy asks
for are the untried candidates that the prior ranks highest among those the model predicts within
budget; the strategy then learns from them as from its own trials.

The prior is the candidate's counted parameters (`SamplerContext.costs`, what the engine counts for every
search) of its *live* network (`CellSpace.live`: without the ops on no input-output path, which cost
parameters but add nothing), so a cell whose convs feed nothing ranks as the small cell it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nas_workbench.strategies.pool import CandidatePool

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec
    from nas_workbench.strategies.feasibility_model import FeasibilityModel

__all__ = ["PRIOR_COST", "CostPrior", "choices_key"]

#: The counted cost the prior ranks by (larger first).
PRIOR_COST = "params"


def choices_key(choices: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A hashable key of an architecture's decisions."""
    return tuple(sorted(choices.items()))


@dataclass(eq=False)
class CostPrior:
    """Candidates of a space in order of their live network's counted parameters, largest first.

    The candidates are the whole space when it has at most ``size`` architectures, else a seeded sample
    (`CandidatePool`); they are counted on first use, so a search that never asks pays nothing.

    Args:
        space: The search space.
        costs: Architecture → counted costs (`SamplerContext.costs`); it must give `PRIOR_COST`.
        size: Most candidates.
        seed: Seed of the sample of a larger space.
    """

    space: SearchSpace
    costs: Callable[[ArchSpec], Mapping[str, float]]
    size: int
    seed: int | None = None
    _ranked: list[dict[str, Any]] | None = field(default=None, init=False, repr=False)

    def _live_cost(self, spec: ArchSpec) -> dict[str, float]:
        live: Callable[[ArchSpec], ArchSpec] | None = getattr(self.space, "live", None)
        counted = self.costs(live(spec) if live is not None else spec)
        return {PRIOR_COST: float(counted[PRIOR_COST])} if PRIOR_COST in counted else {}

    def ranked(self) -> list[dict[str, Any]]:
        """Every candidate's decisions, largest live network first (empty without `PRIOR_COST`)."""
        if self._ranked is None:
            pool = CandidatePool(self.space, self.size, [self._live_cost], self.seed)
            if PRIOR_COST not in pool.names:
                self._ranked = []
            else:
                order = np.argsort(-pool.column(PRIOR_COST), kind="stable")
                self._ranked = [dict(pool.specs[i].choices) for i in order]
            if callable(save := getattr(self.costs, "save", None)):  # a cache (the engine's costs)
                save()
        return self._ranked

    def pick(
        self, model: FeasibilityModel, tried: Callable[[Mapping[str, Any]], bool], z: float = 0.0
    ) -> dict[str, Any] | None:
        """The highest-ranked candidate not ``tried`` that ``model`` predicts within budget, or at most
        ``z`` leave-one-out deviations over it (`FeasibilityModel.excess` 0); None when there is none."""
        for choices in self.ranked():
            if not tried(choices) and model.excess(choices, z) == 0.0:
                return choices
        return None
