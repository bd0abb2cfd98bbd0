"""The first trials of a budget-aware search in a nested space under a latency budget only trials measure.

A user's own space is often nested like `DepthSpace` (1-3 layers, each of its own width): most of its
architectures are the deepest ones, while a budget set as a quantile of random architectures (drawn
decision by decision, as `SearchSpace.random` draws them) is met by about as large a share of those draws
as the quantile says. Before any architecture is profiled only its parameter count is known, and in such a
space the latency follows the depth more than the parameters (the lead's wine MLP on a CPU).
"""

from __future__ import annotations

import itertools
from typing import Any

import optuna
from torch import nn

from nas_workbench import strategies
from nas_workbench.engine.budget import constraint_values
from nas_workbench.profiling import Measurement
from nas_workbench.spaces import NetworkShape, SearchSpace, Suggester
from nas_workbench.spec import ArchSpec

WIDTHS = (16, 32, 64, 128)


class DepthSpace(SearchSpace):
    """1 to 3 layers, each of one of four widths, and one of two activations: 168 architectures, 128 of
    them three layers deep."""

    name = "depth3"

    def define(self, suggester: Suggester) -> dict[str, Any]:
        layers = suggester.suggest_categorical("layers", (1, 2, 3))
        choices: dict[str, Any] = {"layers": layers}
        for i in range(layers):
            choices[f"width{i}"] = suggester.suggest_categorical(f"width{i}", WIDTHS)
        choices["activation"] = suggester.suggest_categorical("activation", ("relu", "gelu"))
        return choices

    def assemble(self, spec: ArchSpec, shape: NetworkShape) -> nn.Module:
        return nn.Linear(1, shape.num_classes)

    def size(self) -> int:
        return 2 * (4 + 4**2 + 4**3)


def widths(spec: ArchSpec) -> list[int]:
    return [spec.choices[f"width{i}"] for i in range(spec.choices["layers"])]


def params(spec: ArchSpec) -> float:
    """Weights of 13 inputs through the layers to 3 classes (what the engine counts before training)."""
    sizes = [13, *widths(spec), 3]
    return float(sum(a * b for a, b in itertools.pairwise(sizes)))


def latency(spec: ArchSpec) -> float:
    """Mostly a fixed cost per layer, a little per unit, more for GELU: a small network on a CPU."""
    per_layer = 1.2 if spec.choices["activation"] == "gelu" else 1.0
    return spec.choices["layers"] * per_layer + 0.002 * sum(widths(spec))


def run(strategy: str, seed: int, trials: int, limit: float) -> list[bool]:
    """Drive a ``strategy`` as the engine does (the latency constraint set once the network is profiled,
    an over-budget one told 0.0 untrained); per trial, whether it was within ``limit``."""
    space = DepthSpace()
    sampler = strategies.make_sampler(
        strategy, seed=seed, space=space, costs=lambda s: {"params": params(s)}, limits={"latency_ms": limit}
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    within = []
    for _ in range(trials):
        trial = study.ask()
        spec = space.sample(trial)
        measured = {"latency_ms": Measurement(latency(spec), "ms", "measured", "test")}
        for key, value in constraint_values(measured, {"latency_ms": limit}).items():
            trial.set_constraint(key, value)
        within.append(latency(spec) <= limit)
        study.tell(trial, params(spec) / 2e4 if within[-1] else 0.0)
    return within


def test_a_budgeted_search_spends_its_first_trials_where_random_draws_meet_the_budget() -> None:
    """The one-layer networks meet the budget (8 of the 168 architectures, a third of random draws):
    proxy_guided's first 8 trials, over 4 seeds, are within it at least as often as random draws are (17 of
    32), where drawing its first trials uniformly from the space (three-layer networks three times in four)
    and then the largest ones, which its feasibility model could not yet tell over budget, left 1 of 32."""
    space, limit = DepthSpace(), 1.5
    draws = [space.random(seed) for seed in range(300)]
    share = sum(latency(s) <= limit for s in draws) / len(draws)
    assert 0.25 < share < 0.4  # a budget a third of random architectures meet
    within = [sum(run("proxy_guided", seed, 8, limit)) for seed in range(4)]
    assert sum(within) >= share * len(within) * 8, within
