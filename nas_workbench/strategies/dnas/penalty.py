"""The hardware term of the architecture loss: weighted metrics, and targets held by dual ascent.

A metric without a target costs ``weight · E / E₀``, its expectation under the architecture weights
relative to the start, so the weight is unit-free (FBNet's multiplicative trade-off, in additive form).

A metric with a target is an equality constraint, ``s · E / target = 1``, handled by the augmented
Lagrangian method: the loss gets ``λ · g + g² / 2`` with ``g = s · E / target - 1``, and after every
architecture step the search adapts its own multiplier, ``λ += rate · g`` (dual ascent). Over the target
λ grows and pulls the expected cost down; under it λ turns negative and lets it grow, so the search aims
at the target instead of anywhere below it (a hinge ``max(0, E/target - 1)`` only ever pulls down, and
needs a λ hunted by hand); the quadratic term damps the oscillation plain dual ascent has. The final
architecture is then picked near the weights within the tolerance of the target, by measurement
(`nas_workbench.strategies.dnas.landing`).
``s`` corrects the cost model towards measurements: the ratio of the measured to the predicted cost of the
architectures derived so far (`observe`), which matters for latency, whose lookup-table prediction of a
whole network is off by tens of percent on a busy CPU while counted FLOPs and parameters are exact.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping

import torch

from nas_workbench.strategies.dnas.cost import CostModel
from nas_workbench.strategies.dnas.supernet import Weights

__all__ = ["HardwarePenalty"]

#: Measured-to-predicted ratios whose median is a metric's correction: the latest few, because the
#: architectures derived late in a search (and the landing's candidates) are the ones it is used for, and
#: their median, because one timing disturbed by another process (a ratio 2.6 where its neighbours gave
#: 1.4: nb201, nice 19, 2026-12-04 21:20) must not move it.
CORRECTION_WINDOW = 3


class HardwarePenalty:
    """``Σ weighted metrics weight · E/E₀ + Σ targeted metrics λ · (s · E/target - 1)`` (see the module).

    Args:
        models: The cost model of each penalised metric.
        weight: The weight of metrics without a target.
        targets: Target per metric (metrics absent here are weighted).
        start: The weights the search starts from, which fix ``E₀``.
        rate: Step of the dual ascent on each λ per unit of relative error.
    """

    def __init__(
        self,
        models: Mapping[str, CostModel],
        weight: float,
        targets: Mapping[str, float],
        start: Weights,
        rate: float = 0.1,
    ) -> None:
        self.models, self.weight, self.targets, self.rate = dict(models), weight, dict(targets), rate
        self.multipliers = dict.fromkeys(self.targets, 0.0)
        self._ratios: dict[str, list[float]] = {metric: [] for metric in self.targets}
        with torch.no_grad():
            self.start = {
                metric: max(float(model.expected(start)), 1e-12) for metric, model in self.models.items()
            }

    # -- costs -----------------------------------------------------------------------------------------
    def correction(self, metric: str) -> float:
        """``s``: measured over predicted cost of the latest derived architectures (1 before any)."""
        ratios = self._ratios.get(metric, [])[-CORRECTION_WINDOW:]
        return statistics.median(ratios) if ratios else 1.0

    def expected(self, weights: Weights) -> dict[str, torch.Tensor]:
        """The expected cost of each penalised metric under ``weights``, corrected towards measurements."""
        return {
            metric: model.expected(weights) * self.correction(metric) for metric, model in self.models.items()
        }

    def observe(self, metric: str, predicted: float, measured: float) -> None:
        """Record a measured cost against its (uncorrected) prediction."""
        if metric in self._ratios and predicted > 0 and measured > 0:
            self._ratios[metric].append(measured / predicted)

    def errors(self, costs: Mapping[str, float]) -> dict[str, float]:
        """Relative error ``cost / target - 1`` of each targeted metric among ``costs``."""
        return {metric: costs[metric] / target - 1 for metric, target in self.targets.items()}

    def release(self, metric: str) -> None:
        """Stop holding ``metric`` to a target (every architecture meets it)."""
        del self.targets[metric], self.multipliers[metric]

    # -- the loss and the dual step --------------------------------------------------------------------
    def __call__(self, weights: Weights) -> torch.Tensor:
        total = torch.zeros(())
        for metric, value in self.expected(weights).items():
            if metric in self.targets:
                error = value / self.targets[metric] - 1
                total = total + self.multipliers[metric] * error + error**2 / 2
            else:
                total = total + self.weight * value / self.start[metric]
        return total

    def ascend(self, weights: Weights, scale: float = 1.0) -> None:
        """One dual-ascent step of every λ from the expected cost under ``weights``, ``scale`` times the
        configured rate (one step per architecture update of an epoch)."""
        with torch.no_grad():
            costs = {metric: float(value) for metric, value in self.expected(weights).items()}
        for metric, error in self.errors(costs).items():
            self.multipliers[metric] += self.rate * scale * error
