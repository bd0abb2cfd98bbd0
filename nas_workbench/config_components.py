"""Checks of a `SearchConfig` that build its components: the space, the pruner and the sampler.

Building each once turns their own complaints about their options (an empty space, an unknown strategy
option, an architecture not of the space) into `ConfigError`s when the config is made, rather than when
the search starts. They run after the plain checks of `nas_workbench.config_validation` passed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from nas_workbench._registry import unknown_name_message
from nas_workbench.config_validation import collect_errors
from nas_workbench.exceptions import ConfigError
from nas_workbench.relative_budget import GRAMMAR, parse_relative_budget

if TYPE_CHECKING:
    from nas_workbench.config import SearchConfig

__all__ = ["check_pruner", "validate_components"]

T = TypeVar("T")


def _built(name: str, value: Any, build: Callable[[], T], allowed: str = "valid options") -> T:
    """``build()``, turning a component's unexpected complaint about its options into a `ConfigError`."""
    try:
        return build()
    except ConfigError:
        raise
    except Exception as error:
        raise ConfigError(name, value, f"{allowed} ({type(error).__name__}: {error})") from None


class _Recorder:
    """A suggester that answers fixed decisions as fixed, others with choice ``pick``, and records each
    question's choices in ``questions``."""

    def __init__(self, fixed: Mapping[str, Any], pick: int, questions: dict[str, tuple[Any, ...]]) -> None:
        self.fixed, self.pick, self.questions = fixed, pick, questions

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        options = tuple(choices)
        self.questions[name] = options
        value = self.fixed.get(name)
        return value if value in options else options[self.pick]


def validate_components(config: SearchConfig) -> None:
    """Build the space, the pruner and the sampler once, so that their own checks of their options
    run now (an empty space, an unknown strategy option) rather than when the search starts."""
    from nas_workbench import spaces

    space = _built(
        "space_options", config.space_options, lambda: spaces.get(config.space, **config.space_options)
    )
    if space.size() < 1:
        raise ConfigError(
            "space_options", config.space_options, "options that leave at least one architecture"
        )
    references = {
        f"budget.{metric}": (limit, parse_relative_budget(metric, limit).reference)
        for metric, limit in config.budget.items()
        if isinstance(limit, str)
    }
    collect_errors(
        *(
            functools.partial(
                _built,
                "initial_architectures",
                text,
                functools.partial(_initial_architecture, space, text, config.fixed_choices),
                "an architecture of the space",
            )
            for text in config.initial_architectures
        ),
        functools.partial(_check_fixed_choices, config.fixed_choices, space),
        *(
            functools.partial(
                _built,
                field,
                limit,
                functools.partial(space.parse, reference),
                f"a reference architecture of the space; {GRAMMAR}",
            )
            for field, (limit, reference) in references.items()
            if reference is not None
        ),
        functools.partial(_check_target_device, config.target_device, space),
        functools.partial(check_pruner, config),
        lambda: _built("strategy_options", config.strategy_options, lambda: _check_strategy(config, space)),
    )


def _check_strategy(config: SearchConfig, space: Any) -> None:
    """Build the sampler once (its own checks of its options), then check the options against the rest of
    the config where the strategy asks (`Strategy.check_config`: dnas's retrain_top against n_trials)."""
    from nas_workbench import strategies

    name = strategies.resolved_strategy(config)
    strategies.make_sampler(
        name, seed=config.seed, space=space, directions=tuple(config.directions), **config.strategy_options
    )
    check = strategies.get(name).check_config
    if check is not None:
        check(config)


def check_pruner(config: SearchConfig) -> None:
    """Build the pruner once, so that its own checks of its options run now."""
    from nas_workbench.engine.pruning import make_pruner

    _built(
        "pruner_options", config.pruner_options, lambda: make_pruner(config.pruner, **config.pruner_options)
    )


def _initial_architecture(space: Any, text: str, fixed_choices: Mapping[str, Any]) -> None:
    """``text`` parses as an architecture of ``space`` that keeps ``fixed_choices`` where it asks them: a
    first trial would run it as given, against decisions held "for the whole search" (a chain search with
    ``stage1.depth`` fixed to 2 trained an initial architecture of depth 1 as its trial 0)."""
    choices = space.parse(text).choices
    clashes = [
        f"{name} is {choices[name]!r}, fixed to {value!r}"
        for name, value in fixed_choices.items()
        if name in choices and choices[name] != value
    ]
    if clashes:
        raise ConfigError(
            "initial_architectures",
            text,
            f"an architecture that keeps the fixed choices ({'; '.join(clashes)})",
        )


def _check_fixed_choices(fixed_choices: Mapping[str, Any], space: Any) -> None:
    """Each fixed decision must be one the space asks, fixed to one of its choices. Decisions asked only
    in some architectures (a deeper stage's blocks) are found by walking the space twice: once taking
    every first choice, once every last."""
    questions: dict[str, tuple[Any, ...]] = {}
    for pick in (0, -1):
        space.define(_Recorder(fixed_choices, pick, questions))
    for name, value in fixed_choices.items():
        if name not in questions:
            raise ConfigError(
                f"fixed_choices.{name}", value, unknown_name_message("decision", name, sorted(questions))
            )
        if value not in questions[name]:
            raise ConfigError(f"fixed_choices.{name}", value, f"one of {list(questions[name])}")


def _check_target_device(target_device: Any, space: Any) -> None:
    """A saved device profile of this search's space and options (its name suggested when misspelt)."""
    from nas_workbench.profiling.targets import load_device
    from nas_workbench.spec import FrozenDict

    if target_device is None:
        return
    if not isinstance(target_device, str):
        raise ConfigError("target_device", target_device, "the name of a saved device profile")
    try:
        profile = load_device(target_device)
    except ConfigError as error:  # a malformed name is reported on this setting too
        raise ConfigError("target_device", target_device, error.allowed) from None
    if profile.space != space.name or FrozenDict(profile.space_options) != FrozenDict(space.options):
        raise ConfigError(
            "target_device",
            target_device,
            f"a profile fitted on this search's space {space.name!r} with options {space.options} "
            f"(it was fitted on {profile.space!r} with {profile.space_options})",
        )
