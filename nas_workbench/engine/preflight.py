"""What a search settles about its budget before it starts, for `SearchRun` and the widget's budget check.

Relative limits ("p30", "1.5x fastest") are resolved on this device (`nas_workbench.engine.relative`) and
every limit is checked against the space (`nas_workbench.engine.feasibility`), with networks built and
profiled exactly as the search will build and profile them (`Networks`).
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nas_workbench import spaces
from nas_workbench.config import SearchConfig
from nas_workbench.engine.budget import metrics_to_profile
from nas_workbench.engine.cancel import Cancelled, until_cancelled
from nas_workbench.engine.feasibility import (
    CHECKED_METRICS,
    COUNTED_METRICS,
    architecture_value,
    check_budget,
    check_device_budget,
    fastest_on_device,
    smallest,
)
from nas_workbench.engine.narration import narrate
from nas_workbench.engine.relative import SAMPLE_SIZE, ResolvedBudget, device_phrase, resolve_budget
from nas_workbench.engine.resolution_cache import reused_or_resolved
from nas_workbench.exceptions import ConfigError, InfeasibleBudgetError, ProfilingError
from nas_workbench.metrics import limit_text
from nas_workbench.profiling._device import resolve_device, threads_outnumber_idle_cores
from nas_workbench.profiling.drift import prepare_predictor
from nas_workbench.profiling.targets import DeviceProfile, load_device
from nas_workbench.relative_budget import parse_relative_budget
from nas_workbench.spaces import SearchSpace
from nas_workbench.spec import ArchSpec
from nas_workbench.task import Task, load_task

__all__ = [
    "Networks",
    "absolute",
    "budget_report",
    "opening_text",
    "prepare_machine",
    "resolve_limits",
]


@dataclass(frozen=True)
class Networks:
    """How a search builds and profiles its networks: input, classes, width, batch, device, method."""

    input_shape: tuple[int, ...]
    num_classes: int
    width_multiplier: float
    batch_size: int
    device: str
    method: str
    threads: int | None

    @classmethod
    def of(cls, config: SearchConfig, task: Task) -> Networks:
        """The networks of a search with ``config`` on ``task`` (its fidelity's resolution and width)."""
        resolution = config.fidelity.resolution
        shape = task.input_shape if resolution is None else (task.input_shape[0], resolution, resolution)
        return cls(
            input_shape=tuple(shape),
            num_classes=task.num_classes,
            width_multiplier=config.fidelity.width_multiplier,
            batch_size=config.latency_batch_size,
            device=config.device,
            method=config.profiling_method,
            threads=config.threads,
        )

    def settings(self) -> dict[str, Any]:
        """The keyword arguments of `architecture_value` and `check_budget` after the shape and classes."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("input_shape", "num_classes")}

    def value(self, space: SearchSpace, metric: str) -> Callable[[ArchSpec], float]:
        """``metric`` of an architecture as the search records it."""
        return architecture_value(space, metric, self.input_shape, self.num_classes, **self.settings())

    def check(
        self,
        space: SearchSpace,
        budget: Mapping[str, float],
        fixed: Mapping[str, Any],
        cancelled: Cancelled | None = None,
    ) -> None:
        """Raise `InfeasibleBudgetError` when no architecture meets a limit of ``budget`` (``cancelled``:
        asked before each network, `nas_workbench.engine.cancel`)."""
        if set(budget) & set(CHECKED_METRICS):
            check_budget(space, budget, self.input_shape, self.num_classes, fixed_choices=fixed,
                         cancelled=cancelled, **self.settings())  # fmt: skip


def resolve_limits(
    config: SearchConfig,
    space: SearchSpace,
    networks: Callable[[], Networks],
    stored: Mapping[str, Mapping[str, Any]],
    target_device: DeviceProfile | None = None,
    cancelled: Cancelled | None = None,
) -> dict[str, ResolvedBudget]:
    """The relative limits of ``config`` resolved: as ``stored`` with the study when their relative form
    is unchanged (a resume), else on this device now (``networks`` is called only then); a latency limit
    judged on ``target_device`` is resolved on that device's predicted latencies. ``cancelled`` is asked
    before each network profiled (`nas_workbench.engine.cancel`)."""
    resolved = {}
    for metric, text in config.budget.items():
        if not isinstance(text, str):
            continue
        previous = stored.get(metric)
        if previous is not None and previous.get("spec") == parse_relative_budget(metric, text).text:
            resolved[metric] = ResolvedBudget.from_dict(previous)
        elif metric == "latency_ms" and target_device is not None:
            resolved[metric] = resolve_budget(
                space, metric, text, target_device.predicted_ms,
                where=f"{target_device.name}, predicted", fixed_choices=config.fixed_choices,
            )  # fmt: skip
        elif config.profiling_method == "measured":  # kept in the profiling cache for later searches
            here = networks()
            resolve = functools.partial(_resolve_here, config, space, here, metric, text, cancelled)
            resolved[metric] = reused_or_resolved(config, here, metric, text, resolve)
        else:
            resolved[metric] = _resolve_here(config, space, networks(), metric, text, cancelled)
    return resolved


def _resolve_here(
    config: SearchConfig, space: SearchSpace, networks: Networks, metric: str, text: str,
    cancelled: Cancelled | None,
) -> ResolvedBudget:  # fmt: skip
    """``metric``'s relative limit ``text`` resolved on this device now, profiling ``networks``."""
    narrate(_resolving(config, {metric: text}))
    value = until_cancelled(networks.value(space, metric), cancelled, f"resolving budget.{metric}")
    return resolve_budget(
        space, metric, text, value, device=config.device, fixed_choices=config.fixed_choices
    )


def _resolving(config: SearchConfig, relative: Mapping[str, str]) -> str:
    """``"resolving the budget latency_ms <= p60 on this CPU by profiling 32 random networks of the space"``:
    what resolving the ``relative`` limits of ``config`` here waits for (tens of seconds on a busy 2-core
    VM), as the opening says it (`nas_workbench.engine.narration`)."""
    limits = ", ".join(f"{metric} <= {text}" for metric, text in relative.items())
    quantile = any(parse_relative_budget(m, text).quantile is not None for m, text in relative.items())
    what = f"{SAMPLE_SIZE} random networks of the space" if quantile else "the space's cheapest networks"
    return f"resolving the budget {limits} on {device_phrase(config.device)} by profiling {what}"


def opening_text(config: SearchConfig) -> str:
    """``"Opening study 'demo'"``, for a status line before the opening says its steps."""
    return f"Opening study {config.resolved_study_name()!r}"


def prepare_machine(
    config: SearchConfig, networks: Callable[[], Networks], target_device: DeviceProfile | None
) -> None:
    """Ready this machine to run trials of ``config``: check it has the device (the study may come from
    another machine), set torch's threads, and calibrate the latency lookup table (automatically if need
    be, its drift re-timed) when latency is predicted here rather than from ``target_device``'s profile;
    warn when that profile was measured at another input than the search's networks take, and when
    latency is timed here on more torch threads than the cores other processes leave idle."""
    import torch

    if target_device is not None:
        _warn_other_input(target_device, networks().input_shape)
    try:
        resolve_device(config.device)
    except ProfilingError as error:
        raise ConfigError("device", config.device, f"a device this machine has ({error})") from None
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    wanted = metrics_to_profile(config.objectives, config.budget, config.profile_metrics)
    timed_on_this_cpu = (
        "latency_ms" in wanted and config.profiling_method == "measured" and target_device is None
        and config.device == "cpu"
    )  # fmt: skip
    busy = threads_outnumber_idle_cores(torch.get_num_threads()) if timed_on_this_cpu else None
    if busy:
        warnings.warn(busy, RuntimeWarning, stacklevel=2)
    if config.profiling_method == "proxy" and "latency_ms" in wanted and target_device is None:
        shape = networks().input_shape
        prepare_predictor(config.device, config.threads, shape, config.latency_batch_size, config.space)


def absolute(config: SearchConfig, resolved: Mapping[str, ResolvedBudget]) -> SearchConfig:
    """``config`` with its relative limits replaced by the values they ``resolved`` to."""
    budget = {m: resolved[m].value if m in resolved else v for m, v in config.budget.items()}
    return dataclasses.replace(config, budget=budget)


def budget_report(config: SearchConfig, data: Any = None) -> dict[str, str]:
    """Per limit of ``config`` a search checks before it starts (`CHECKED_METRICS`: latency, memory,
    params, FLOPs, MACs): what it means, in a line for the widget.

    A relative limit is resolved; then the tightest achievable value is found (the fastest or smallest
    architecture) and the limit is accepted or refused with it, as a search would refuse it when it
    starts. Loads the data and profiles networks: seconds to a minute, so call it off the UI thread.
    """
    space = spaces.get(config.space, **config.space_options)
    target = load_device(config.target_device) if config.target_device else None
    networks = Networks.of(config, load_task("digits" if data is None else data, seed=config.seed))
    resolved = resolve_limits(config, space, lambda: networks, {}, target)
    limits = absolute(config, resolved).budget
    lines: dict[str, str] = {}
    for metric in CHECKED_METRICS:
        if metric not in limits:
            continue
        limit = float(limits[metric])
        given = resolved[metric].label() if metric in resolved else limit_text(metric, limit)
        if metric == "latency_ms" and target is not None:
            lines[metric] = _device_report(space, limit, given, target, config)
            continue
        try:
            if not (metric in resolved and resolved[metric].met_when_resolved):
                networks.check(space, {metric: limit}, config.fixed_choices)
        except InfeasibleBudgetError as error:
            lines[metric] = f"unreachable: {error}"
            continue
        _, tightest, _ = smallest(space, networks.value(space, metric), fixed_choices=config.fixed_choices,
                                  time_limit_s=60.0)  # fmt: skip
        where = "" if metric in COUNTED_METRICS else f" on {device_phrase(config.device)}"  # same everywhere
        lines[metric] = (
            f"reachable: {given}; the tightest achievable{where} is about {limit_text(metric, tightest)}"
        )
    return lines


def _device_report(
    space: SearchSpace, limit: float, given: str, target: DeviceProfile, config: SearchConfig
) -> str:
    """`budget_report`'s line for a latency limit judged by a target device's profile, at the config's
    ``budget_confidence``."""
    fixed, confidence = config.fixed_choices, config.budget_confidence
    try:
        check_device_budget(space, limit, target, fixed, confidence)
    except InfeasibleBudgetError as error:
        return f"unreachable: {error}"
    _, tightest, _ = fastest_on_device(space, target, fixed, confidence=confidence)
    bound = f" (its bound at budget_confidence {confidence:g})" if confidence else ""
    return f"reachable: {given}; the tightest predicted for {target.name} is about {tightest:.3g} ms{bound}"


def _warn_other_input(target: DeviceProfile, shape: tuple[int, ...]) -> None:
    """A profile predicts the latency of networks at the input its measurements were taken at; a search
    whose networks take another (digits' 8x8 against a phone measured at 32x32) is judged by the other's
    latency, which may be what the user means (a low-resolution search for a full-resolution deployment)
    or not: said, not refused."""
    if tuple(target.input_shape) != tuple(shape):
        warnings.warn(
            f"target_device {target.name!r} predicts latency at input {list(target.input_shape)}, where it "
            f"was measured; this search's networks take {list(shape)}, so the budget judges them as "
            f"deployed at {list(target.input_shape)}. If they run on the device at {list(shape)}, fit the "
            f"profile on measurements at that input (`nas-workbench device fit ... --input-shape "
            f"{','.join(map(str, shape))}`).",
            UserWarning,
            stacklevel=2,
        )
