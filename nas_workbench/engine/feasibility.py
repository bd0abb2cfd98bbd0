"""Budgets no architecture can meet, caught before the search starts.

Counted metrics (parameters, FLOPs, MACs) depend only on the architecture, so whether any architecture of
the space fits a budget on them can be answered by building networks, without training or measuring. The
search for the smallest is a coordinate descent over the space's decisions (each decision in turn set to
the choice that counts least, until no single change helps), which works on any define-by-run space. It
stops as soon as one architecture fits (the budget is feasible: nothing to report), so a reasonable budget
costs a few network builds. When none fits, the local minimum it converges to is named as the tightest
achievable value: exact for spaces where every decision shrinks the network independently of the others
(fewer blocks, narrower layers, cheaper ops: the built-in spaces), an achievable value in any case.

Latency, memory and energy depend on the device and are not checked here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from nas_workbench.exceptions import InfeasibleBudgetError
from nas_workbench.profiling import METRICS
from nas_workbench.profiling.flops import count
from nas_workbench.spaces import SearchSpace
from nas_workbench.spec import ArchSpec

__all__ = ["COUNTED_METRICS", "check_budget", "smallest"]

logger = logging.getLogger("nas_workbench")

#: Budget metrics decided by the architecture alone.
COUNTED_METRICS = ("params", "flops", "macs")


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


def _complete(space: SearchSpace, answers: Mapping[str, Any]) -> tuple[ArchSpec, dict[str, tuple[Any, ...]]]:
    completer = _Completer(answers)
    return space.sample(completer), completer.asked


class _Counter:
    """The counted value of ``metric`` for architectures, built as the search builds them, cached by id."""

    def __init__(self, space: SearchSpace, metric: str, input_shape: Sequence[int], num_classes: int,
                 width_multiplier: float, batch_size: int) -> None:  # fmt: skip
        self.space, self.metric = space, metric
        self.input_shape, self.num_classes = tuple(input_shape), num_classes
        self.width_multiplier, self.batch_size = width_multiplier, batch_size
        self.cache: dict[str, float] = {}

    def __call__(self, spec: ArchSpec) -> float:
        if spec.id not in self.cache:
            model = self.space.build(
                spec, self.input_shape, self.num_classes, width_multiplier=self.width_multiplier
            )
            if self.metric == "params":  # what the profiler counts, without tracing a forward pass
                value = float(sum(p.numel() for p in model.parameters()))
            else:
                value = count(model, self.input_shape, self.batch_size)[self.metric].value
            self.cache[spec.id] = value
        return self.cache[spec.id]


def smallest(
    space: SearchSpace,
    metric: str,
    input_shape: Sequence[int],
    num_classes: int,
    *,
    width_multiplier: float = 1.0,
    batch_size: int = 1,
    fixed_choices: Mapping[str, Any] | None = None,
    target: float | None = None,
    time_limit_s: float = 20.0,
) -> tuple[ArchSpec, float, bool]:
    """Search ``space`` for its architecture with the least ``metric`` (a counted metric).

    Args:
        space: The search space.
        metric: "params", "flops" or "macs".
        input_shape: One input's shape (C, H, W), as the search builds networks.
        num_classes: Outputs of the classifier.
        width_multiplier: The fidelity's width multiplier (the search profiles scaled networks).
        batch_size: Batch size FLOPs and MACs are counted at.
        fixed_choices: Decisions fixed for the whole search.
        target: Stop as soon as an architecture reaches this value or less.
        time_limit_s: Give up after this long.

    Returns:
        The smallest architecture found, its value, and whether the descent converged (False when it
        stopped at ``target`` or ran out of time).
    """
    fixed = dict(fixed_choices or {})
    value_of = _Counter(space, metric, input_shape, num_classes, width_multiplier, batch_size)
    current, asked = _complete(space, fixed)
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
                candidate, candidate_asked = _complete(space, {**current.choices, name: option, **fixed})
                value = value_of(candidate)
                if value < best:
                    current, asked, best, improved = candidate, candidate_asked, value, True
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
) -> None:
    """Raise `InfeasibleBudgetError` when no architecture of ``space`` meets a counted budget limit.

    The message names the budget field, the tightest achievable value and its architecture. A check that
    runs out of time is skipped (logged), never reported as infeasible.
    """
    for metric in COUNTED_METRICS:
        if metric not in budget:
            continue
        limit = budget[metric]
        spec, value, converged = smallest(
            space, metric, input_shape, num_classes, width_multiplier=width_multiplier,
            batch_size=batch_size, fixed_choices=fixed_choices, target=limit,
        )  # fmt: skip
        if value <= limit:
            continue
        unit = METRICS[metric].unit
        if not converged:
            logger.info(
                "budget.%s: no architecture found at or under %g %s in time; not checked", metric, limit, unit
            )
            continue
        raise InfeasibleBudgetError(
            f"budget.{metric}: no architecture of the {space.name!r} space fits {limit:g} {unit}; the "
            f"tightest achievable value is {value:g} {unit} ({space.summary(spec)}). Raise "
            f"budget.{metric} to at least {value:g}, or choose space options that allow smaller networks."
        )
