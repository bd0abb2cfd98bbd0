"""One shape-only pass through a network that every counted and estimated figure is read from.

The network runs once beneath torch's ``FlopCounterMode`` and a recorder of every ATen operator called;
large networks run under ``FakeTensorMode`` (tensors carry shapes and dtypes but no data, so nothing is
computed), small ones for real (cheaper than fake tensors' bookkeeping). From that pass:

- FLOPs, by torch.utils.flop_counter (a multiply-add counts 2);
- the operator sequence, each with its argument shapes, strides and dtypes: the keys of the lookup table;
- memory traffic (bytes read and written by each operator) for the energy estimate;
- the live activation memory over time (outputs counted when made, freed when Python drops them), for the
  analytic peak memory.

A network that cannot run on fake tensors (data-dependent control flow, say) is run for real instead.
Nothing is timed: the pass only learns what the network does.
"""

from __future__ import annotations

import contextlib
import logging
import math
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nas_workbench import _compat
from nas_workbench._compat import tree_leaves, tree_map

__all__ = ["REAL_RUN_LIMIT", "OpCall", "TensorSpec", "Trace", "input_dtype", "trace"]

logger = logging.getLogger("nas_workbench")

#: Parameters x input positions x batch above which `trace` uses fake tensors by default: about a third
#: of a GFLOP for a convolutional network, some tens of milliseconds of CPU.
REAL_RUN_LIMIT = 1e9


@dataclass(frozen=True)
class TensorSpec:
    """What the cost of an operator depends on in a tensor argument: shape, strides and dtype."""

    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype

    @classmethod
    def of(cls, tensor: torch.Tensor) -> TensorSpec:
        return cls(tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype)

    def __repr__(self) -> str:
        dtype = str(self.dtype).removeprefix("torch.")
        contiguous = self.stride == _contiguous_strides(self.shape)
        strides = "" if contiguous else f"s{list(self.stride)}"
        return f"{dtype}{list(self.shape)}{strides}"

    def make(self, device: torch.device) -> torch.Tensor:
        """A tensor of this layout on ``device``, with random floats or zero integers (valid indices)."""
        tensor = torch.empty_strided(self.shape, self.stride, dtype=self.dtype, device=device)
        if tensor.is_floating_point() or tensor.is_complex():
            return tensor.normal_()
        return tensor.zero_()


def _contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    strides, running = [], 1
    for size in reversed(shape):
        strides.append(running)
        running *= max(size, 1)
    return tuple(reversed(strides))


