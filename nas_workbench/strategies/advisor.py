"""The strategy advisor: which strategy suits a search, and why, in one sentence.

The rules follow ``benchmarks/strategies/nb201_tabular.py`` (NAS-Bench-201, CIFAR-10, 20 seeds): enumerate
a space no larger than the budget; use a gradient-based strategy only when the space is a cell space,
far too large to sample (on NAS-Bench-201's CIFAR-10 DARTS-style search is known to collapse, while
sampling does well; on digits, ``benchmarks/dnas/vs_sampling.py``, our DARTS searched and retrained a
2-cell NAS-Bench-201 network in a fraction of TPE's 30 trials' time, but on the chain space, even with its
weights shared across widths and kernels and 6 search epochs, it reached TPE's best validation accuracy
of 30 trials in a third of TPE's time on 2 of 5 seeds only (0.18-0.34x TPE's CPU time, validation -0.28
to +0.56 points): the chain space goes to sampling); for one objective, a Gaussian process up to 40
trials (best there: 94.11 ± 0.28 test accuracy after 40 queries, TPE 93.96, random 93.45) and TPE beyond
(best after 100 and 300 queries: 94.31 ± 0.14 and 94.37, the optimum, ahead of regularised evolution at
94.21 and 94.32); for
a latency budget judged on a ``target_device`` (its profile predicts each candidate's latency before
training), proxy-guided search whatever the space's size (the supernet's latency loss reads this machine's
lookup table, scaled to the device by one factor, so it ranks operators as this CPU does; no measurement of
dnas under a device budget exists) (``benchmarks/strategies/nb201_budgeted.py --costs latency --scores live
--strategies auto --seeds 10``, default options, 100 trials: mean regret 0.02 points over 15 device budgets,
random 0.99, at most 0.15 in 15 of 15, TPE told the same latency 11 of 15; with only the parameter count
known in advance it is not advised, as it did worse than random there); for one
objective under a budget with no target device (the latency learnt from the trials' constraints, the
parameter count known in advance), the Gaussian process up to 100 trials (20 seeds of 100 trials under the
9 budgets of the Pixel 2, Pixel 3 and Raspberry Pi 4: mean regret 0.37 points against TPE's 0.46, lower in
12 of 18 seed blocks; on the FPGA and Eyeriss both hand over alike) and TPE beyond (over the 15 budgets TPE
0.24, at most 0.15 in 8, better than random in all 15, ahead of regularised evolution 0.39, REINFORCE
0.46, NSGA-II 0.31 and proxy-guided search 0.80: README, "Search under a device latency budget"), each
handing proposing to proxy-guided search once the trials show the limit's cost to be an exact sum of
per-choice costs (``handover``: on the FPGA and Eyeriss, never on the phones); for
several objectives, multi-objective TPE (the largest hypervolume of accuracy vs FLOPs after 100, 300 and
1,000 queries, ``--pareto``) except for searches of thousands of trials: NSGA-II comes within 0.3 % of its
hypervolume by 1,000 trials at a seventh of its time per trial (3 ms vs 20 ms, and TPE's keeps growing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nas_workbench import spaces
from nas_workbench.config import AUTO_STRATEGY
from nas_workbench.metrics import COUNTED_METRICS
from nas_workbench.spaces.cell import CellSpace
from nas_workbench.strategies import _base

if TYPE_CHECKING:
    from nas_workbench.config import SearchConfig
    from nas_workbench.spaces import SearchSpace

__all__ = ["Advice", "advise", "auto_advice", "resolved_strategy"]

#: A relaxable space this many times larger than the trial budget goes to a gradient-based strategy (on
#: small relaxable spaces such as NAS-Bench-201, sampling strategies beat DARTS-style search).
RELAXATION_MIN_RATIO = 1000
#: Metrics as the plain words of `Advice.why` name them.
_PLAIN_NAMES = {
    "accuracy": "accuracy",
    "params": "parameter count",
    "flops": "FLOPs",
    "macs": "multiply-accumulates",
    "latency_ms": "latency",
    "peak_memory_mb": "memory",
    "energy_mj": "energy",
}
#: The trial count assumed when none is given.
DEFAULT_TRIALS = 100
#: At most this many trials, a Gaussian process is the most sample-efficient model.
GP_MAX_TRIALS = 40
#: Under a budget on a measured cost (learnt from the trials' constraints), a Gaussian process up to this
#: many trials: the trial count where it was measured ahead of TPE (benchmarks/strategies/README.md, "gp,
#: the default under a budget"); beyond, TPE, whose time per trial grows less with the history.
GP_MAX_BUDGETED_TRIALS = 100
#: From this many trials on, NSGA-II's flat time per trial outweighs multi-objective TPE's slight edge.
NSGA2_MIN_TRIALS = 5000


@dataclass(frozen=True)
class Advice:
    """A recommended strategy and the reason, one sentence with its evidence (the CLI prints it, the
    study stores it); ``why`` says it in plain words, as a clause that follows "because" (the widget
    shows "Auto runs tpe because ..." and the reason as its tooltip)."""

    strategy: str
    reason: str
    why: str

    def __str__(self) -> str:
        return f"{self.strategy}: {self.reason}"


def advise(
    space: SearchSpace,
    objectives: Sequence[str],
    budget: Mapping[str, float | str] | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    target_device: str | None = None,
) -> Advice:
    """Recommend a registered strategy for searching ``space``.

    Args:
        space: The search space (its size and whether it is `relaxable` matter).
        objectives: The metrics optimised ("accuracy", "latency_ms", ...).
        budget: Hardware limits (metric → limit); with limits, a constraint-aware strategy is chosen.
        n_trials: Trials the search may run (None: unknown, bounded by ``timeout`` or not at all).
        timeout: Wall-clock limit in seconds; with no trial count it means the count is unknown.
        target_device: The device profile a latency budget is judged by (`SearchConfig.target_device`):
            its predicted latency is known before any training, so one objective under a latency budget
            goes to "proxy_guided", which filters candidates by it exactly.

    Returns:
        An `Advice` naming a strategy from `nas_workbench.strategies.list()` and why.
    """
    size = space.size()
    several = len(objectives) > 1
    limits = (
        f", and it learns from over-budget trials where the {', '.join(budget)} limit binds" if budget else ""
    )
    trials = f"{n_trials} trials" if n_trials is not None else _unknown_trials(timeout)
    goals = " and ".join(_PLAIN_NAMES.get(metric, metric) for metric in objectives)
    limited = " and ".join(_PLAIN_NAMES.get(metric, metric) for metric in budget or {})
    limit = "limits" if budget and len(budget) > 1 else "limit"
    avoid = f", and it avoids networks like those over the {limited} {limit}" if limited else ""

    if n_trials is not None and size <= n_trials:
        return Advice(
            "grid",
            f"the {space.name!r} space has only {size:,} architectures, no more than the {n_trials} trials, "
            "so trying each once is guaranteed to find the best.",
            f"the space has only {size:,} architectures, no more than the {n_trials} trials: trying each one "
            "is sure to find the best",
        )
    gradient = [
        name
        for name in _base.list()
        if _base.get(name).relaxation and (_base.get(name).multi_objective or not several)
    ]
    cheap_supernet = space.relaxable and isinstance(space, CellSpace)  # one op per edge: measured to win
    relax = cheap_supernet and gradient and size >= RELAXATION_MIN_RATIO * (n_trials or DEFAULT_TRIALS)
    if target_device is not None and budget and "latency_ms" in budget and not several:
        # before the supernet: its latency loss reads this machine's lookup table, scaled towards the
        # profile's predictions by one factor (`HardwarePenalty.correction`), so it ranks operators as
        # this CPU does; the profile's own prediction filters proxy-guided search's candidates exactly
        not_gradient = (
            f", where {gradient[0]}'s latency loss would rank operators by this machine's lookup table, "
            "scaled to the device by one factor"
            if relax
            else ""
        )
        return Advice(
            "proxy_guided",
            f"the latency budget is judged by the {target_device!r} profile's prediction, known before any "
            "training, so proxy-guided search drops every candidate over it and trains the best-ranked of "
            "the rest (NAS-Bench-201 under 15 device latency budgets, 100 trials, 10 seeds: mean regret "
            f"0.02 points, better than random search in all 15, whose mean was 0.99){not_gradient}.",
            f"the latency on {target_device!r} is predicted before any training, so it skips every network "
            "over the budget and trains only the most promising of the rest",
        )
    if relax:
        return Advice(
            gradient[0],
            f"the {space.name!r} space has {size:,} architectures, far more than {trials} can sample, and a "
            "continuous relaxation: one supernet trained by gradient descent weighs them all for the cost "
            "of a few trainings.",
            f"the space's {size:,} architectures are far too many to try one at a time: it trains one large "
            "network holding them all and keeps the best choice at each step",
        )
    if several:
        if n_trials is not None and n_trials >= NSGA2_MIN_TRIALS:
            population = _base.get("nsga2").options["population_size"].default
            return Advice(
                "nsga2",
                f"{trials} give NSGA-II {n_trials // population} generations of {population}: its Pareto "
                f"front is within 0.3 % of TPE's by 1,000 trials, at a seventh of TPE's time per trial, "
                f"which keeps growing with the history{limits}.",
                f"over {trials} this evolutionary search finds trade-offs between {goals} as good as TPE's, "
                f"with far less work between trials{avoid}",
            )
        return Advice(
            "tpe",
            f"with {trials} for {len(objectives)} objectives, multi-objective TPE spreads the widest Pareto "
            f"front (the largest hypervolume on NAS-Bench-201 up to 1,000 queries){limits}.",
            f"it learns from the finished trials which choices pay off and spreads its picks along the whole "
            f"trade-off between {goals}{avoid}",
        )
    exact = (
        ", and once the trials show each limit's cost to be an exact sum of per-choice costs it hands "
        "proposing to proxy-guided search, told that cost as a known one"
        if budget
        else ""
    )
    exact_why = (
        ", and once the trials show the networks' cost exactly it tries the most promising of those within "
        "the limit"
        if budget
        else ""
    )
    learnt = [metric for metric in budget or {} if metric not in COUNTED_METRICS]  # from the constraints
    if learnt and n_trials is not None and n_trials <= GP_MAX_BUDGETED_TRIALS:
        return Advice(
            "gp",
            f"with {trials} under a {' and '.join(_PLAIN_NAMES.get(m, m) for m in learnt)} limit learnt from "
            "the trials, a Gaussian process ranking candidates by expected improvement and their chance of "
            "fitting makes the most of each trial (NAS-Bench-201 under the Pixel 2, Pixel 3 and Raspberry Pi "
            f"4 latency budgets, 100 trials, 20 seeds: mean regret 0.37 points against TPE's 0.46){exact}.",
            f"with {trials} it fits a model of the results so far to make each new trial count{avoid}"
            f"{exact_why}",
        )
    if n_trials is not None and n_trials <= GP_MAX_TRIALS:
        return Advice(
            "gp",
            f"{trials} is a small budget, where a Gaussian process makes the most of each trial (the best "
            f"strategy on NAS-Bench-201 up to 40 queries){limits}.",
            f"with only {trials} it fits a model of the results so far to make each new trial count{avoid}",
        )
    return Advice(
        "tpe",
        f"with {trials}, multivariate TPE learns which decisions matter and finds the best architectures "
        f"(the best strategy on NAS-Bench-201 after 100 and 300 queries){limits}{exact}.",
        f"with {trials} it learns from the finished trials which choices give the best {goals}{avoid}"
        f"{exact_why}",
    )


def _unknown_trials(timeout: float | None) -> str:
    return (
        f"as many trials as {timeout:g} s allow" if timeout is not None else "an open-ended number of trials"
    )


def auto_advice(config: SearchConfig) -> Advice | None:
    """For a config with ``strategy="auto"`` (the default), the advisor's recommendation for its space,
    objectives, budget, trials, timeout and target device: the strategy a search of it runs, printed
    and stored with the study; None when the config names its strategy."""
    if config.strategy != AUTO_STRATEGY:
        return None
    space = spaces.get(config.space, **config.space_options)
    return advise(
        space, config.objectives, config.budget, config.n_trials, config.timeout, config.target_device
    )


def resolved_strategy(config: SearchConfig) -> str:
    """The strategy a search of ``config`` runs: the one it names, or the advisor's for "auto"."""
    advice = auto_advice(config)
    return config.strategy if advice is None else advice.strategy
