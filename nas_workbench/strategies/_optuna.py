"""Strategies that are Optuna's own samplers: random, grid, tpe, gp and nsga2.

Optuna 5 samplers read constraints from ``FrozenTrial.constraints`` (set by the engine with
``Trial.set_constraint``), so none of them needs a ``constraints_func``: TPE, GP and NSGA-II are
constraint-aware as built here. Each is also wrapped in a `BudgetAwareSampler`, which learns feasibility
from the constraints and keeps their proposals out of the region predicted far over budget and away from
architectures already tried. TPE proposes from the trials within budget only once that model is fitted
(``hide_infeasible``): with the over-budget trials among its bad ones it retreated from the budget's edge
(NAS-Bench-201's 15 device budgets: README, "Search under a device latency budget"). For one objective,
TPE and GP hand proposing to proxy-guided search once every constraint is an exact sum of per-choice costs
on the trials (``handover``, `exact_handover`): there a learnt limit is as good as a target device's
prediction, and on NAS-Bench-201's Eyeriss 30th percentile its twins-first ranking found the single best
cell at the budget where TPE missed it (mean regret 0.18 -> 0.05; 7 -> 8 of the 15 budgets at most 0.15);
gp handing over gives the same figures on the FPGA and Eyeriss to the digit.
"""

from __future__ import annotations

import warnings
from typing import Any

import optuna
from optuna.samplers import BaseSampler

from nas_workbench import _compat_gp
from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies._base import (
    Option,
    SamplerContext,
    Strategy,
    check_float,
    check_int,
    register,
)
from nas_workbench.strategies.budget_aware import BudgetAwareSampler
from nas_workbench.strategies.exact_handover import ExactHandover
from nas_workbench.strategies.feasibility import OPTIONS as FEASIBILITY_OPTIONS
from nas_workbench.strategies.feasibility import make_filter
from nas_workbench.strategies.gp_ranking import RankedGPSampler

#: NSGA-II compares 8 proposals within budget and keeps the one predicted closest under the limit: on
#: NAS-Bench-201's 15 device budgets its mean regret fell from 0.69 to 0.56 and it beat random search in
#: 13 cases instead of 9 (benchmarks/strategies/README.md, "Leaning to the budget's edge"). TPE and GP
#: keep the first (`OPTIONS`): a proposal is a whole model fit and acquisition, and comparing several did
#: not help TPE there.
_LEAN = {**FEASIBILITY_OPTIONS, "feasibility_edge": Option(8, FEASIBILITY_OPTIONS["feasibility_edge"].doc)}
#: GP leaves the cost prior's warm start off by default: on NAS-Bench-201's Pixel 3 and Raspberry Pi 4 30th
#: percentile budgets (10 seeds) 10 or 25 warm-start trials lowered gp's regret after 10 trained queries but
#: not clearly after 100 (benchmarks/strategies/README.md, "gp models normal scores"), and on five more
#: budgets 25 of them left it higher after 100 where it moved (Pixel 3 5th 0.34 -> 0.55, Raspberry Pi 4 10th
#: 0.20 -> 0.29; "gp, the default under a budget"). TPE takes it: with
#: the feasibility model's shared-choice counts its mean regret on NAS-Bench-201's 15 device budgets fell
#: from 0.56 to 0.28, lower in 12 cases (README, "Search under a device latency budget").
#: One objective under a budget: proxy-guided search proposes once the constraints are exact.
_HANDOVER = Option(
    True,
    "one objective under a budget: once every constraint is an exact sum of per-choice costs on the "
    "trials, proxy-guided search proposes, told the constraints as known costs",
)
_GP = {**FEASIBILITY_OPTIONS, "prior_trials": Option(0, FEASIBILITY_OPTIONS["prior_trials"].doc)}


def _random(context: SamplerContext) -> BaseSampler:
    return optuna.samplers.RandomSampler(seed=context.seed)


def _grid(context: SamplerContext, max_size: int) -> BaseSampler:
    check_int("max_size", max_size, 1)
    space = context.space
    if space is not None and (size := space.size()) > max_size:
        raise ConfigError(
            "strategy",
            "grid",
            f"a space of at most {max_size:,} architectures (strategy_options.max_size); the "
            f"{space.name!r} space has {size:,}: use 'random', 'tpe' or 'evolution', or raise max_size",
        )
    # BruteForceSampler walks define-by-run (conditional) spaces; a strict walk covers every leaf. It is
    # flagged experimental since Optuna 3.1 without change; the warning would only repeat on every search.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.BruteForceSampler(seed=context.seed, avoid_premature_stop=True)


