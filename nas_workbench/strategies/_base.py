"""The strategy registry: a name → sampler factory with documented options, and `make_sampler`.

Every strategy is an Optuna sampler, so every strategy runs through the same engine, writes to the same
study and learns from the same history (a resumed study, several workers on one storage). A strategy is
registered with a one-sentence summary and its options (default and meaning); `make_sampler` rejects
unknown options with a "did you mean" and passes the study's context (seed, space, directions) to the
factory. Budgets need no option: the engine sets each trial's constraints (``Trial.set_constraint``), ends
a trial over budget as pruned with no value (never a placeholder objective), and Optuna 5's samplers read
the constraints from the trials; the learning strategies also fit a feasibility model on
them and keep their proposals out of the region it predicts far over budget (`feasibility`).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nas_workbench._registry import Registry, unknown_name_message
from nas_workbench.exceptions import ConfigError
from nas_workbench.spaces.fixed import with_fixed

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler

    from nas_workbench.config import SearchConfig
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec

__all__ = ["Option", "SamplerContext", "Strategy", "describe", "list", "make_sampler", "register"]


@dataclass(frozen=True)
class Option:
    """One option of a strategy: its default and what it does (shown by ``nas-workbench strategies``)."""

    default: Any
    doc: str


@dataclass(frozen=True)
class SamplerContext:
    """What a factory knows about the study its sampler will serve.

    Attributes:
        seed: Seed of every random draw (None: fresh randomness).
        space: The search space, for strategies that enumerate or mutate architectures.
        directions: The study's directions, one per objective ("maximize" / "minimize").
        costs: An architecture's counted costs before it is trained or measured (name → value, e.g.
            ``{"params": 1.2e6}``, or a target device's predicted latency): what the engine knows of a
            candidate for free, so a strategy can tell which candidates fit a budget before proposing
            one. A cost named ``predicted_<metric>`` (a latency budget on this machine: its lookup
            table's prediction) only predicts the measured constraint ``<metric>``
            (`nas_workbench.strategies.predicted_costs`). None: the strategy learns costs only from the
            trials' constraints.
        scores: An architecture's zero-cost proxy scores (name → value, higher is better), computed
            on demand and cached (the engine gives data-free synflow, counted FLOPs and, in a cell
            space, live FLOPs): estimators of quality a strategy may rank candidates with before
            training any. None: no proxies.
        limits: The budget's absolute limits (metric → limit in its unit, e.g. ``{"latency_ms": 6.0}``),
            known to the engine before any trial: with ``costs`` naming the same metric (a target
            device's predicted latency, the parameter count), a strategy can rule out every candidate
            over budget from its first trial. None: the strategy learns the limits from the trials'
            constraints (a sampler used alone with Optuna).
        fixed_choices: Decisions every trial holds at one value (``SearchConfig.fixed_choices``; ``space``
            asks each with that value alone): a model of the trials' costs needs none for their other
            choices, which no candidate makes (`exact_constraints`).
    """

    seed: int | None = None
    space: SearchSpace | None = None
    directions: tuple[str, ...] = ("maximize",)
    costs: Callable[[ArchSpec], Mapping[str, float]] | None = None
    scores: Callable[[ArchSpec], Mapping[str, float]] | None = None
    limits: Mapping[str, float] | None = None
    fixed_choices: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Strategy:
    """A registered search strategy.

    Attributes:
        name: The registry name.
        factory: ``factory(context, **options) -> BaseSampler``; options arrive complete (defaults filled).
        summary: One sentence: what the strategy does and when it shines.
        options: Option name → `Option`.
        multi_objective: Whether it searches several objectives at once (else it refuses them).
        relaxation: Whether it searches a continuous relaxation (a supernet), so it needs a space that
            is `relaxable` (gradient-based strategies; the factory refuses other spaces, saying why).
        producer: ``"module:Class"`` of the `nas_workbench.engine.producers.TrialProducer` that produces
            the strategy's trials itself (a supernet search), built with no arguments when a search
            starts; None: the engine's producers run trials sampled by the strategy's sampler.
        check_config: Checks the options against the rest of a config (the trials they split), raising
            `ConfigError`; run when a config is validated, before any study exists. None: nothing to check.
    """

    name: str
    factory: Callable[..., BaseSampler]
    summary: str
    options: Mapping[str, Option] = field(default_factory=dict)
    multi_objective: bool = True
    relaxation: bool = False
    producer: str | None = None
    check_config: Callable[[SearchConfig], None] | None = None


_REGISTRY: Registry[Strategy] = Registry("strategy", definition=lambda strategy: strategy.factory)


def register(strategy: Strategy) -> Strategy:
    """Make ``strategy`` available to `make_sampler` under its name."""
    _REGISTRY.add(strategy.name, strategy)
    return strategy


def list() -> builtins.list[str]:  # the public API name in DESIGN.md, like spaces.list
    """Names of the registered strategies."""
    return _REGISTRY.names()


def get(name: str) -> Strategy:
    """The registered `Strategy` called ``name`` (`UnknownNameError` with a suggestion otherwise)."""
    return _REGISTRY.get(name)


def describe(name: str) -> str:
    """One paragraph about strategy ``name``: its summary, then each option with its default."""
    strategy = _REGISTRY.get(name)
    text = f"{strategy.name}: {strategy.summary}"
    if not strategy.multi_objective:
        text += " Single-objective only."
    if strategy.options:
        text += " Options: " + "; ".join(
            f"{key} (default {option.default!r}): {option.doc}" for key, option in strategy.options.items()
        )
        text += "."
    return text


def make_sampler(
    name: str,
    *,
    seed: int | None = None,
    space: SearchSpace | None = None,
    directions: Sequence[str] = ("maximize",),
    costs: Callable[[ArchSpec], Mapping[str, float]] | None = None,
    scores: Callable[[ArchSpec], Mapping[str, float]] | None = None,
    limits: Mapping[str, float] | None = None,
    fixed_choices: Mapping[str, Any] | None = None,
    **options: Any,
) -> BaseSampler:
    """Build the Optuna sampler of strategy ``name``.

    Args:
        name: A registered strategy (see `list`).
        seed: Seed of every random draw; the same seed and history give the same architectures.
        space: The search space (needed by "grid" to check its size; "evolution" uses its mutation).
        directions: The study's directions; strategies that cannot handle several refuse them here.
        costs: An architecture's counted costs before training (see `SamplerContext.costs`); the
            budget-aware strategies use them, with ``space``, to predict which candidates fit a budget.
        scores: An architecture's zero-cost proxy scores (see `SamplerContext.scores`); "proxy_guided"
            ranks its pool with them.
        limits: The budget's absolute limits (see `SamplerContext.limits`); "proxy_guided" rules out
            candidates over them before its first trial.
        fixed_choices: Decisions held for every trial (``SearchConfig.fixed_choices``): the strategy draws,
            mutates and judges its candidates in ``space`` with them held (`spaces.with_fixed`), so what it
            judges within budget is what the trial runs, and each trial's answer is the fixed value
            (`fix_choices`).
        **options: The strategy's options (see `describe`); unknown ones are a `ConfigError`.

    Returns:
        A fresh `optuna.samplers.BaseSampler`.
    """
    strategy = _REGISTRY.get(name)
    for key, value in options.items():
        if key not in strategy.options:
            raise ConfigError(
                f"strategy_options.{key}",
                value,
                unknown_name_message("option", key, [*strategy.options], f"of strategy {name!r}"),
            )
    directions = tuple(directions)
    if len(directions) > 1 and not strategy.multi_objective:
        several = [n for n in list() if _REGISTRY.get(n).multi_objective]
        raise ConfigError(
            "strategy",
            name,
            f"a strategy for {len(directions)} objectives ({', '.join(several)}); {name!r} optimises one",
        )
    merged = {key: option.default for key, option in strategy.options.items()} | options
    fixed = dict(fixed_choices or {})
    held = None if space is None else with_fixed(space, fixed)
    context = SamplerContext(
        seed=seed,
        space=held,
        directions=directions,
        costs=costs,
        scores=scores,
        limits=limits,
        fixed_choices=fixed,
    )
    from nas_workbench.strategies.prior import fix_choices  # Optuna's, when a sampler is made (light imports)

    return fix_choices(strategy.factory(context, **merged), fixed)


def check_int(option: str, value: Any, low: int, high: int | None = None) -> int:
    """Return ``value`` if it is an integer in [low, high], else raise `ConfigError` naming the option."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ConfigError(f"strategy_options.{option}", value, f"an integer {bound}")
    return value


def check_float(option: str, value: Any, low: float, high: float) -> float:
    """Return ``value`` as a float if it lies in [low, high], else raise `ConfigError` naming the option."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"strategy_options.{option}", value, f"a number in [{low}, {high}]")
    return float(value)


def check_choice(option: str, value: Any, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise `ConfigError` with a suggestion."""
    if value not in allowed:
        raise ConfigError(
            f"strategy_options.{option}", value, unknown_name_message(option, value, [*allowed])
        )
    return value
