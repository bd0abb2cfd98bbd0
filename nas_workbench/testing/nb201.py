"""NAS-Bench-201's cost conventions, to check the "nb201" space against the benchmark's published figures.

NAS-Bench-201 publishes parameters (every trainable tensor, BN's affine ones included) and "FLOPs" that
are multiply-adds of convolutions and linear layers plus their bias additions; pooling, BN and ReLU are not
counted. `torch.utils.flop_counter.FlopCounterMode` counts a multiply-add as 2 FLOPs and leaves biases out,
so NAS-Bench-201's figure is the counter's total / 2 plus one addition per biased output (on NB201's
networks, the classifier's ``num_classes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["nb201_cost"]


def nb201_cost(model: nn.Module, input_shape: Sequence[int]) -> tuple[int, int]:
    """``(parameters, FLOPs)`` of ``model`` on one input of ``input_shape``, as NAS-Bench-201 counts them.

    Divide by 1e6 for the benchmark's units (millions).
    """
    bias_adds = 0

    def count_bias(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        nonlocal bias_adds
        if module.bias is not None:
            bias_adds += output.numel()

    handles = [
        m.register_forward_hook(count_bias) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model.eval()(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    params = sum(p.numel() for p in model.parameters())
    return params, counter.get_total_flops() // 2 + bias_adds
