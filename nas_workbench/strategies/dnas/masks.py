"""Weight sharing across a layer's choices: channel masks (FBNetV2) and nested kernels (Once-for-All).

A layer is built once at its largest width and kernel. A smaller width is the first channels of it, a
smaller kernel the centre of the largest one (a 3x3 kernel is the centre of the 5x5), so every choice of
the layer trains the one weight tensor, and a relaxed choice is a mask, the choices' indicators weighted
by their architecture weights:

- `width_mask`: ``m[c] = Σ_w p_w · [c < w]``, multiplied into a feature map's channels;
- `kernel_mask`: ``M = Σ_k p_k · [centre k x k]``, multiplied into the convolution's kernel (padding of the
  largest kernel with a zero border is the smaller kernel's own padding, so the convolution is exact).

Under one-hot weights the masks keep exactly the chosen slice, and `slice_like` cuts that slice out of the
shared tensor for the standalone network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["conv_bn", "fit_channels", "kernel_mask", "slice_like", "width_mask"]


def width_mask(sizes: Sequence[int], weights: torch.Tensor, channels: int) -> torch.Tensor:
    """``Σ_i weights[i] · [c < sizes[i]]`` for every channel ``c < channels``: a (1, channels, 1, 1) mask."""
    index = torch.arange(channels, device=weights.device)
    bounds = torch.tensor(list(sizes), device=weights.device)
    indicators = (index[None, :] < bounds[:, None]).to(weights.dtype)  # (choices, channels)
    return (weights @ indicators).view(1, channels, 1, 1)


def kernel_mask(kernels: Sequence[int], weights: torch.Tensor, size: int) -> torch.Tensor:
    """``Σ_i weights[i] · [centre kernels[i] x kernels[i]]`` on a ``size`` x ``size`` kernel."""
    indicators = torch.zeros(len(kernels), size, size, device=weights.device, dtype=weights.dtype)
    for i, kernel in enumerate(kernels):
        border = (size - kernel) // 2
        indicators[i, border : size - border, border : size - border] = 1.0
    return torch.einsum("k,kij->ij", weights, indicators)


def conv_bn(layer: nn.Sequential, x: torch.Tensor, kernel: torch.Tensor | None = None) -> torch.Tensor:
    """Run a `nas_workbench.spaces.ops.ConvBN` on ``x``, its convolution's kernel multiplied by ``kernel``
    (a `kernel_mask`; None: the whole kernel)."""
    for module in layer:
        if isinstance(module, nn.Conv2d) and kernel is not None:
            weight = module.weight * kernel
            x = F.conv2d(x, weight, None, module.stride, module.padding, module.dilation, module.groups)
        else:
            x = module(x)
    return x


def fit_channels(x: torch.Tensor, size: int) -> torch.Tensor:
    """``x`` with ``size`` channels: its first ones, or zeros appended (a residual across widths)."""
    if x.shape[1] >= size:
        return x[:, :size]
    return F.pad(x, (0, 0, 0, 0, 0, size - x.shape[1]))


def slice_like(shared: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """The part of a shared tensor that a smaller layer of ``shape`` uses: the first entries of every
    dimension, the centre of a convolution kernel's two spatial dimensions."""
    index: list[slice] = []
    for dim, size in enumerate(shape):
        start = (shared.shape[dim] - size) // 2 if shared.dim() == 4 and dim >= 2 else 0
        index.append(slice(start, start + size))
    return shared[tuple(index)].clone()
