"""Counted figures: parameters, FLOPs and multiply-accumulates, exact by inspection of the network.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``, which counts a multiply-add as 2 FLOPs and
counts only the operators that dominate cost (convolutions, matrix products, attention); element-wise
operators (batch norm, activations, additions, pooling) are not counted. Many NAS papers publish
multiply-accumulates under the name "FLOPs": that figure is ``macs`` here (FLOPs / 2, exact for the counted
operators, which are all multiply-add based). Both are per forward pass at the profiled batch size.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from nas_workbench.metrics import METRICS, Measurement
from nas_workbench.profiling._trace import Trace, trace

__all__ = ["count", "counted_measurements"]

SOURCE = "torch.utils.flop_counter"


def counted_measurements(result: Trace, batch_size: int) -> dict[str, Measurement]:
    """The ``params``, ``flops`` and ``macs`` measurements of a traced network."""
    scope = {"batch_size": batch_size, "per_sample": result.flops / batch_size}
    return {
        "params": Measurement(
            float(result.params),
            METRICS["params"].unit,
            "counted",
            "nn.Module.parameters",
            {"bytes": result.param_bytes, "buffer_bytes": result.buffer_bytes},
        ),
        "flops": Measurement(
            float(result.flops),
            METRICS["flops"].unit,
            "counted",
            SOURCE,
            {**scope, "by_operator": result.flops_by_operator, "counts": "multiply-add = 2 FLOPs"},
        ),
        "macs": Measurement(
            result.flops / 2,
            METRICS["macs"].unit,
            "counted",
            f"{SOURCE} (FLOPs / 2)",
            {"batch_size": batch_size, "per_sample": result.flops / 2 / batch_size},
        ),
    }


def count(model: nn.Module, input_shape: Sequence[int], batch_size: int = 1) -> dict[str, Measurement]:
    """Count the parameters, FLOPs and MACs of ``model`` on inputs of ``input_shape`` at ``batch_size``.

    Exact and untimed; large networks run on shape-only (fake) tensors, so nothing is computed.
    """
    return counted_measurements(trace(model, input_shape, batch_size), batch_size)
