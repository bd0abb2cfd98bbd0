"""The chain space: its decisions, exact size, options, and the networks it builds."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch

import nas_workbench as nw
from nas_workbench.exceptions import ConfigError
from nas_workbench.spaces import enumerate_specs
from nas_workbench.spaces._base import Choice
from nas_workbench.spaces.blocks import Residual
from nas_workbench.spaces.chain import ChainSpace
from nas_workbench.spaces.ops import MBConv


class Extreme:
    """Answers every question with its first (smallest) or last (largest) choice."""

    def __init__(self, last: bool) -> None:
        self.index = -1 if last else 0

    def suggest_categorical(self, name: str, choices: Sequence[Choice]) -> Choice:
        return list(choices)[self.index]


@pytest.mark.parametrize(
    "options",
    [
        {"num_stages": 1, "max_depth": 2, "kernel_sizes": (3,), "width_ratios": (1.0,)},
        {"num_stages": 2, "max_depth": 2, "kernel_sizes": (3, 5), "expansions": (3,), "width_ratios": (1.0,)},
        {
            "num_stages": 2,
            "max_depth": 1,
            "ops": ("mbconv",),
            "expansions": (2, 4, 6),
            "width_ratios": (0.5, 1.0),
        },
        {"num_stages": 1, "max_depth": 3, "ops": ("conv", "dwsep"), "width_ratios": (0.5, 0.75, 1.0)},
        {"num_stages": 2, "max_depth": 2, "widths": (4, 4), "width_ratios": (0.5, 0.6), "kernel_sizes": (3,)},
    ],
)
def test_size_counts_every_architecture(options: dict) -> None:
    space = nw.spaces.get("chain", **options)
    assert space.size() == len(list(enumerate_specs(space)))


def test_default_size() -> None:
    # per block: 2 kernels x 2 widths x (conv, dwsep, mbconv x 2 expansions); per stage 16 + 16^2 + 16^3
    assert nw.spaces.get("chain").size() == (16 + 16**2 + 16**3) ** 3


def test_decisions_are_named_and_expansion_is_asked_only_for_mbconv() -> None:
    space = nw.spaces.get("chain")
    for seed in range(30):
        choices = space.random(seed).choices
        assert [k for k in choices if k.endswith(".depth")] == [
            "stage1.depth",
            "stage2.depth",
            "stage3.depth",
        ]
        for stage in (1, 2, 3):
            for block in range(choices[f"stage{stage}.depth"]):
                prefix = f"stage{stage}.block{block}."
                assert choices[prefix + "width"] in space.width_choices(stage)
                assert (prefix + "expansion" in choices) == (choices[prefix + "op"] == "mbconv")


def test_stage_widths_and_strides_default_per_stage() -> None:
    space = nw.spaces.get("chain", num_stages=4)
    assert space.options["widths"] == (8, 16, 32, 64) and space.options["strides"] == (1, 2, 2, 2)
    assert space.width_choices(4) == (32, 64)
    assert nw.spaces.get("chain", stem_channels=16).options["widths"] == (16, 32, 64)
    assert ChainSpace(**space.options).options == space.options
    model = space.build(space.random(0), (3, 32, 32), 10)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_blocks_add_their_input_when_shapes_match() -> None:
    space = nw.spaces.get("chain")
    spec = space.spec(
        {
            "stage1.depth": 2,
            "stage1.block0.op": "mbconv",
            "stage1.block0.kernel": 5,
            "stage1.block0.width": 8,
            "stage1.block0.expansion": 6,
            "stage1.block1.op": "conv",
            "stage1.block1.kernel": 3,
            "stage1.block1.width": 4,
            "stage2.depth": 1,
            "stage2.block0.op": "dwsep",
            "stage2.block0.kernel": 3,
            "stage2.block0.width": 16,
            "stage3.depth": 1,
            "stage3.block0.op": "conv",
            "stage3.block0.kernel": 3,
            "stage3.block0.width": 32,
        }
    )
    model = space.build(spec, (1, 8, 8), 10)
    assert isinstance(model.stage1_block0, Residual) and isinstance(model.stage1_block0.body, MBConv)
    assert not isinstance(model.stage1_block1, Residual)  # 8 → 4 channels
    assert not isinstance(model.stage2_block0, Residual)  # stride 2
    assert model.stage1_block0.body[1][0].kernel_size == (5, 5)
    assert model.stage1_block0.body[0][0].out_channels == 48  # 8 x expansion 6
    assert space.summary(spec) == "mbconv5e6:8 conv3:4 | dwsep3:16 | conv3:32"


def test_small_and_large_choices_span_a_wide_cost_range() -> None:
    space = nw.spaces.get("chain")
    small, large = (space.build(space.sample(Extreme(last)), (1, 8, 8), 10) for last in (False, True))
    params = [sum(p.numel() for p in m.parameters()) for m in (small, large)]
    assert params[1] > 20 * params[0]


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"num_stages": 0}, "num_stages", "an integer >= 1"),
        ({"max_depth": True}, "max_depth", "an integer >= 1"),
        ({"widths": (16, 32)}, "widths", "a list of 3 integers >= 1"),
        ({"num_stages": 2, "widths": (16, 32), "strides": (1, 2, 2)}, "strides", "a list of 2 integers"),
        ({"width_ratios": (0.5, 0.5)}, "width_ratios", "distinct numbers > 0"),
        ({"width_ratios": (0, 1)}, "width_ratios", "numbers > 0"),
        ({"ops": ("conv", "mbconv3")}, "ops", "Unknown block op 'mbconv3'.*Did you mean 'mbconv'"),
        ({"kernel_sizes": (3, 4)}, "kernel_sizes", "odd integers"),
        ({"expansions": ()}, "expansions", "non-empty"),
        ({"stem": 8}, "stem", "has options"),
    ],
)
def test_options_are_validated(options: dict, field: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        nw.spaces.get("chain", **options)
    assert error.value.field == f"space_options.{field}"
