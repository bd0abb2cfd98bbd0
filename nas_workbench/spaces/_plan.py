"""Layer plans: the one list of layers a space both builds (`build_plan`) and shows (`describe_plan`).

Building and describing from the same plan keeps the table a UI shows true to the network that is trained.
A plan holds how to make each layer, not the layer: torch and the modules are imported when it is built.
Each layer's maker is a recipe (a `functools.partial` of a module-level function and its arguments), so
`LayerParams` counts a network's parameters as the sum of its layers' counts, building each distinct
recipe once: a search that counts many candidates (the proxy-guided pool) builds a few dozen blocks
instead of a network per candidate.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from nas_workbench.exceptions import SpaceError
from nas_workbench.spaces._base import Choice, NetworkShape, SearchSpace, parameter_count
from nas_workbench.spec import ArchSpec

if TYPE_CHECKING:
    from torch import nn

    from nas_workbench.spaces.ops import Activation

__all__ = [
    "Block",
    "BlockSite",
    "Layer",
    "LayerParams",
    "build_plan",
    "describe_plan",
    "head_layer",
    "scale",
    "stem_layer",
]


def scale(channels: int, width_multiplier: float) -> int:
    """``channels`` times ``width_multiplier``, rounded, at least 1."""
    return max(1, round(channels * width_multiplier))


@dataclass(frozen=True)
class Layer:
    """One layer of a network's plan.

    Attributes:
        name: The layer's name in tables ("stage1.block0"); its module name with "." as "_".
        make: Builds the layer's module.
        channels_in: Input channels (None when the input is not known, in a description).
        channels_out: Output channels (for the head: classes, None when not known).
        stride: Spatial stride; the output is ``ceil(size / stride)``. None: global pooling (the head).
        details: Space-specific columns for tables (op, kernel, ...), in order.
    """

    name: str
    make: Callable[[], nn.Module]
    channels_in: int | None
    channels_out: int | None
    stride: int | None = 1
    details: Mapping[str, Any] = field(default_factory=dict)


def stem_layer(input_channels: int | None, width: int, relu: Activation) -> Layer:
    """A 3x3 convolution and BN from the input to ``width`` channels (input channels None: describe only)."""
    make = partial(_stem, input_channels, width, relu)
    return Layer("stem", make, input_channels, width, details={"op": "conv", "kernel": 3})


def _stem(input_channels: int | None, width: int, relu: Activation) -> nn.Module:
    if input_channels is None:
        raise SpaceError("building a network needs the input's channel count")
    from nas_workbench.spaces.ops import ConvBN

    return ConvBN(input_channels, width, 1, 3, relu=relu)


def head_layer(width: int, num_classes: int | None, preact: bool) -> Layer:
    """The `ClassifierHead` (classes None: describe only)."""
    op = "bn+relu+pool+linear" if preact else "pool+linear"
    make = partial(_head, width, num_classes, preact)
    return Layer("head", make, width, num_classes, stride=None, details={"op": op})


def _head(width: int, num_classes: int | None, preact: bool) -> nn.Module:
    if num_classes is None:
        raise SpaceError("building a network needs the number of classes")
    from nas_workbench.spaces.blocks import ClassifierHead

    return ClassifierHead(width, num_classes, preact=preact)


class LayerParams:
    """Parameter counts of layers, each distinct recipe built once.

    A layer's maker that is a `functools.partial` with hashable arguments is a recipe: the same function
    with the same arguments builds a module with the same parameters, so its count is kept under that key
    (exact, not an estimate). Any other maker is built every time. The counts live as long as this object
    (one search's counter): an op registered again under the same name later is not seen by it.
    """

    def __init__(self) -> None:
        self._counts: dict[Any, int] = {}

    def __call__(self, make: Callable[[], nn.Module]) -> int:
        """The number of parameter elements of the module ``make`` builds."""
        key = _recipe(make)
        if key is None:
            return parameter_count(make())
        if key not in self._counts:
            self._counts[key] = parameter_count(make())
        return self._counts[key]


def _recipe(make: Callable[[], Any]) -> Any:
    """``make``'s function and arguments as a dictionary key, or None when it is not a hashable partial."""
    if not isinstance(make, partial):
        return None
    key = (make.func, make.args, tuple(sorted(make.keywords.items())))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def build_plan(plan: Sequence[Layer]) -> nn.Sequential:
    """The network of ``plan``: its layers' modules in order."""
    from torch import nn

    return nn.Sequential(OrderedDict((layer.name.replace(".", "_"), layer.make()) for layer in plan))


def describe_plan(plan: Sequence[Layer], input_shape: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """One row per layer: name, details, channels, stride and, given ``input_shape`` (C, H, W), output shape.

    Every row has the same columns: a detail that a layer lacks (the stem's expansion) is None.
    """
    columns = list(dict.fromkeys(key for layer in plan for key in layer.details))
    spatial = list(input_shape[1:]) if input_shape is not None else None  # (H, W) as the layers go
    rows = []
    for layer in plan:
        row = {
            "block": layer.name,
            **{column: layer.details.get(column) for column in columns},
            "channels_in": layer.channels_in,
            "channels_out": layer.channels_out,
            "stride": layer.stride,
        }
        if spatial is not None:
            stride = layer.stride
            spatial = [] if stride is None else [math.ceil(size / stride) for size in spatial]
            row["output_shape"] = [layer.channels_out, *spatial]
        rows.append(row)
    return rows


@dataclass(frozen=True)
class BlockSite:
    """Where a searched block sits in a planned network.

    Attributes:
        name: The block's name, "stage{s}.block{b}" (stages count from 1, blocks from 0); its decisions'
            prefix.
        stage: Its stage.
        channels_in: Its input channels.
        stride: Its stride: the stage's stride for a stage's first block, else 1.
        width_multiplier: The factor every channel count of the network is scaled by.
    """

    name: str
    stage: int
    channels_in: int
    stride: int
    width_multiplier: float


@dataclass(frozen=True)
class Block:
    """A searched block at its `BlockSite`: what builds it, its output channels and its table columns."""

    make: Callable[[], nn.Module]
    channels_out: int
    details: Mapping[str, Any]


class PlannedSpace(SearchSpace):
    """A space whose networks are a sequence of layers: `plan` lays them out once, and both the network
    (`build`) and its layer table (`describe`) are read off that plan, so the two always agree.

    The plan is a stem (3x3 convolution to ``stem_channels``), stages of searched blocks (`depths` says how
    many per stage, `block` what each is; a stage's first block carries its stride from ``strides``) and
    the classifier head.
    """

    #: Whether the network is pre-activation (its ops begin with ReLU): then the stem ends in no ReLU and
    #: the head begins with BN-ReLU; else the stem is Conv-BN-ReLU and the head pools the last block's output.
    preactivation: ClassVar[bool] = False

    @abstractmethod
    def depths(self, choices: Mapping[str, Choice]) -> list[int]:
        """How many blocks each stage has, in stage order."""

    @abstractmethod
    def block(self, choices: Mapping[str, Choice], site: BlockSite) -> Block:
        """The block of ``choices`` at ``site``."""

    def plan(
        self,
        spec: ArchSpec,
        input_channels: int | None,
        num_classes: int | None = None,
        width_multiplier: float = 1.0,
    ) -> list[Layer]:
        """The layers of ``spec``'s network, stem to head, channels scaled by ``width_multiplier``.

        ``input_channels`` and ``num_classes`` may be None for a description (not for `build`).
        """
        width = scale(self.options["stem_channels"], width_multiplier)
        plan = [stem_layer(input_channels, width, relu="none" if self.preactivation else "post")]
        for stage, depth in enumerate(self.depths(spec.choices), start=1):
            for index in range(depth):
                stride = self.options["strides"][stage - 1] if index == 0 else 1
                site = BlockSite(f"stage{stage}.block{index}", stage, width, stride, width_multiplier)
                block = self.block(spec.choices, site)
                plan.append(Layer(site.name, block.make, width, block.channels_out, stride, block.details))
                width = block.channels_out
        plan.append(head_layer(width, num_classes, preact=self.preactivation))
        return plan

    def assemble(self, spec: ArchSpec, shape: NetworkShape) -> nn.Module:
        return build_plan(self.plan(spec, shape.input_shape[0], shape.num_classes, shape.width_multiplier))

    def params_counter(
        self, input_shape: Sequence[int], num_classes: int, width_multiplier: float = 1.0
    ) -> Callable[[ArchSpec], int]:
        """Counts as `SearchSpace.params_counter` does, without building networks: the sum of the plan's
        layers' counts, each distinct layer (`LayerParams`: a block's op, channels, stride, ...) built once
        by this counter."""
        layers = LayerParams()

        def params(spec: ArchSpec) -> int:
            plan = self.plan(self.validate(spec), input_shape[0], num_classes, width_multiplier)
            return sum(layers(layer.make) for layer in plan)

        return params

    def describe(
        self, spec: ArchSpec, input_shape: Sequence[int] | None = None, num_classes: int | None = None
    ) -> list[dict[str, Any]]:
        """A layer table, one row per layer, with each layer's output shape when ``input_shape`` (C, H, W)
        is given."""
        channels = input_shape[0] if input_shape is not None else None
        return describe_plan(self.plan(self.validate(spec), channels, num_classes), input_shape)