@dataclass(frozen=True)
class OpCall:
    """One ATen operator call: what it was and the arguments' layouts (tensors as `TensorSpec`)."""

    func: Any  # an ATen operator (torch's OpOverload), e.g. aten.convolution.default
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    bytes_read: int
    bytes_written: int

    @property
    def key(self) -> str:
        """The lookup-table key: the operator and its arguments, tensors described by layout."""
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in sorted(self.kwargs.items())]
        return f"{self.func}({', '.join(parts)})"

    def materialise(self, device: torch.device) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Arguments to call the operator with on ``device``: fresh tensors of the recorded layouts."""

        def make(value: Any) -> Any:
            if isinstance(value, TensorSpec):
                return value.make(device)
            if isinstance(value, torch.device):
                return device
            return value

        return tree_map(make, self.args), tree_map(make, self.kwargs)


@dataclass
class Trace:
    """What one shape-only pass learned about a network at one batch size."""

    input_shape: tuple[int, ...] = ()  # batch first
    ops: list[OpCall] = field(default_factory=list)
    flops: int = 0
    flops_by_operator: dict[str, int] = field(default_factory=dict)
    params: int = 0
    param_bytes: int = 0
    buffer_bytes: int = 0
    input_bytes: int = 0
    activation_bytes: int = 0  # every operator output, summed: what training keeps for the backward pass
    peak_live_bytes: int = 0  # most activation bytes alive at once during inference
    module_calls: int = 0
    fake: bool = True

    @property
    def batch_size(self) -> int:
        """The batch the network was traced at (the input's first dimension)."""
        return self.input_shape[0]

    @property
    def traffic_bytes(self) -> int:
        """Bytes read and written by all operators (weights included, each time they are read)."""
        return sum(op.bytes_read + op.bytes_written for op in self.ops)


class _Recorder:
    """Records every operator call (`_compat.operator_recorder` calls it) and simulates which outputs are
    alive."""

    def __init__(self, result: Trace) -> None:
        self.result = result
        self.live = 0

    def _free(self, nbytes: int) -> None:
        self.live -= nbytes

    def __call__(self, func: Any, args: Any, kwargs: Any, out: Any) -> None:
        if func.namespace != "aten":  # prim.device and friends: metadata queries, no work
            return
        inputs = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        outputs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        spec = lambda v: TensorSpec.of(v) if isinstance(v, torch.Tensor) else v  # noqa: E731
        aliasing = func.is_view or _compat.mutates(func)
        written = 0 if func.is_view else sum(_nbytes(t) for t in outputs)
        self.result.ops.append(
            OpCall(
                func=func,
                args=tree_map(spec, tuple(args)),
                kwargs=tree_map(spec, dict(kwargs)),
                bytes_read=0 if func.is_view else sum(_nbytes(t) for t in inputs),
                bytes_written=written,
            )
        )
        if not aliasing:
            self.result.activation_bytes += written
            for tensor in outputs:
                self.live += _nbytes(tensor)
                weakref.finalize(tensor, self._free, _nbytes(tensor))
            self.result.peak_live_bytes = max(self.result.peak_live_bytes, self.live)


def _nbytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def input_dtype(model: nn.Module) -> torch.dtype:
    """The dtype the network's inputs should have: that of its first floating parameter, else float32."""
    for tensor in [*model.parameters(), *model.buffers()]:
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.get_default_dtype()


@contextlib.contextmanager
def _count_module_calls(model: nn.Module, result: Trace) -> Iterator[None]:
    def count(*_: Any) -> None:
        result.module_calls += 1

    handles = [module.register_forward_pre_hook(count) for module in model.modules()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _run(model: nn.Module, example: torch.Tensor, wrap: Callable[[torch.Tensor], torch.Tensor]) -> Trace:
    result = Trace()
    with (
        torch.no_grad(),
        _count_module_calls(model, result),
        FlopCounterMode(display=False) as counter,
        _compat.operator_recorder(_Recorder(result)),
    ):
        model(wrap(example))
    result.flops = int(counter.get_total_flops())
    result.flops_by_operator = {
        str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()
    }
    return result


def trace(
    model: nn.Module, input_shape: Sequence[int], batch_size: int = 1, fake: bool | None = None
) -> Trace:
    """Run ``model`` once on a (``batch_size``, *``input_shape``) input, recording what it calls.

    Args:
        fake: Run on fake (shape-only) tensors; by default only networks too big to run in a few
            milliseconds do (`REAL_RUN_LIMIT`), since for small ones fake tensors' bookkeeping costs more than
            the arithmetic. The record is the same either way; nothing is timed.

    The model is put in eval mode for the pass and returned to its previous mode afterwards.
    """
    params = list(model.parameters())
    device = params[0].device if params else torch.device("cpu")
    example = torch.zeros((batch_size, *input_shape), dtype=input_dtype(model), device=device)
    if fake is None:
        positions = math.prod(input_shape[1:]) if len(input_shape) > 1 else 1
        fake = sum(p.numel() for p in params) * positions * batch_size > REAL_RUN_LIMIT
    was_training = model.training
    model.eval()
    try:
        result = None
        if fake:
            try:
                fake_mode = _compat.fake_tensor_mode()
                with fake_mode:
                    result = _run(model, example, fake_mode.from_tensor)
            except Exception as error:
                logger.debug(
                    "fake-tensor trace failed (%s: %s); running for real", type(error).__name__, error
                )
        if result is None:
            result = _run(model, example, lambda x: x)
            result.fake = False
    finally:
        model.train(was_training)
    result.params = sum(p.numel() for p in params)
    result.param_bytes = sum(_nbytes(p) for p in params)
    result.buffer_bytes = sum(_nbytes(b) for b in model.buffers())
    result.input_bytes = _nbytes(example)
    result.input_shape = tuple(example.shape)
    return result
