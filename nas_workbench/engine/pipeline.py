"""The trial pipeline: sample → build → profile under budget → score → tell, one trial at a time.

Whatever produces the trials (this process, worker processes, a supernet: `nas_workbench.engine.producers`)
runs each through the same `TrialPipeline`, so every trial of every study is recorded the same way. Only
the last step differs between searches: a `Scorer` says how a network within budget is scored (trained
at the configured fidelity, handed to the user's ``evaluate``, estimated with a supernet's weights).

Per trial: the study's sampler answers the space's questions → an `ArchSpec`; the space builds the
network; it is profiled cheapest first (counted figures, then measured ones) and its budget constraints
are set (``Trial.set_constraint``); over budget, it is recorded as infeasible without being scored and
ends as pruned (`nas_workbench.engine.budget.OverBudget`): the study holds its constraints and no
objective value, so no sampler learns from a placeholder accuracy; an architecture the study already
holds is not built again but told its stored result (`nas_workbench.engine.repeats`, unless
``SearchConfig.repeats``); otherwise the scorer's figures join the profile and the objective values are
told to the study. Every step is an event; the trial's
user attributes are those `nas_workbench.engine.records` reads back.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import optuna
import torch

from nas_workbench._compat import storage_of, trial_id
from nas_workbench.config import SearchConfig
from nas_workbench.engine import events as ev
from nas_workbench.engine.budget import (
    CHEAP_METRICS,
    OverBudget,
    constraint_values,
    device_judged,
    metrics_to_profile,
    over_budget_reason,
    violations,
)
from nas_workbench.engine.preflight import Networks
from nas_workbench.engine.remeasure import settled
from nas_workbench.engine.repeats import RepeatIndex
from nas_workbench.engine.storage import StorageUnavailableError
from nas_workbench.engine.unstored import Unstored, UnstoredResults
from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.profiling import DeviceInfo, Measurement, Profile, profile
from nas_workbench.profiling.targets import DeviceProfile
from nas_workbench.spaces import SearchSpace
from nas_workbench.spec import ArchSpec
from nas_workbench.trial_attrs import record, retried_attempts

__all__ = ["Candidate", "Scorer", "TrialPipeline", "score_measurement"]

logger = logging.getLogger("nas_workbench")

#: Profiles kept in memory, most recently used first: the architectures a sampler revisits.
PROFILE_CACHE_SIZE = 1024


@dataclass(frozen=True)
class Candidate:
    """A trial's network, built and profiled: what a `Scorer` scores.

    Attributes:
        trial: The trial (for its number, its pruner and the attributes a pruned trial records).
        spec: The network's architecture.
        model: The network.
        measurements: Its hardware figures.
    """

    trial: optuna.Trial
    spec: ArchSpec
    model: torch.nn.Module
    measurements: Mapping[str, Measurement]


class Scorer(Protocol):
    """How a network within budget is scored: the last step of a trial, the one searches differ in."""

    #: Whether networks over budget are scored too (a cheap estimate such as a supernet's), rather than
    #: recorded without a score and ended as pruned (`OverBudget`).
    scores_infeasible: bool

    def score(self, candidate: Candidate) -> Mapping[str, Measurement]:
        """The figures of the candidate's model (at least "accuracy" when it is an objective), labelled;
        raise `optuna.TrialPruned` to stop a trial early (after recording what it reached)."""
        ...


class TrialPipeline:
    """Runs trials of one search: every producer's trials pass through it.

    Args:
        config: The search's settings, relative limits resolved.
        space: The search space.
        networks: How the search's networks are built and profiled (input shape, classes, ...).
        emit: Where the trial's events go.
        study_name: The study's name, carried by every event.
        worker: ``"host:pid"`` of this process, recorded with every trial.
        target_device: The device profile latency is predicted from (None: this machine's figures).
    """

    def __init__(
        self,
        config: SearchConfig,
        space: SearchSpace,
        networks: Networks,
        emit: ev.Emit,
        *,
        study_name: str,
        worker: str,
        target_device: DeviceProfile | None = None,
    ) -> None:
        self.config, self.space, self.networks = config, space, networks
        self.emit, self.study_name, self.worker = emit, study_name, worker
        self.target_device = target_device
        self._profiles: OrderedDict[str, tuple[dict[str, Measurement], DeviceInfo]] = OrderedDict()
        self._repeats = RepeatIndex()
        self._unstored = UnstoredResults(study_name)

    def objective(self, scorer: Scorer, reuse: bool = True) -> Callable[[optuna.Trial], list[float]]:
        """An Optuna objective that runs a trial through the pipeline, scored by ``scorer``; a trial that
        fails records why before the error goes on to the scheduler.

        Args:
            scorer: How a network within budget is scored.
            reuse: Tell a repeated architecture its stored result instead of scoring it again (unless the
                config asks for repeats); False where each score is new (a supernet's, epoch by epoch).
        """

        def run(trial: optuna.Trial) -> list[float]:
            try:
                return self.run_trial(trial, scorer, reuse=reuse and not self.config.repeats)
            except (optuna.TrialPruned, StorageUnavailableError):  # not the trial's fault: nothing to record
                raise
            except Exception as error:
                reason = f"{type(error).__name__}: {error}"
                record(trial, status="failed", reason=reason)
                # the text, not the error: a log record that kept it (pytest's, a notebook's handler) would
                # keep its traceback's frames and the trial's tensors, on a GPU too
                logger.warning("trial %d failed: %s", trial.number, reason)
                raise

        return run

    def run_trial(self, trial: optuna.Trial, scorer: Scorer, reuse: bool = True) -> list[float]:
        """Sample, build, profile, score ``trial``; its objective values, to be told to the study
        (``reuse``: those of an earlier trial of the same architecture, if the study holds one)."""
        config, space = self.config, self.space
        started = time.perf_counter()
        spec = space.sample(trial)
        arch, summary = space.format(spec), space.summary(spec)
        record(trial, spec=spec.to_dict(), arch=arch, summary=summary, worker=self.worker)
        self.emit(ev.TrialStarted(self.study_name, number=trial.number, spec=spec.to_dict(), arch=arch,
                                  summary=summary))  # fmt: skip
        reused = self._repeats.reuse(trial, spec) if reuse else None
        if reused is not None:  # an architecture the study holds: its result, no training
            return reused
        kept = self._kept_result(trial, spec)
        if kept is not None:  # the retry of an attempt cut off from the storage after its evaluation
            return kept

        torch.manual_seed(config.seed * 1_000_003 + trial.number)
        networks = self.networks
        model = space.build(spec, networks.input_shape, networks.num_classes,
                            width_multiplier=networks.width_multiplier)  # fmt: skip

        measurements, device = self.profile(spec, model)
        record(trial, device=device.to_dict())
        limits = config.limits()
        measurements, judged = device_judged(
            spec, measurements, limits, self.target_device, config.budget_confidence
        )
        over = violations(judged, limits)
        profiled = time.perf_counter()
        constraints = constraint_values(judged, limits)
        for name, excess in constraints.items():
            trial.set_constraint(name, excess)
        metrics = {k: m.to_dict() for k, m in measurements.items()}
        self.emit(ev.TrialProfiled(self.study_name, number=trial.number, metrics=metrics, violations=over))
        record(trial, metrics=metrics)

        scored = not over or scorer.scores_infeasible
        if scored:
            measurements.update(scorer.score(Candidate(trial, spec, model, measurements)))
        records: dict[str, Any] = {"metrics": {k: m.to_dict() for k, m in measurements.items()}}
        if over:
            records["reason"] = over_budget_reason(judged, limits, over)
        records["timings"] = {"profile_s": profiled - started, "evaluate_s": time.perf_counter() - profiled}
        records["status"] = "infeasible" if over else "ok"
        values = [objective_value(name, measurements) for name in config.objectives] if scored else []
        if scored:  # kept on disk until the study holds it: the storage may be away (`unstored`)
            self._unstored.keep(trial.number, Unstored(spec.id, values, records, constraints, self.worker))
        record(trial, **records)
        if not scored:  # no objective value: the study holds the constraints, the record the reason
            raise OverBudget(records["reason"])
        return values

    def _kept_result(self, trial: optuna.Trial, spec: ArchSpec) -> list[float] | None:
        """For the retry of an attempt whose process was cut off from the storage after evaluating: that
        evaluation's result, kept on this machine (`nas_workbench.engine.unstored`), recorded as its own.
        The trial's retry history is read only when this machine keeps a result of the study."""
        if not self._unstored.holds_any():
            return None
        attempts = retried_attempts(storage_of(trial.study), trial_id(trial))
        found = self._unstored.take(reversed(attempts)) if attempts else None
        if found is None or found[1].arch_id != spec.id:
            return None
        number, kept = found
        self._unstored.keep(trial.number, kept)  # now this trial's, until the study holds it
        self._unstored.forget(number)
        for name, value in kept.constraints.items():
            trial.set_constraint(name, value)
        record(trial, **{**kept.records, "evaluated_by": kept.worker})
        logger.warning("trial %d takes trial %d's result, evaluated but not stored", trial.number, number)
        return list(kept.values)

    def stored(self, number: int) -> None:
        """Trial ``number`` is finished in the study: forget its kept evaluation."""
        self._unstored.forget(number)

    def profile(self, spec: ArchSpec, model: torch.nn.Module) -> tuple[dict[str, Measurement], DeviceInfo]:
        """Profile cheapest first; a network already over a counted budget is not measured further,
        except for metrics that are objectives. Complete profiles are cached per architecture."""
        config = self.config
        if spec.id in self._profiles:
            self._profiles.move_to_end(spec.id)
            measurements, device = self._profiles[spec.id]
            return dict(measurements), device
        wanted = metrics_to_profile(config.objectives, config.budget, config.profile_metrics)
        profile_model = self._profiler(spec, model)
        counted = profile_model(metrics=[m for m in wanted if m in CHEAP_METRICS])
        measurements, device = dict(counted.measurements), counted.device
        if self.target_device is not None and "latency_ms" in wanted:  # predicted for it, not measured here
            measurements["latency_ms"] = self.target_device.predict(spec)
        rest = [m for m in wanted if m not in CHEAP_METRICS and m not in measurements]
        if violations(measurements, config.limits()):
            rest = [m for m in rest if m in config.objectives]
        if rest:
            measured = profile_model(metrics=rest)
            measurements.update(measured.measurements)
            device = measured.device
            measurements = settled(
                measurements, config.limits(), lambda name: profile_model(metrics=[name]).measurements[name]
            )
        if set(wanted) <= set(measurements):
            self._profiles[spec.id] = (dict(measurements), device)
            if len(self._profiles) > PROFILE_CACHE_SIZE:  # a long search must not grow
                self._profiles.popitem(last=False)
        return measurements, device

    def _profiler(self, spec: ArchSpec, model: torch.nn.Module) -> functools.partial[Profile]:
        """`profile` of ``model`` as the config says trials are profiled; give it the metrics."""
        config = self.config
        return functools.partial(
            profile, model, input_shape=self.networks.input_shape, device=config.device,
            method=config.profiling_method, batch_size=config.latency_batch_size, threads=config.threads,
            space=spec.space,  # the lookup table keeps a fitted correction per space
        )  # fmt: skip

    def measure(self, spec: ArchSpec, metrics: Sequence[str]) -> dict[str, Measurement]:
        """``metrics`` of ``spec``'s network, profiled as a trial's are (the latency a named target device
        is predicted to have), outside any trial: for strategies that check candidates before proposing."""
        networks = self.networks
        model = self.space.build(spec, networks.input_shape, networks.num_classes,
                                 width_multiplier=networks.width_multiplier)  # fmt: skip
        found: dict[str, Measurement] = {}
        if self.target_device is not None and "latency_ms" in metrics:
            found["latency_ms"] = self.target_device.predict(spec)
        rest = [m for m in metrics if m not in found]
        if rest:
            found.update(self._profiler(spec, model)(metrics=rest).measurements)
        return found


def objective_value(name: str, measurements: Mapping[str, Measurement]) -> float:
    """The value of objective ``name`` among ``measurements`` (an error when missing or NaN)."""
    if name not in measurements:
        raise NasWorkbenchError(f"objective {name!r} was not measured")
    value = measurements[name].value
    if value != value:  # NaN: Optuna would fail the trial with a vaguer message
        raise FloatingPointError(f"objective {name!r} is NaN")
    return value


def score_measurement(name: str, value: float, source: str) -> Measurement:
    """A score (accuracy or a user metric) as a labelled `Measurement`: a fraction for accuracies."""
    unit = "fraction" if name.endswith("accuracy") else ""
    return Measurement(value=float(value), unit=unit, method="measured", source=source)
