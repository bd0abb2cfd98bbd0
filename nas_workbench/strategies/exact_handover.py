"""`ExactHandover`: TPE or GP under a learnt budget, proxy-guided search proposing once the budget is exact.

With no target device, a latency budget is learnt from the trials' constraints. On a device whose latency
is measurement noise about a sum of per-operation costs (a phone, a Raspberry Pi) TPE with the feasibility
model does best, and proxy-guided search under a learnt limit spends its trials over budget. On a device
whose latency is that sum exactly (NAS-Bench-201's FPGA and Eyeriss) the learnt limit is as good as a
target device's predicted latency, and there proxy-guided search's twins-first ranking finds the single
best cell at the budget where TPE misses it (Eyeriss 30th: `benchmarks/strategies/README.md`, "The bound on
10 seeds and all 15 budgets"). So each trial asks whether every constraint is exact on the trials so far
(`ExactConstraints`: a least-squares fit verified leave-one-out); while not, TPE (or GP) proposes as it
does alone; once so, a `ProxyGuidedSampler` proposes, told each candidate's predicted constraints as
counted costs with a limit of 1 (the constraints are fractions of the limit), as it is told a target
device's latency. The decision is taken afresh for each trial from the study alone, so a resumed study and
several workers decide alike, and a trial that breaks the fit hands proposing back to the first sampler.
A budget on counted costs alone (parameters, FLOPs, MACs) is not handed over: such a limit is exact by
construction and TPE already judges it exactly (`exact_limits`); the hand-over is measured only where a
measured cost turned out exact.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from nas_workbench import _compat
from nas_workbench.metrics import COUNTED_METRICS
from nas_workbench.strategies.exact_constraints import EXACT_TOLERANCE, ExactConstraints
from nas_workbench.strategies.feasibility import FeasibilityFilter, constrained_trials
from nas_workbench.strategies.feasibility_model import LIMIT_TOLERANCE
from nas_workbench.strategies.proxy_guided import ProxyGuidedSampler

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec
    from nas_workbench.strategies.pool import Estimator

__all__ = ["ExactHandover"]

#: The exact predictions are rounded to this fraction of the limit (a tenth of `EXACT_TOLERANCE`, within
#: which the fit is verified): candidates of one cost (NAS-Bench-201's Eyeriss has hundreds at each
#: latency) tie in the ranking, as they do when the latency is told, instead of being ordered by float
#: noise (different operation counts may sum to the same cost). Unrounded, Eyeriss 30th scored 0.09
#: instead of 0.05 (10 seeds; benchmarks/strategies/README.md, "The default hands over").
_GRAIN = EXACT_TOLERANCE / 10


class ExactHandover(BaseSampler):
    """Proposes with ``first`` until every constraint is exact on the trials, then with proxy-guided search.

    Args:
        first: The sampler while a constraint is not exact (TPE with its feasibility model).
        space: The search space (proxy-guided search's pool is drawn from it).
        costs: The candidates' counted costs (`SamplerContext.costs`), ranked with the exact constraints.
        scores: Their zero-cost scores (`SamplerContext.scores`).
        seed: Seed of proxy-guided search's draws.
        fixed: Decisions ``space`` holds at one value (`SamplerContext.fixed_choices`): the exact fit needs
            no cost for their other choices (`ExactConstraints.fit`).
    """

    def __init__(
        self,
        first: BaseSampler,
        space: SearchSpace,
        costs: Estimator | None = None,
        scores: Estimator | None = None,
        seed: int | None = None,
        fixed: Mapping[str, Any] | None = None,
    ) -> None:
        self.first = first
        self.space = space
        self.costs = costs
        self.scores = scores
        self.seed = seed
        self.fixed = dict(fixed or {})
        self._then: ProxyGuidedSampler | None = None
        self._exact: ExactConstraints | None = None
        self._last_exact: ExactConstraints | None = None
        self._fitted: tuple[Any, ...] | None = None
        self._serving: dict[int, BaseSampler] = {}
        self._lock = threading.Lock()

    def exact(self, study: Study, trial: FrozenTrial) -> ExactConstraints | None:
        """The exact fit of the study's profiled trials but ``trial`` (None while a constraint is not
        exact, or when every constraint is a counted cost: module docstring), refitted only when new trials
        have constraints."""
        trials = constrained_trials(study, exclude=trial.number)
        key = (study.study_name, *(t.number for t in trials))
        if self._fitted != key:
            fit = ExactConstraints.fit(trials, fixed=self.fixed)
            counted = fit is not None and set(fit.names) <= set(COUNTED_METRICS)
            self._fitted, self._exact = key, None if counted else fit
            self._last_exact = self._exact or self._last_exact
        return self._exact

    def then(self) -> ProxyGuidedSampler:
        """The proxy-guided sampler that proposes once the constraints are exact (made on first use)."""
        if self._then is None:
            self._then = ProxyGuidedSampler(
                costs=self._predicted_costs,
                scores=self.scores,
                space=self.space,
                feasibility=FeasibilityFilter(),
                limits=dict.fromkeys(self._exact.names if self._exact else (), 1.0),
                seed=self.seed,
            )
        return self._then

    def _predicted_costs(self, spec: ArchSpec) -> dict[str, float]:
        """The counted costs and, named like each constraint, its exact prediction as a fraction of the
        limit (1: at it; within `LIMIT_TOLERANCE` over it counts as at it, as in the feasibility model).

        The prediction is the last exact fit's: a trial served by proxy-guided search keeps it when another
        worker's trial has broken the fit meanwhile (that trial's successors go back to ``first``)."""
        counted = dict(self.costs(spec)) if self.costs is not None else {}
        assert self._last_exact is not None  # proxy-guided search serves only once a fit was exact
        for name, value in self._last_exact.predict(dict(spec.choices)).items():
            value = float(np.round(value / _GRAIN)) * _GRAIN  # NaN stays NaN: never within budget
            counted[name] = 1.0 + (0.0 if 0.0 < value <= LIMIT_TOLERANCE else value)
        return counted

    def _sampler(self, study: Study, trial: FrozenTrial) -> BaseSampler:
        """The sampler serving ``trial``, chosen when it starts."""
        with self._lock:
            key = _compat.trial_id(trial)
            if key not in self._serving:
                exact = self.exact(study, trial) is not None
                self._serving[key] = self.then() if exact else self.first
            return self._serving[key]

    # -- the Optuna sampler protocol: each call goes to the trial's sampler ----------------------------------
    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._sampler(study, trial).before_trial(study, trial)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._sampler(study, trial).infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._sampler(study, trial).sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._sampler(study, trial).sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        sampler = self._sampler(study, trial)
        with self._lock:
            self._serving.pop(_compat.trial_id(trial), None)
        sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.first.reseed_rng()
        if self._then is not None:
            self._then.reseed_rng()