def _tpe(
    context: SamplerContext,
    n_startup_trials: int,
    n_ei_candidates: int,
    multivariate: bool,
    group: bool,
    handover: bool,
    **feasibility: Any,
) -> BaseSampler:
    check_int("n_startup_trials", n_startup_trials, 0)
    check_int("n_ei_candidates", n_ei_candidates, 1)
    with warnings.catch_warnings():
        # ``group`` is flagged experimental, yet it is what TPE offers for conditional spaces; the
        # warning would only repeat on every search.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        tpe = optuna.samplers.TPESampler(
            seed=context.seed,
            n_startup_trials=n_startup_trials,
            n_ei_candidates=n_ei_candidates,
            multivariate=bool(multivariate),
            group=bool(group) and bool(multivariate),
        )
    filter_ = make_filter(context, **feasibility)
    budget_aware = BudgetAwareSampler(tpe, filter_, context.space, context.seed, hide_infeasible=True)
    return _handing_over(budget_aware, context, handover)


def _handing_over(sampler: BaseSampler, context: SamplerContext, handover: bool) -> BaseSampler:
    """``sampler``, handing proposing to proxy-guided search once the constraints are exact (`ExactHandover`).

    Only for one objective in a known space, where proxy-guided search can rank the candidates.
    """
    if not handover or context.space is None or len(context.directions) > 1:
        return sampler
    return ExactHandover(
        sampler, context.space, context.costs, context.scores, context.seed, context.fixed_choices
    )


def _gp(
    context: SamplerContext,
    n_startup_trials: int,
    acquisition_pool: int,
    handover: bool,
    **feasibility: Any,
) -> BaseSampler:
    check_int("n_startup_trials", n_startup_trials, 1)
    check_int("acquisition_pool", acquisition_pool, 1)
    gp = _compat_gp.acquisition_gp(
        seed=context.seed, n_startup_trials=n_startup_trials, warn_independent_sampling=False
    )
    filter_ = make_filter(context, **feasibility)
    ranked = RankedGPSampler(gp, filter_, context.space, context.seed, acquisition_pool)
    return _handing_over(ranked, context, handover)


def _nsga2(
    context: SamplerContext,
    population_size: int,
    crossover_prob: float,
    mutation_prob: float | None,
    **feasibility: Any,
) -> BaseSampler:
    check_int("population_size", population_size, 2)
    check_float("crossover_prob", crossover_prob, 0.0, 1.0)
    if mutation_prob is not None:
        check_float("mutation_prob", mutation_prob, 0.0, 1.0)
    nsga2 = optuna.samplers.NSGAIISampler(
        seed=context.seed,
        population_size=population_size,
        crossover_prob=crossover_prob,
        mutation_prob=mutation_prob,
    )
    return BudgetAwareSampler(nsga2, make_filter(context, **feasibility), context.space, context.seed)


register(
    Strategy(
        "random",
        _random,
        "uniform random sampling of every decision; the baseline every other strategy must beat.",
    )
)
register(
    Strategy(
        "grid",
        _grid,
        "tries every architecture of a small space once, in a seeded random order (Optuna's "
        "BruteForceSampler, which follows conditional decisions), then stops the search.",
        {"max_size": Option(10_000, "largest space it agrees to enumerate")},
    )
)
register(
    Strategy(
        "tpe",
        _tpe,
        "Bayesian optimisation with a multivariate tree-structured Parzen estimator (Optuna's TPESampler): "
        "strong from a few dozen trials, constraint-aware (c-TPE), single- or multi-objective (MOTPE).",
        {
            "n_startup_trials": Option(10, "random trials before the model is used"),
            "n_ei_candidates": Option(24, "candidates drawn per decision to pick the most promising"),
            "multivariate": Option(True, "model the decisions jointly rather than one by one"),
            "group": Option(
                True, "model each set of decisions asked together separately (conditional spaces)"
            ),
            "handover": _HANDOVER,
            **FEASIBILITY_OPTIONS,
        },
    )
)
register(
    Strategy(
        "gp",
        _gp,
        "Bayesian optimisation with a Gaussian process and expected improvement (Optuna's GPSampler): "
        "the most sample-efficient for small budgets, constraint-aware, single- or multi-objective; "
        "its cost per trial grows with the number of trials.",
        {
            "n_startup_trials": Option(10, "random trials before the model is used"),
            "acquisition_pool": Option(
                512,
                "random architectures each fit ranks by acquisition and predicted feasibility (with "
                "one-decision moves from the best trials), under a budget",
            ),
            "handover": _HANDOVER,
            **_GP,
        },
    )
)
register(
    Strategy(
        "nsga2",
        _nsga2,
        "multi-objective evolution (NSGA-II: non-dominated sorting and crowding distance) with "
        "constrained domination, for accuracy-vs-latency/memory Pareto fronts; needs several generations.",
        {
            "population_size": Option(50, "architectures per generation"),
            "crossover_prob": Option(0.9, "probability that a child is a crossover of two parents"),
            "mutation_prob": Option(
                None, "per-decision mutation probability (None: 1 / number of decisions)"
            ),
            **_LEAN,
        },
    )
)
