"""The multi-branch space: its decisions, exact size, options, and the blocks it builds."""

from __future__ import annotations

import pytest
import torch

import nas_workbench as nw
from nas_workbench.exceptions import ConfigError
from nas_workbench.spaces import enumerate_specs
from nas_workbench.spaces.blocks import MultiBranch, Residual


@pytest.mark.parametrize(
    "options",
    [
        {"num_stages": 1, "blocks_per_stage": 2, "max_branches": 2, "ops": ("nor_conv_1x1", "nor_conv_3x3")},
        {"num_stages": 2, "blocks_per_stage": 1, "max_branches": 3, "ops": ("nor_conv_3x3", "max_pool_3x3")},
        {
            "num_stages": 1,
            "blocks_per_stage": 1,
            "max_branches": 3,
            "ops": ("sep_conv_3x3",),
            "combines": ("sum",),
        },
        {"num_stages": 1, "blocks_per_stage": 3, "max_branches": 1, "ops": ("nor_conv_1x1", "nor_conv_3x3")},
    ],
)
def test_size_counts_every_architecture(options: dict) -> None:
    space = nw.spaces.get("multi_branch", **options)
    assert space.size() == len(list(enumerate_specs(space)))


def test_default_size() -> None:
    # per block: skip x (6 single branches + 2 combines x (6^2 + 6^3)); 3 stages of 1 block
    assert nw.spaces.get("multi_branch").size() == (2 * (6 + 2 * (36 + 216))) ** 3


def test_combine_is_asked_only_for_several_branches() -> None:
    space = nw.spaces.get("multi_branch")
    for seed in range(30):
        choices = space.random(seed).choices
        for _, _, block in space.blocks():
            branches = choices[f"{block}.branches"]
            assert [f"{block}.branch{k}.op" in choices for k in range(3)] == [k < branches for k in range(3)]
            assert (f"{block}.combine" in choices) == (branches > 1)
            assert isinstance(choices[f"{block}.skip"], bool)


def test_blocks_are_built_as_chosen() -> None:
    space = nw.spaces.get("multi_branch", num_stages=2, blocks_per_stage=1)
    spec = space.spec(
        {"stage1.block0.branches": 2, "stage1.block0.branch0.op": "nor_conv_3x3"}
        | {
            "stage1.block0.branch1.op": "max_pool_3x3",
            "stage1.block0.combine": "concat",
            "stage1.block0.skip": True,
        }
        | {
            "stage2.block0.branches": 1,
            "stage2.block0.branch0.op": "sep_conv_3x3",
            "stage2.block0.skip": False,
        }
    )
    model = space.build(spec, (1, 8, 8), 10)
    first, second = model.stage1_block0, model.stage2_block0
    assert isinstance(first, Residual) and isinstance(first.body, MultiBranch)
    assert first.body.combine == "concat" and first.body.project[1].in_channels == 16
    assert isinstance(second, MultiBranch) and len(second.branches) == 1 and second.project is None
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert space.summary(spec) == "nor_conv_3x3+max_pool_3x3/concat+skip | sep_conv_3x3"


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"blocks_per_stage": 0}, "blocks_per_stage", "an integer >= 1"),
        ({"max_branches": "3"}, "max_branches", "an integer >= 1"),
        ({"strides": (1, 2)}, "strides", "a list of 3 integers >= 1"),
        ({"ops": ("nor_conv_3x3", "conv_9x9")}, "ops", "Unknown op 'conv_9x9'. Available: avg_pool_3x3, "),
        ({"combines": ("sum", "max")}, "combines", "Unknown combine 'max'. Available: sum, concat"),
    ],
)
def test_options_are_validated(options: dict, field: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        nw.spaces.get("multi_branch", **options)
    assert error.value.field == f"space_options.{field}"
