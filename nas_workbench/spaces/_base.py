"""The `SearchSpace` interface every space implements, and the suggesters that drive it.

A space is *define-by-run*: `define(suggester)` asks one categorical question per decision, in order, and
may ask different questions depending on earlier answers (a stage of depth 2 asks about two blocks, not
four). Everything else follows from that one method: sampling from an Optuna trial or at random, checking a
spec belongs to the space, mutation for evolution, and exhaustive enumeration for tests.

Spaces never import Optuna (an `optuna.Trial` satisfies `Suggester` structurally), and import torch only
to build a network (`assemble`): asking, checking, describing and counting architectures need none of it.
"""

from __future__ import annotations

import json
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from random import Random  # annotations in SearchSpace, where the method `random` shadows the module
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from nas_workbench.exceptions import ConfigError, SpaceError
from nas_workbench.spec import ArchSpec, FrozenDict

if TYPE_CHECKING:
    from torch import nn

Choice = Any  # a categorical value: str, int, float or bool


@runtime_checkable
class Suggester(Protocol):
    """What a space needs to ask its questions; `optuna.Trial` is one."""

    def suggest_categorical(self, name: str, choices: Sequence[Choice]) -> Choice: ...


class RandomSuggester:
    """Answers every question uniformly at random from a seeded generator."""

    def __init__(self, seed: int | random.Random | None = None) -> None:
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)

    def suggest_categorical(self, name: str, choices: Sequence[Choice]) -> Choice:
        return self.rng.choice(list(choices))


class ReplaySuggester:
    """Answers from a recorded set of choices; questions it has no answer for go to ``fallback``.

    With ``strict=True`` (used to validate a spec) a missing or foreign answer is an error, and answers
    that were never asked are reported through `unused`.
    """

    def __init__(
        self, choices: Mapping[str, Choice], fallback: Suggester | None = None, strict: bool = False
    ) -> None:
        self.choices = dict(choices)
        self.fallback = fallback
        self.strict = strict
        self.asked: list[str] = []

    def suggest_categorical(self, name: str, choices: Sequence[Choice]) -> Choice:
        self.asked.append(name)
        if name in self.choices:
            value = self.choices[name]
            if value in list(choices):
                return value
            if self.strict:
                raise SpaceError(f"choice {name}={value!r} is not one of {list(choices)!r}")
        elif self.strict:
            raise SpaceError(f"the architecture has no choice for {name!r} (allowed: {list(choices)!r})")
        if self.fallback is None:
            raise SpaceError(f"no answer for {name!r}")
        return self.fallback.suggest_categorical(name, choices)

    @property
    def unused(self) -> list[str]:
        """Recorded names that were never asked."""
        return sorted(set(self.choices) - set(self.asked))


@dataclass(frozen=True)
class NetworkShape:
    """What a network is built for besides its architecture.

    Attributes:
        input_shape: One input's shape (C, H, W).
        num_classes: How many classes the network tells apart.
        width_multiplier: Scales every channel count (a low-fidelity knob); 1.0 builds the network itself.
    """

    input_shape: tuple[int, ...]
    num_classes: int
    width_multiplier: float = 1.0


def parameter_count(module: nn.Module) -> int:
    """Elements of every parameter of ``module``, as the profiler counts them."""
    return sum(p.numel() for p in module.parameters())


