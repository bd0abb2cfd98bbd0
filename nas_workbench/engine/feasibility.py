"""Budgets no architecture can meet, caught before the search starts.

Counted metrics (parameters, FLOPs, MACs) depend only on the architecture, so whether any architecture of
the space fits a budget on them can be answered by building networks, without training or measuring. The
search for the smallest is a coordinate descent over the space's decisions (each decision in turn set to
the choice that counts least, until no single change helps), which works on any define-by-run space. It
stops as soon as one architecture fits (the budget is feasible: nothing to report), so a reasonable budget
costs a few network builds. When none fits, the local minimum it converges to is named as the tightest
achievable value: exact for spaces where every decision shrinks the network independently of the others
(fewer blocks, narrower layers, cheaper ops: the built-in spaces), an achievable value in any case.

Latency and peak memory depend on the device: the same descent runs on their profiled value (measured,
or predicted by the lookup table when the search profiles by proxy), and the candidate it ends on is
measured again before a budget is refused. Each step costs a measurement (a fraction of a second for the
small networks of a search on CPU), so the descent has a longer time limit there. Energy is not checked.
A latency budget on a target device (a saved device profile) is checked on the upper bounds of the profile's
predictions at the config's ``budget_confidence``, as the search judges its trials (`check_device_budget`).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nas_workbench.engine.cancel import Cancelled, until_cancelled
from nas_workbench.exceptions import InfeasibleBudgetError
from nas_workbench.metrics import CHECKED_METRICS, COUNTED_METRICS, DEVICE_METRICS, ProfilingMethod
from nas_workbench.profiling import METRICS, profile
from nas_workbench.profiling.flops import count
from nas_workbench.profiling.targets import DeviceProfile
from nas_workbench.spaces import SearchSpace
from nas_workbench.spec import ArchSpec

__all__ = [
    "CHECKED_METRICS",
    "COUNTED_METRICS",
    "DEVICE_METRICS",
    "architecture_value",
    "check_budget",
    "check_device_budget",
    "complete_choices",
    "fastest_on_device",
    "smallest",
]

logger = logging.getLogger("nas_workbench")


#: Seconds the descent may take per metric: a count costs a network build, a measurement about a second.
_TIME_LIMIT_S = {**dict.fromkeys(COUNTED_METRICS, 20.0), **dict.fromkeys(DEVICE_METRICS, 90.0)}


class _Completer:
    """Answers a space's questions from ``answers`` (first choice when absent) and records each question."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = answers
        self.asked: dict[str, tuple[Any, ...]] = {}

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        options = tuple(choices)
        self.asked[name] = options
        answer = self.answers.get(name, options[0])
        return answer if answer in options else options[0]


def complete_choices(
    space: SearchSpace, answers: Mapping[str, Any]
) -> tuple[ArchSpec, dict[str, tuple[Any, ...]]]:
    """The architecture ``space`` builds from ``answers`` (first choices where absent), and every question
    it asked with its options."""
    completer = _Completer(answers)
    return space.sample(completer), completer.asked


def architecture_value(
    space: SearchSpace,
    metric: str,
    input_shape: Sequence[int],
    num_classes: int,
    *,
    width_multiplier: float = 1.0,
    batch_size: int = 1,
    device: str = "cpu",
    method: ProfilingMethod = "measured",
    threads: int | None = None,
) -> Callable[[ArchSpec], float]:
    """The value of ``metric`` for an architecture, as the search would record it: counted for params,
    FLOPs and MACs; profiled on ``device`` with ``method`` ("measured" or the lookup-table "proxy") for
    latency, memory and energy. Networks are built as the search builds them (the fidelity's width)."""
    shape = tuple(input_shape)
    if metric == "params":  # what the profiler counts, without tracing a forward pass nor (a planned
        params = space.params_counter(shape, num_classes, width_multiplier)  # space) building the network
        return lambda spec: float(params(spec))

    def value(spec: ArchSpec) -> float:
        model = space.build(spec, shape, num_classes, width_multiplier=width_multiplier)
        if metric in COUNTED_METRICS:
            return count(model, shape, batch_size)[metric].value
        measured = profile(model, shape, device=device, method=method, batch_size=batch_size,
                           metrics=[metric], threads=threads, space=space.name)  # fmt: skip
        return measured[metric].value

    return value


def smallest(
    space: SearchSpace,
    value: Callable[[ArchSpec], float],
    *,
    fixed_choices: Mapping[str, Any] | None = None,
    target: float | None = None,
    time_limit_s: float = 20.0,
) -> tuple[ArchSpec, float, bool]:
    """Search ``space`` for its architecture with the least ``value`` (see `architecture_value`).

    Args:
        space: The search space.
        value: Architecture → the value to minimise; called once per distinct architecture.
        fixed_choices: Decisions fixed for the whole search.
        target: Stop as soon as an architecture reaches this value or less.
        time_limit_s: Give up after this long.

    Returns:
        The smallest architecture found, its value, and whether the descent converged (False when it
        stopped at ``target`` or ran out of time).
    """
    fixed = dict(fixed_choices or {})
    cache: dict[str, float] = {}

    def value_of(spec: ArchSpec) -> float:
        if spec.id not in cache:
            cache[spec.id] = value(spec)
        return cache[spec.id]

    current, asked = complete_choices(space, fixed)
    best = value_of(current)
    deadline = time.monotonic() + time_limit_s
    improved = True
    while improved:
        improved = False
        for name, options in list(asked.items()):
            if name in fixed:
                continue
            for option in options:
                if target is not None and best <= target:
                    return current, best, False
                if time.monotonic() > deadline:
                    return current, best, False
                if option == current.choices.get(name):
                    continue
                candidate, candidate_asked = complete_choices(
                    space, {**current.choices, name: option, **fixed}
                )
                candidate_value = value_of(candidate)
                if candidate_value < best:
                    current, asked, best, improved = candidate, candidate_asked, candidate_value, True
    return current, best, True


