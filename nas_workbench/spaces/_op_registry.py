"""The op registry: op names and the factories that build them, without importing torch.

A space checks its options against the registered names (`OPS.names()`) whenever it is made, in a form or a
config's validation, long before any network is built; the built-in factories import
`nas_workbench.spaces.ops` (and torch with it) only when they build an op. `nas_workbench.spaces.ops`
re-exports `OPS` and `make_op`, where a user registers an op of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from nas_workbench._registry import Registry

if TYPE_CHECKING:
    from torch import nn

__all__ = ["OPS", "OpFactory", "make_op", "op_module"]

#: Builds an op from (C_in, C_out, stride).
OpFactory = Callable[[int, int, int], "nn.Module"]

#: Op name → factory(C_in, C_out, stride).
OPS: Registry[OpFactory] = Registry("op")


def make_op(name: str, C_in: int, C_out: int, stride: int = 1) -> nn.Module:
    """Build the op registered as ``name`` (an `UnknownNameError` suggests the closest name)."""
    return OPS.get(name)(C_in, C_out, stride)


def op_module(class_name: str, C_in: int, C_out: int, stride: int, *args: Any, **options: Any) -> nn.Module:
    """The op ``class_name`` of `nas_workbench.spaces.ops` for these channels and stride, built with
    ``args`` and ``options``; that module (it needs torch) is imported here, when a network is built."""
    from nas_workbench.spaces import ops

    factory: Callable[..., nn.Module] = getattr(ops, class_name)
    return factory(C_in, C_out, stride, *args, **options)


def _register_builtin() -> None:
    OPS.add("none", partial(op_module, "Zero"))
    OPS.add("skip_connect", partial(op_module, "skip_connect"))
    for mode in ("avg", "max"):
        OPS.add(f"{mode}_pool_3x3", partial(op_module, "Pool", mode=mode))
    for k in (1, 3, 5, 7):
        OPS.add(f"nor_conv_{k}x{k}", partial(op_module, "ConvBN", kernel_size=k, relu="pre"))
    for k in (3, 5):
        OPS.add(f"sep_conv_{k}x{k}", partial(op_module, "DepthwiseSeparable", kernel_size=k, relu="pre"))
        OPS.add(
            f"dil_conv_{k}x{k}",
            partial(op_module, "DepthwiseSeparable", kernel_size=k, dilation=2, relu="pre"),
        )
    for k in (3, 5, 7):
        OPS.add(f"conv_{k}x{k}", partial(op_module, "ConvBN", kernel_size=k, relu="post"))
        OPS.add(f"dwsep_{k}x{k}", partial(op_module, "DepthwiseSeparable", kernel_size=k, relu="post"))
        for e in (3, 6):
            OPS.add(f"mbconv_{k}x{k}_e{e}", partial(op_module, "MBConv", kernel_size=k, expansion=e))


_register_builtin()
