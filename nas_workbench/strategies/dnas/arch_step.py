"""The architecture side of a differentiable search's bilevel update, and the remedies against collapse.

DARTS' relaxation is known to collapse: the architecture weights drift to parameter-free ops (skip
connections, pooling, "none"), whose outputs are useful early while the convolutions are still untrained,
and the derived cell loses its capacity (on NAS-Bench-201's CIFAR-10 DARTS ends at 54.3% test accuracy).
Three published remedies are here, measured on our spaces (``benchmarks/dnas/``, README "Differentiable
search"):

- progressive shrinking (P-DARTS, DrNAS' progressive pruning): at evenly spaced epochs every decision
  loses its least likely choice, never its last learnable one, so the final decisions are between few
  strong candidates and the supernet's weights train on them (`Supernet.shrink`, on by default);
- the collapse guard (`CellSupernet.guard`): a derived cell with no input-to-output path of learnable
  ops gets the most likely one back;
- β-DARTS' Beta-Decay regularisation of the architecture logits (`beta_decay`, off by default).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nas_workbench.strategies.dnas.penalty import HardwarePenalty
from nas_workbench.strategies.dnas.supernet import Supernet

__all__ = ["ArchStep", "beta_decay", "frozen", "shrink_epochs"]


class ArchStep:
    """One update of the architecture logits: cross-entropy on an architecture batch, the hardware term
    (the expectation, not a Gumbel sample) and β-DARTS' Beta-Decay, then a dual-ascent step of the
    targets' multipliers."""

    def __init__(
        self, optimizer: torch.optim.Optimizer | None, penalty: HardwarePenalty, beta: float, dual: float
    ) -> None:
        self.optimizer, self.penalty, self.beta, self.dual = optimizer, penalty, beta, dual

    def __call__(
        self, supernet: Supernet, x: torch.Tensor, y: torch.Tensor, gumbel: bool, tau: float
    ) -> tuple[float, float]:
        """The step's loss and hardware term."""
        if self.optimizer is None:  # every decision fixed
            return 0.0, 0.0
        hardware = self.penalty(supernet.probabilities())
        loss = F.cross_entropy(supernet(x, supernet.mixing_weights(gumbel, tau)), y) + hardware
        if self.beta:
            loss = loss + self.beta * beta_decay(supernet)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.penalty.targets:
            self.penalty.ascend(supernet.probabilities(), self.dual)
        return loss.item(), hardware.item()


def beta_decay(supernet: Supernet) -> torch.Tensor:
    """β-DARTS' Beta-Decay regulariser: the mean over decisions of ``log Σ_k exp(α_k)`` (its gradient is the
    softmax, so it holds back the logits that run away, e.g. parameter-free ops early in DARTS)."""
    terms = [logits.logsumexp(-1) for logits in supernet.logits().values()]
    return torch.stack(terms).mean()


def shrink_epochs(supernet: Supernet, keep: int, warmup: int, epochs: int) -> set[int]:
    """The epochs after which `Supernet.shrink` drops a choice per decision (until ``keep`` are left):
    evenly spaced after the ``warmup`` epochs, the last one at three quarters of the search."""
    if not keep or not supernet.searched:
        return set()
    drops = max(len(supernet.decisions[name].choices) for name in supernet.searched) - keep
    span = 0.75 * (epochs - warmup)
    return {warmup + max(1, math.ceil(span * k / drops)) for k in range(1, drops + 1)}


@contextlib.contextmanager
def frozen(parameters: Sequence[nn.Parameter]) -> Iterator[None]:
    """Stop gradients to ``parameters`` for the block (the network weights during an architecture step,
    whose backward pass then skips their gradients)."""
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in parameters:
            parameter.requires_grad_(True)
