"""Zero-cost proxies: a score of an untrained network from one mini-batch, in well under a second.

Higher is better for every proxy. They rank architectures, so a search can use one as its objective
(seconds per trial instead of minutes) or as a pre-filter that keeps the most promising candidates before
any training (`rank_candidates`). How well each one ranks is measured in ``benchmarks/proxies``.

- ``synflow`` (Tanaka et al. 2020): sum over parameters of |θ · ∂R/∂θ|, with R the output sum of the
  network whose parameters are replaced by their absolute values, on an all-ones input in float64 and
  with batch norm in inference mode. It uses no data (only the input shape). Reported as log(1 + score),
  since scores span many orders of magnitude across architectures.
- ``naswot`` (Mellor et al. 2021, "NAS without training"): log-determinant of the kernel
  K[i, j] = number of ReLU units at which inputs i and j fall on the same side of zero, plus a unit ridge
  (negligible beside the counts) so that a network that maps inputs alike scores low but finite.
- ``snip`` (Lee et al. 2019): sum over conv/linear weights of |w · ∂L/∂w| (L: cross-entropy).
- ``grad_norm`` (Abdelfattah et al. 2021): sum over conv/linear weights of the gradient's L2 norm.
- ``params`` and ``flops`` (per example, multiply-add = 2): the size baselines any proxy must beat.

Each proxy runs on a copy of the model, so the caller's weights and batch-norm statistics stay intact.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nas_workbench._registry import Registry
from nas_workbench.exceptions import NasWorkbenchError

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec

__all__ = ["PROXIES", "ProxyError", "proxy", "proxy_score", "rank_candidates"]

#: A proxy: (model copy, inputs, integer targets) → score, higher is better.
Proxy = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]

#: The registered proxies by name: ``list(PROXIES)``, ``"synflow" in PROXIES``.
PROXIES: Registry[Proxy] = Registry("proxy")

#: Activations whose input sign defines the NASWOT binary code.
_RECTIFIERS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Hardswish, nn.SiLU, nn.GELU)


class ProxyError(NasWorkbenchError, ValueError):
    """A proxy cannot score this network (for example NASWOT on a network without rectifiers)."""


def proxy(name: str) -> Callable[[Proxy], Proxy]:
    """Register a proxy function under ``name`` (for user-defined proxies too)."""
    return PROXIES.register(name)


def proxy_score(name: str, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Score an untrained ``model`` with proxy ``name`` on one mini-batch.

    Args:
        name: A proxy from `PROXIES` ("synflow", "naswot", "snip", "grad_norm", "params", "flops").
        model: The network; it is copied, never changed.
        inputs: A mini-batch of inputs, (N, C, H, W); moved to the model's device.
        targets: Integer class labels, (N,).

    Returns:
        The score, higher is better.

    Raises:
        UnknownNameError: ``name`` is not a registered proxy (the message suggests the closest).
        ProxyError: the proxy cannot score this network.
    """
    score_fn = PROXIES.get(name)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    work = copy.deepcopy(model).to(device)
    with torch.enable_grad():
        return float(score_fn(work, inputs.to(device), targets.to(device)))


def rank_candidates(
    space: SearchSpace,
    specs: Sequence[ArchSpec],
    name: str,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    num_classes: int,
) -> list[tuple[ArchSpec, float]]:
    """Score each architecture with proxy ``name`` and return (spec, score) pairs, best first.

    The pre-filter use of a proxy: rank many candidates in seconds, then train only the top few
    (enqueue them in the study).
    """
    input_shape = tuple(inputs.shape[1:])
    scored = [
        (spec, proxy_score(name, space.build(spec, input_shape, num_classes), inputs, targets))
        for spec in specs
    ]
    return sorted(scored, key=lambda pair: -pair[1])


def _prunable_weights(model: nn.Module) -> list[torch.Tensor]:
    """The weights of convolution and linear layers: those pruning-at-initialisation methods score."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear)]


def _cross_entropy_gradients(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Leave ∂(cross-entropy on the batch)/∂θ in every parameter's ``.grad``."""
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(inputs), targets).backward()


@proxy("synflow")
def synflow(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    model.double().eval()
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    model.zero_grad(set_to_none=True)
    ones = torch.ones((1, *inputs.shape[1:]), dtype=torch.float64, device=inputs.device)
    model(ones).sum().backward()
    total = sum((p * p.grad).abs().sum().item() for p in model.parameters() if p.grad is not None)
    if not math.isfinite(total):
        raise ProxyError("synflow overflowed float64 on this network")
    return math.log1p(total)


@proxy("naswot")
def naswot(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    n = inputs.shape[0]
    kernel = torch.zeros((n, n), dtype=torch.float64, device=inputs.device)

    def count_agreements(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal kernel
        codes = (args[0].reshape(n, -1) > 0).double()
        kernel = kernel + codes @ codes.T + (1 - codes) @ (1 - codes).T

    rectifiers = [m for m in model.modules() if isinstance(m, _RECTIFIERS)]
    if not rectifiers:
        raise ProxyError("naswot needs rectifier modules (nn.ReLU, ...); this network has none")
    handles = [m.register_forward_hook(count_agreements) for m in rectifiers]
    try:
        model.train()
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    kernel += torch.eye(n, dtype=kernel.dtype, device=kernel.device)
    return torch.linalg.slogdet(kernel).logabsdet.item()


@proxy("snip")
def snip(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    _cross_entropy_gradients(model, inputs, targets)
    return sum((w * w.grad).abs().sum().item() for w in _prunable_weights(model) if w.grad is not None)


@proxy("grad_norm")
def grad_norm(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    _cross_entropy_gradients(model, inputs, targets)
    return sum(w.grad.norm().item() for w in _prunable_weights(model) if w.grad is not None)


@proxy("params")
def params(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    return float(sum(p.numel() for p in model.parameters() if p.requires_grad))


@proxy("flops")
def flops(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(inputs[:1])
    return float(counter.get_total_flops())