class SearchSpace(ABC):
    """A set of architectures, defined by the questions `define` asks.

    Subclasses set `name`, `default_options`, implement `define`, `assemble` and `size`, and may override
    `validate_options`, `describe`, `parse` and `format`.

    Args:
        **options: The space's options (e.g. ``num_cells`` for "nb201"); unknown keys are an error.
    """

    name: ClassVar[str]
    default_options: ClassVar[Mapping[str, Any]] = {}
    #: Whether the space has a continuous relaxation (a supernet) for gradient-based search.
    relaxable: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.default_options))
        if unknown:
            raise ConfigError(
                f"space_options.{unknown[0]}",
                options[unknown[0]],
                f"the {self.name!r} space has options {sorted(self.default_options)}",
            )
        # Frozen as in `ArchSpec.options` (lists become tuples), so a spec's options compare equal to these.
        merged = dict(FrozenDict({**self.default_options, **options}))
        self.validate_options(merged)
        self.options: dict[str, Any] = merged

    # -- to implement ----------------------------------------------------------------------------------
    def validate_options(self, options: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Raise `ConfigError` (field ``space_options.<key>``) for an invalid option value.

        ``options`` holds every option (defaults merged in, sequences as tuples) and becomes
        ``self.options``; a space may fill in values derived from others here (a default per stage).
        """

    @abstractmethod
    def define(self, suggester: Suggester) -> dict[str, Choice]:
        """Ask this space's questions through ``suggester`` and return the choices made, by name."""

    @abstractmethod
    def assemble(self, spec: ArchSpec, shape: NetworkShape) -> nn.Module:
        """The network of ``spec``, already validated against this space, for ``shape`` (`build`'s step)."""

    @abstractmethod
    def size(self) -> int:
        """The exact number of distinct architectures in the space."""

    # -- derived ---------------------------------------------------------------------------------------
    def build(
        self,
        spec: ArchSpec,
        input_shape: Sequence[int],
        num_classes: int,
        width_multiplier: float = 1.0,
    ) -> nn.Module:
        """Build the network of ``spec`` for inputs of ``input_shape`` (C, H, W) and ``num_classes``.

        ``width_multiplier`` scales every channel count (a low-fidelity knob); 1.0 builds the network itself.
        Raises `SpaceError` when ``spec`` is not an architecture of this space.
        """
        shape = NetworkShape(tuple(input_shape), num_classes, width_multiplier)
        return self.assemble(self.validate(spec), shape)

    def params_counter(
        self, input_shape: Sequence[int], num_classes: int, width_multiplier: float = 1.0
    ) -> Callable[[ArchSpec], int]:
        """A function giving an architecture's parameter count (every parameter's elements, as the profiler
        counts them) for networks built as `build` builds them. Here each call builds the network; a space
        made of parts counts each distinct part once (`PlannedSpace`), which a search counting a pool of
        candidates before training them needs (a network build is milliseconds, a sum of parts microseconds).
        """

        return lambda spec: parameter_count(self.build(spec, input_shape, num_classes, width_multiplier))

    def spec(self, choices: Mapping[str, Choice]) -> ArchSpec:
        """Wrap ``choices`` in an `ArchSpec` of this space, checking they belong to it."""
        return self.validate(
            ArchSpec(space=self.name, choices=FrozenDict(choices), options=FrozenDict(self.options))
        )

    def sample(self, suggester: Suggester) -> ArchSpec:
        """Sample an architecture by asking ``suggester`` (an Optuna trial, a `RandomSuggester`, ...)."""
        return ArchSpec(
            space=self.name, choices=FrozenDict(self.define(suggester)), options=FrozenDict(self.options)
        )

    def random(self, seed: int | random.Random | None = None) -> ArchSpec:
        """A uniformly random answer to each question (not uniform over architectures when nested)."""
        return self.sample(RandomSuggester(seed))

    def validate(self, spec: ArchSpec) -> ArchSpec:
        """Return ``spec`` if it is an architecture of this space, else raise `SpaceError` saying why."""
        if spec.space != self.name:
            raise SpaceError(f"the architecture belongs to space {spec.space!r}, not {self.name!r}")
        if dict(spec.options) != self.options:
            raise SpaceError(
                f"the architecture was made with options {dict(spec.options)}, not {self.options}"
            )
        replay = ReplaySuggester(spec.choices, strict=True)
        self.define(replay)
        if replay.unused:
            raise SpaceError(f"the architecture has choices the space does not ask for: {replay.unused}")
        return spec

    def mutate(self, spec: ArchSpec, rng: Random) -> ArchSpec:
        """Change one decision of ``spec`` to a different value, keeping the rest.

        Decisions that the change makes newly necessary (a deeper stage's extra blocks) are drawn at random;
        ones it makes unnecessary are dropped. Used by regularised evolution.
        """
        names = sorted(spec.choices)
        for _ in range(100):
            target = rng.choice(names)
            other = _DifferentAt(target, spec.choices[target], RandomSuggester(rng))
            child = self.sample(
                ReplaySuggester({k: v for k, v in spec.choices.items() if k != target}, other)
            )
            if child != spec:
                return child
        raise SpaceError(f"no decision of {spec} can change: the space has a single architecture")

    def describe(self, spec: ArchSpec) -> list[dict[str, Any]]:
        """A table of the architecture, one row a layer or decision (for reports and the UI)."""
        return [{"decision": name, "choice": value} for name, value in spec.choices.items()]

    def summary(self, spec: ArchSpec) -> str:
        """A one-line description, for tooltips and tables."""
        return self.format(spec)

    def parse(self, text: str) -> ArchSpec:
        """Read an architecture in this space's notation (by default, the JSON of its choices or spec)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise SpaceError(
                f"{text!r} is not an architecture of {self.name!r}: its notation is a JSON object of choices "
                f"such as {self.format(self.random(0))}"
            ) from None
        if isinstance(data, dict) and "space" in data:
            return self.validate(ArchSpec.from_dict(data))
        if not isinstance(data, dict):
            raise SpaceError(f"not an architecture of {self.name!r}: expected a JSON object of choices")
        return self.spec(data)

    def format(self, spec: ArchSpec) -> str:
        """Write ``spec`` in this space's notation; `parse` reads it back."""
        return json.dumps(spec.choices.to_dict(), sort_keys=True, separators=(",", ":"))

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({options})"


class _DifferentAt:
    """A suggester that answers ``target`` with anything but ``current`` (when it has another choice)."""

    def __init__(self, target: str, current: Choice, fallback: Suggester) -> None:
        self.target, self.current, self.fallback = target, current, fallback

    def suggest_categorical(self, name: str, choices: Sequence[Choice]) -> Choice:
        if name == self.target:
            others = [c for c in choices if c != self.current]
            if others:
                return self.fallback.suggest_categorical(name, others)
        return self.fallback.suggest_categorical(name, choices)


class _TreeWalker:
    """Follows one path of the decision tree, recording where untried branches remain."""

    def __init__(self, prefix: list[int]) -> None:
        self.prefix = prefix
        self.path: list[tuple[int, int]] = []  # (index taken, number of choices)

    def suggest_categorical(self, name: str, choices: Sequence[Choice]) -> Choice:
        depth = len(self.path)
        index = self.prefix[depth] if depth < len(self.prefix) else 0
        self.path.append((index, len(choices)))
        return list(choices)[index]


def enumerate_specs(space: SearchSpace, limit: int = 100_000) -> Iterator[ArchSpec]:
    """Yield every architecture of ``space`` by walking its decision tree (for tests on small spaces)."""
    prefix: list[int] = []
    for _ in range(limit):
        walker = _TreeWalker(prefix)
        yield ArchSpec(
            space=space.name, choices=FrozenDict(space.define(walker)), options=FrozenDict(space.options)
        )
        path = walker.path
        while path and path[-1][0] + 1 >= path[-1][1]:
            path.pop()
        if not path:
            return
        prefix = [index for index, _ in path[:-1]] + [path[-1][0] + 1]
    raise SpaceError(f"{space!r} has more than {limit} architectures")