def check_budget(
    space: SearchSpace,
    budget: Mapping[str, float],
    input_shape: Sequence[int],
    num_classes: int,
    *,
    width_multiplier: float = 1.0,
    batch_size: int = 1,
    fixed_choices: Mapping[str, Any] | None = None,
    device: str = "cpu",
    method: ProfilingMethod = "measured",
    threads: int | None = None,
    cancelled: Cancelled | None = None,
) -> None:
    """Raise `InfeasibleBudgetError` when no architecture of ``space`` meets a budget limit.

    Counted limits (params, FLOPs, MACs) are checked on counts; latency and peak memory on the values
    the search will judge trials by (``method`` on ``device``), the descent's best candidate confirmed by
    measuring it again, since the least of many noisy measurements is an optimistic one. The message names
    the budget field, the tightest achievable value and its architecture. A check that runs out of time
    is skipped (logged), never reported as infeasible. ``cancelled`` is asked before each network
    (`nas_workbench.engine.cancel`: Stop while a run opens).
    """
    for metric in CHECKED_METRICS:
        if metric not in budget:
            continue
        limit = budget[metric]
        value = functools.partial(
            architecture_value, space, metric, input_shape, num_classes,
            width_multiplier=width_multiplier, batch_size=batch_size, device=device, threads=threads,
        )  # fmt: skip
        spec, tightest, converged = smallest(
            space,
            until_cancelled(value(method=method), cancelled, f"checking budget.{metric} against the space"),
            fixed_choices=fixed_choices,
            target=limit,
            time_limit_s=_TIME_LIMIT_S[metric],
        )
        unit = METRICS[metric].unit
        if tightest > limit and not converged:
            logger.info(
                "budget.%s: no architecture found at or under %g %s in time; not checked", metric, limit, unit
            )
            continue
        how = ""
        if tightest > limit and metric in DEVICE_METRICS:
            measured = value(method="measured")(spec)
            if method == "measured":
                tightest = measured
                how = f" (measured on {device}, confirmed)"
            else:
                how = f" (predicted by the lookup table; measured on {device}: {measured:.4g} {unit})"
        if tightest <= limit:
            continue
        shown = f"{tightest:.4g}" if metric in DEVICE_METRICS else f"{tightest:g}"
        raise InfeasibleBudgetError(
            f"budget.{metric}: no architecture of the {space.name!r} space fits {limit:g} {unit}; the "
            f"tightest achievable value is {shown} {unit}{how}: {space.summary(spec)}, in the space's "
            f"notation {space.format(spec)}. Raise "
            f"budget.{metric} to at least {shown}, state it relative to this device (e.g. 'p30' or "
            f"'1.5x fastest'), or choose space options that allow smaller networks."
            if metric in DEVICE_METRICS
            else f"budget.{metric}: no architecture of the {space.name!r} space fits {limit:g} {unit}; the "
            f"tightest achievable value is {shown} {unit} ({space.summary(spec)}). Raise "
            f"budget.{metric} to at least {shown}, or choose space options that allow smaller networks."
        )


def fastest_on_device(
    space: SearchSpace,
    device: DeviceProfile,
    fixed_choices: Mapping[str, Any] | None = None,
    target: float | None = None,
    confidence: float = 0.0,
) -> tuple[ArchSpec, float, bool]:
    """`smallest` on a target ``device``'s latency as a search with ``target_device`` judges each trial:
    its profile's upper bound at ``confidence`` (0: the prediction; `DeviceProfile.upper_ms`). A
    prediction costs about what a count does."""
    return smallest(
        space,
        functools.partial(device.upper_ms, confidence=confidence),
        fixed_choices=fixed_choices,
        target=target,
        time_limit_s=_TIME_LIMIT_S["params"],
    )


def check_device_budget(
    space: SearchSpace,
    limit: float,
    device: DeviceProfile,
    fixed_choices: Mapping[str, Any] | None = None,
    confidence: float = 0.0,
) -> None:
    """Raise `InfeasibleBudgetError` when no architecture of ``space`` is predicted within a latency
    ``limit`` (ms) on a target ``device`` at ``confidence`` (`fastest_on_device`); a descent that runs
    out of time before reaching the limit refuses nothing (logged)."""
    spec, tightest, converged = fastest_on_device(space, device, fixed_choices, limit, confidence)
    if tightest <= limit:
        return
    if not converged:
        logger.info(
            "budget.latency_ms: none predicted under %g ms on %s in time; not checked", limit, device.name
        )
        return
    sure = device.judge(spec, limit, confidence)["confidence"]
    judged = f" at budget_confidence {confidence:g}" if confidence else ""
    what = f"the tightest, its {sure:.0%}-sure bound," if confidence else "the tightest predicted"
    lower = ", lower budget_confidence" if confidence else ""
    raise InfeasibleBudgetError(
        f"budget.latency_ms: no architecture of the {space.name!r} space is predicted to run within "
        f"{limit:g} ms on {device.name!r}{judged}; {what} is {tightest:.4g} ms ({device.source}): "
        f"{space.summary(spec)}, in the space's notation {space.format(spec)}. Raise budget.latency_ms to "
        f"at least {tightest:.4g}{lower}, or choose space options that allow smaller networks."
    )
