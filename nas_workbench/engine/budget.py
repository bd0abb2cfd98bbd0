"""Hardware budgets: which limits a profiled network breaks, and the constraint values Optuna learns from.

A trial over budget is not scored, so it has no objective value to tell: the engine ends it with
`OverBudget`, which Optuna records as a PRUNED trial carrying its constraints (``Trial.set_constraint``).
That is how Optuna's own samplers take an infeasible trial without a fake objective: TPE ranks a pruned
trial that breaks a constraint by its total violation, below every feasible one (c-TPE); GP and NSGA-II
fit their objective models on complete trials only. The workbench's own strategies read the constraints
(`nas_workbench.strategies.feasibility`), and its records show the trial as "infeasible", never pruned.

A latency limit on a ``target_device`` is judged by the upper bound of its profile's prediction at the
config's ``budget_confidence`` (`device_judged`), which is also the latency the strategies are told before
proposing (`CandidateCosts`), and every trial's predicted latency carries the verdict: predicted within
or over budget, and how sure (``detail["budget"]``, `nas_workbench.profiling.device_budget`). A latency
limit on this machine is measured per trial; the strategies are told this machine's lookup-table
prediction of it (`nas_workbench.engine.local_costs`), a predicted cost, not the one judged.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

import optuna

from nas_workbench.engine.remeasure import is_unstable
from nas_workbench.metrics import unit_word, value_text
from nas_workbench.profiling import METRICS, Measurement
from nas_workbench.profiling.cache import cache_dir
from nas_workbench.spaces.cell import CellSpace

if TYPE_CHECKING:
    from nas_workbench.engine.preflight import Networks
    from nas_workbench.estimation.proxy_cache import ProxyCache, ProxyScorer
    from nas_workbench.profiling.targets import DeviceProfile
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec

__all__ = [
    "CHEAP_METRICS",
    "DEFAULT_METRICS",
    "CandidateCosts",
    "CandidateScores",
    "OverBudget",
    "candidate_costs",
    "candidate_scores",
    "constraint_values",
    "device_judged",
    "metrics_to_profile",
    "over_budget_reason",
    "violations",
]

#: Metrics counted by inspecting the network, without running it: checked first, so a network over a
#: parameter or FLOPs budget is rejected before any measurement.
CHEAP_METRICS = ("params", "flops", "macs")

#: Metrics recorded for every trial unless the config says otherwise.
DEFAULT_METRICS = ("params", "flops", "macs", "latency_ms", "peak_memory_mb")


class OverBudget(optuna.TrialPruned):
    """Ends a trial whose network breaks the budget, before it is scored: the study records it as pruned,
    with its constraints set and user attributes ``status`` = "infeasible" and ``reason``, and no value."""


def violations(measurements: Mapping[str, Measurement], budget: Mapping[str, float]) -> list[str]:
    """Budget metrics whose measured value exceeds the limit (metrics not yet measured are skipped)."""
    return [
        name for name, limit in budget.items() if name in measurements and measurements[name].value > limit
    ]


def over_budget_reason(
    measurements: Mapping[str, Measurement], budget: Mapping[str, float], over: Iterable[str]
) -> str:
    """The recorded reason of an infeasible trial: each broken limit with the value that broke it (a
    target device's latency: its verdict, `device_judged`)."""
    return "over budget: " + ", ".join(
        f"{n} {measurements[n].detail['budget']['verdict']}"
        if "budget" in measurements[n].detail
        else f"{n} {_over(measurements[n], budget[n])}"
        + (" (unstable)" if is_unstable(measurements[n]) else "")
        for n in over
    )


def _over(measurement: Measurement, limit: float) -> str:
    """``"43,010 > 36,000 parameters"``, ``"0.4013 > 0.3 ms"``: a value over its limit, as tables write both
    (the reason read ``4.301e+04 > 36000 count`` in a notebook's results)."""
    unit = measurement.unit
    return f"{value_text(measurement.value, unit)} > {value_text(limit, unit)} {unit_word(unit)}"


def device_judged(
    spec: ArchSpec,
    measurements: Mapping[str, Measurement],
    budget: Mapping[str, float],
    device: DeviceProfile | None,
    confidence: float,
) -> tuple[dict[str, Measurement], dict[str, Measurement]]:
    """A trial's ``measurements`` as recorded, and as its ``budget`` judges them. With a latency limit on
    a target ``device``: the predicted latency labelled with its verdict (`DeviceProfile.judge`:
    ``detail["budget"]``, predicted within or over budget and how sure), and for the budget that latency's
    upper bound at ``confidence``. Otherwise both are ``measurements``."""
    if device is None or "latency_ms" not in budget or "latency_ms" not in measurements:
        return dict(measurements), dict(measurements)
    predicted = measurements["latency_ms"]
    verdict = device.judge(spec, budget["latency_ms"], confidence)
    labelled = dataclasses.replace(predicted, detail={**predicted.detail, "budget": verdict})
    bound = dataclasses.replace(labelled, value=verdict["upper_ms"])
    return {**measurements, "latency_ms": labelled}, {**measurements, "latency_ms": bound}


def constraint_values(
    measurements: Mapping[str, Measurement], budget: Mapping[str, float]
) -> dict[str, float]:
    """``value - limit`` per budget metric (feasible when <= 0), relative to the limit so metrics of
    different units weigh alike; a metric left unmeasured (because a cheaper one already failed) is 0."""
    return {
        name: (measurements[name].value - limit) / limit if name in measurements else 0.0
        for name, limit in budget.items()
    }


def metrics_to_profile(
    objectives: Iterable[str], budget: Mapping[str, object], extra: Iterable[str] | None = None
) -> list[str]:
    """Hardware metrics a trial needs, cheapest first: objectives, budget metrics and ``extra``
    (None: the figures every table shows: params, FLOPs, MACs, latency and peak memory)."""
    shown = DEFAULT_METRICS if extra is None else tuple(extra)
    wanted = set(shown) | set(objectives) | set(budget)
    return [name for name in METRICS if name in wanted]


def candidate_costs(
    networks: Callable[[], Networks],
    space: SearchSpace,
    target_device: DeviceProfile | None,
    confidence: float = 0.0,
    predicted: Mapping[str, Callable[[ArchSpec], float]] | None = None,
) -> CandidateCosts:
    """What a strategy may know of a candidate before it is trained or timed, to predict whether it fits
    the budget (`nas_workbench.strategies.SamplerContext.costs`); see `CandidateCosts`."""
    return CandidateCosts(networks, space, target_device, confidence, predicted)


class CandidateCosts:
    """A candidate's parameter count (a network build, no forward pass) and, when the search targets
    another device, the latency the trial will be judged by: its profile's upper bound at ``confidence``
    (`DeviceProfile.upper_ms`; 0: the prediction). With ``predicted`` (name → predictor: a latency budget
    on this machine, `nas_workbench.engine.local_costs`), the predicted costs too, each computed only when
    read (a lazy mapping), since a trace costs more than a count and the cost prior ranks thousands of
    candidates by their parameters alone.

    A budgeted search counts the parameters of a pool of up to 2,000 candidates for its cost prior
    (`nas_workbench.strategies.cost_prior`): 144 s of network builds on NAS-Bench-201 at load 12 on 2
    cores, 2 s once cached (``benchmarks/strategies/cost_prior_time.py``). So the counts are cached in
    the profiling cache directory (``costs/<space>.json``) per architecture and the networks' input
    shape, classes and width, as proxy scores are, and a second search of the space counts nothing;
    ``networks`` is called on first use, and `save` writes the file."""

    def __init__(
        self,
        networks: Callable[[], Networks],
        space: SearchSpace,
        target_device: DeviceProfile | None,
        confidence: float = 0.0,
        predicted: Mapping[str, Callable[[ArchSpec], float]] | None = None,
    ) -> None:
        self.networks = networks
        self.space = space
        self.target_device = target_device
        self.confidence = confidence
        self.predicted = dict(predicted or {})
        self._params: Callable[[ArchSpec], float] | None = None
        self._cache: ProxyCache | None = None
        self._data = ""

    def __call__(self, spec: ArchSpec) -> Mapping[str, float]:
        counted = self.counted(spec)
        if not self.predicted:
            return counted
        return _Lazy(
            counted, {name: functools.partial(predict, spec) for name, predict in self.predicted.items()}
        )

    def counted(self, spec: ArchSpec) -> dict[str, float]:
        """The candidate's counted costs (and a target device's latency), without the predicted ones."""
        if self._params is None:
            from nas_workbench.estimation.proxy_cache import ProxyCache  # torch, as the networks need

            built = self.networks()
            self._params = built.value(self.space, "params")
            self._cache = ProxyCache(cache_dir() / "costs" / f"{self.space.name}.json")
            shape = "x".join(map(str, built.input_shape))
            self._data = f"{shape}:{built.num_classes}:width{built.width_multiplier:g}"
        assert self._cache is not None  # made with the counter above
        key = self._cache.key("params", spec, self._data, 0)
        if key not in self._cache.scores:
            self._cache.scores[key] = self._params(spec)
        values = {"params": self._cache.scores[key]}
        if self.target_device is not None:
            values["latency_ms"] = self.target_device.upper_ms(spec, self.confidence)
        return values

    def save(self) -> None:
        """Write the counts (and the predictors' caches) made so far to the cache files."""
        if self._cache is not None:
            self._cache.save()
        for predict in self.predicted.values():
            if callable(save := getattr(predict, "save", None)):
                save()


class _Lazy(Mapping[str, float]):
    """Known values, and values computed on first read (then kept)."""

    def __init__(self, known: Mapping[str, float], later: Mapping[str, Callable[[], float]]) -> None:
        self._values, self._later = dict(known), dict(later)

    def __getitem__(self, name: str) -> float:
        if name not in self._values and name in self._later:
            self._values[name] = float(self._later[name]())
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._values, *(name for name in self._later if name not in self._values)])

    def __len__(self) -> int:
        return len(self._values.keys() | self._later.keys())


