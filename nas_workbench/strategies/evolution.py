"""Regularised (aging) evolution (Real et al., "Regularized Evolution for Image Classifier Architecture
Search", AAAI 2019) as an Optuna sampler.

The population is the P most recently completed trials of the study, so the oldest member dies each time
a child joins: an architecture survives by having good descendants, not by one lucky evaluation. Each
new trial is a child: S members are drawn from the population, the best is the parent, and the child is
the parent changed by the space's own mutation operator (one decision changed). Until the population is
full, trials are random. With a budget, a child (or random trial) predicted far over budget by the
`FeasibilityFilter`, or one tried already, is mutated (drawn) again. Only completed trials are members:
failed ones have no value, and pruned ones were not trained to the end, so their values do not compare.
Each child records its parent's trial number in the system attribute ``evolution:parent``.

"Best" in a tournament is constraint-aware and works for several objectives: a feasible member beats an
infeasible one, infeasible members compare by total violation, and among feasible members the winner is
drawn from the non-dominated ones (for one objective: the best value).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial

from nas_workbench import _compat
from nas_workbench.strategies._base import Option, SamplerContext, Strategy, check_int, register
from nas_workbench.strategies._history import (
    Plan,
    PlannedOptions,
    PlannedSampler,
    completed_trials,
    feasible,
    parent_spec,
    violation,
)
from nas_workbench.strategies.feasibility import OPTIONS as FEASIBILITY_OPTIONS
from nas_workbench.strategies.feasibility import make_filter

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.12

__all__ = ["PARENT_ATTR", "RegularizedEvolutionSampler", "mutate_params", "select_parent"]

#: Trial system attribute holding the parent's trial number (lineage, for plots and debugging).
PARENT_ATTR = "evolution:parent"


class RegularizedEvolutionSampler(PlannedSampler):
    """Aging evolution over a define-by-run search space.

    Args:
        population_size: P, the number of most recent completed trials that form the population.
        tournament_size: S, members drawn per tournament (larger: greedier).
        **base: ``seed`` (of every draw), ``space`` and ``feasibility``, as `PlannedSampler` takes them.
            The space's `mutate` makes children; without one, a child changes one categorical parameter
            of its parent (any define-by-run Optuna objective works). The feasibility filter keeps
            children out of the region predicted far over budget.
    """

    def __init__(
        self, population_size: int = 20, tournament_size: int = 5, **base: Unpack[PlannedOptions]
    ) -> None:
        super().__init__(**base)
        self.population_size = check_int("population_size", population_size, 2)
        self.tournament_size = check_int("tournament_size", tournament_size, 1, population_size)

    def plan(self, study: optuna.Study, trial: FrozenTrial, rng: random.Random) -> Plan:
        model = self.feasibility.model(study, trial)
        if (warm := self.feasibility.warm(study, model)) is not None:
            return Plan(warm, rng)
        population = completed_trials(study)[-self.population_size :]
        if len(population) < self.population_size:
            if self.space is None or model is None:
                return Plan({}, rng)
            start_space = self.space
            start = self.feasibility.choose(
                model, lambda: dict(start_space.random(rng).choices), tried=self.feasibility.tried(study)
            )
            return Plan(start, rng)
        parent = select_parent(rng.sample(population, self.tournament_size), study.directions, rng)
        _compat.storage_of(study).set_trial_system_attr(_compat.trial_id(trial), PARENT_ATTR, parent.number)
        space = self.space
        uniform = None if space is None else (lambda: dict(space.random(rng).choices))
        tried = self.feasibility.tried(study)
        child = self.feasibility.choose(model, lambda: self._mutate(parent, rng), uniform, tried)
        return Plan(child, rng)

    def _mutate(self, parent: FrozenTrial, rng: random.Random) -> dict[str, Any]:
        if self.space is not None and (spec := parent_spec(parent, self.space)) is not None:
            return dict(self.space.mutate(spec, rng).choices)
        return mutate_params(parent, rng)


def select_parent(
    members: list[FrozenTrial], directions: list[optuna.study.StudyDirection], rng: random.Random
) -> FrozenTrial:
    """The tournament's winner: the least infeasible if none is feasible, else a non-dominated member."""
    candidates = [t for t in members if feasible(t)]
    if not candidates:
        return min(members, key=lambda t: (violation(t), t.number))
    signs = np.array([1.0 if d == optuna.study.StudyDirection.MAXIMIZE else -1.0 for d in directions])
    ranks = _compat.nondomination_ranks(-signs * np.array([t.values for t in candidates], dtype=float), True)
    return rng.choice([t for t, rank in zip(candidates, ranks, strict=True) if rank == 0])


def mutate_params(parent: FrozenTrial, rng: random.Random) -> dict[str, Any]:
    """The parent's parameters with one categorical parameter (that has a choice) changed."""
    answers = dict(parent.params)
    mutable = {
        name: dist.choices
        for name, dist in parent.distributions.items()
        if isinstance(dist, CategoricalDistribution) and len(dist.choices) > 1
    }
    if mutable:
        target = rng.choice(sorted(mutable))
        answers[target] = rng.choice([c for c in mutable[target] if c != answers[target]])
    return answers


def _factory(
    context: SamplerContext, population_size: int, tournament_size: int, **feasibility: Any
) -> RegularizedEvolutionSampler:
    return RegularizedEvolutionSampler(
        population_size=population_size,
        tournament_size=tournament_size,
        space=context.space,
        seed=context.seed,
        feasibility=make_filter(context, **feasibility),
    )


register(
    Strategy(
        "evolution",
        _factory,
        "regularised (aging) evolution after Real et al. 2019: tournaments on the most recent completed "
        "trials pick a parent, the space's mutation makes the child; about 1 ms per trial on any space, "
        "constraint-aware, and for several objectives it picks parents among non-dominated ones.",
        {
            "population_size": Option(20, "P: the most recent completed trials that form the population"),
            "tournament_size": Option(5, "S: members drawn per tournament (larger is greedier)"),
            **FEASIBILITY_OPTIONS,
        },
    )
)
