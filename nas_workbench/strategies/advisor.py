"""The strategy advisor: which strategy suits a search, and why, in one sentence.

The rules follow what the NAS benchmarks agree on: enumerate a space no larger than the budget; use a
gradient-based strategy when the space has a continuous relaxation and is far too large to sample (on
NAS-Bench-201, DARTS-style search collapses while sampling strategies do well); for several
objectives, multi-objective TPE for small budgets and NSGA-II once it can run several generations; for
one objective, Bayesian optimisation for small budgets (a Gaussian process for the smallest, TPE above)
and regularised evolution for long searches, where it is the strongest simple baseline (NAS-Bench-101,
NAS-Bench-201).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nas_workbench.strategies import _base

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace

__all__ = ["Advice", "advise"]

#: A relaxable space this many times larger than the trial budget goes to a gradient-based strategy (on
#: small relaxable spaces such as NAS-Bench-201, sampling strategies beat DARTS-style search).
RELAXATION_MIN_RATIO = 1000
#: The trial count assumed when none is given.
DEFAULT_TRIALS = 100
#: At most this many trials, a Gaussian process is the most sample-efficient model.
GP_MAX_TRIALS = 40
#: From this many trials on, regularised evolution overtakes model-based search on NAS spaces.
EVOLUTION_MIN_TRIALS = 150
#: NSGA-II needs about this many generations of its population to beat multi-objective TPE.
NSGA2_MIN_GENERATIONS = 4


@dataclass(frozen=True)
class Advice:
    """A recommended strategy and the reason, one sentence."""

    strategy: str
    reason: str

    def __str__(self) -> str:
        return f"{self.strategy}: {self.reason}"


def advise(
    space: SearchSpace,
    objectives: Sequence[str],
    budget: Mapping[str, float] | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
) -> Advice:
    """Recommend a registered strategy for searching ``space``.

    Args:
        space: The search space (its size and whether it is `relaxable` matter).
        objectives: The metrics optimised ("accuracy", "latency_ms", ...).
        budget: Hardware limits (metric → limit); with limits, a constraint-aware strategy is chosen.
        n_trials: Trials the search may run (None: unknown, bounded by ``timeout`` or not at all).
        timeout: Wall-clock limit in seconds; with no trial count it means the count is unknown.

    Returns:
        An `Advice` naming a strategy from `nas_workbench.strategies.list()` and why.
    """
    size = space.size()
    several = len(objectives) > 1
    limits = f" while it learns where the {', '.join(budget)} budget binds" if budget else ""
    trials = f"{n_trials} trials" if n_trials is not None else _unknown_trials(timeout)

    if n_trials is not None and size <= n_trials:
        return Advice(
            "grid",
            f"the {space.name!r} space has only {size:,} architectures, no more than the {n_trials} trials, "
            "so trying each once is guaranteed to find the best.",
        )
    gradient = [
        name
        for name in _base.list()
        if _base.get(name).relaxation and (_base.get(name).multi_objective or not several)
    ]
    if space.relaxable and gradient and size >= RELAXATION_MIN_RATIO * (n_trials or DEFAULT_TRIALS):
        return Advice(
            gradient[0],
            f"the {space.name!r} space has {size:,} architectures, far more than {trials} can sample, and a "
            "continuous relaxation: one supernet trained by gradient descent weighs them all for the cost "
            "of a few trainings.",
        )
    if several:
        population = _base.get("nsga2").options["population_size"].default
        if n_trials is not None and n_trials >= NSGA2_MIN_GENERATIONS * population:
            return Advice(
                "nsga2",
                f"{trials} give NSGA-II {n_trials // population} generations of {population} to spread a "
                f"Pareto front over {' vs '.join(objectives)}{limits}.",
            )
        return Advice(
            "tpe",
            f"with {trials} for {len(objectives)} objectives, multi-objective TPE models the Pareto front "
            f"from the first few dozen trials, before NSGA-II would finish its first generations{limits}.",
        )
    if n_trials is not None and n_trials <= GP_MAX_TRIALS:
        return Advice(
            "gp",
            f"{trials} is a small budget: a Gaussian process makes the most of each trial{limits}.",
        )
    if n_trials is not None and n_trials >= EVOLUTION_MIN_TRIALS:
        return Advice(
            "evolution",
            f"{trials} over {size:,} architectures is a long search, where regularised evolution is "
            f"the most reliable strategy on NAS benchmarks{limits}.",
        )
    return Advice(
        "tpe",
        f"with {trials}, multivariate TPE learns which decisions matter from a few dozen trials and keeps "
        f"improving{limits or ' as trials accumulate'}.",
    )


def _unknown_trials(timeout: float | None) -> str:
    return (
        f"as many trials as {timeout:g} s allow" if timeout is not None else "an open-ended number of trials"
    )