#: The zero-cost proxies a strategy is given for its candidates: data-free, so scoring needs no batch.
CANDIDATE_PROXIES = ("synflow", "flops")


def candidate_scores(
    networks: Callable[[], Networks], space: SearchSpace, seed: int | None
) -> CandidateScores:
    """Zero-cost estimates of a candidate's quality before it is trained
    (`nas_workbench.strategies.SamplerContext.scores`); see `CandidateScores`."""
    return CandidateScores(networks, space, seed)


class CandidateScores:
    """Data-free synflow and counted FLOPs of the network the search would build (its input shape and
    classes), initialised with the search's seed; in a cell space also ``live_flops``, the counted FLOPs
    of the cell without the ops no input-output path uses (`CellSpace.live`), which synflow also gives no
    credit but which costs one FLOP count (no forward-backward pass, and none at all for a cell without
    dead ops). Scores are cached in the profiling cache directory (``proxies/<space>.json``) per
    architecture, data and seed, so a pool of thousands is scored once across searches; ``networks`` is
    called on first use, and `save` writes the file."""

    def __init__(self, networks: Callable[[], Networks], space: SearchSpace, seed: int | None) -> None:
        self.networks = networks
        self.space = space
        self.seed = seed or 0
        self._scorer: ProxyScorer | None = None
        self._flops: ProxyScorer | None = None

    def __call__(self, spec: ArchSpec) -> dict[str, float]:
        if self._scorer is None:
            from nas_workbench.estimation.proxy_cache import ProxyCache, ProxyScorer  # torch, as the networks

            built = self.networks()
            cache = ProxyCache(cache_dir() / "proxies" / f"{self.space.name}.json")
            shape, classes = built.input_shape, built.num_classes
            self._scorer = ProxyScorer(
                self.space, CANDIDATE_PROXIES, shape, classes, seed=self.seed, cache=cache
            )
            self._flops = ProxyScorer(self.space, ("flops",), shape, classes, seed=self.seed, cache=cache)
        scores = self._scorer(spec)
        if isinstance(self.space, CellSpace):
            live = self.space.live(spec)  # the spec itself when no op is dead: its FLOPs are counted already
            assert self._flops is not None  # set with the scorer above
            scores["live_flops"] = scores["flops"] if live is spec else self._flops(live)["flops"]
        return scores

    def save(self) -> None:
        """Write the scores computed so far to the cache file."""
        if self._scorer is not None:
            self._scorer.cache.save()
