"""The chain supernet shares one weight tensor per block and op across widths, kernels and expansions
(FBNetV2's channel masks, Once-for-All's nested kernels): masks, shapes, the derived network, gradients.
Exactness under one-hot weights and export are checked with the other supernets (test_dnas_supernet.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import nas_workbench as nw
from nas_workbench.strategies.dnas import ChainSupernet, build_supernet
from nas_workbench.strategies.dnas.masks import kernel_mask, slice_like, width_mask
from tests.strategies.conftest import DNAS_CHAIN

INPUT = (1, 8, 8)


def make(**options: object) -> ChainSupernet:
    torch.manual_seed(0)
    supernet = build_supernet(nw.spaces.get("chain", **{**DNAS_CHAIN, **options}), INPUT, 10)
    assert isinstance(supernet, ChainSupernet)
    return supernet


def test_a_width_mask_keeps_each_width_with_its_weight() -> None:
    mask = width_mask([2, 4], torch.tensor([0.25, 0.75]), 5)
    assert mask.shape == (1, 5, 1, 1)
    assert mask.flatten().tolist() == [1.0, 1.0, 0.75, 0.75, 0.0]


def test_a_kernel_mask_nests_the_smaller_kernel_in_the_centre() -> None:
    mask = kernel_mask([3, 5], torch.tensor([0.5, 0.5]), 5)
    assert mask[1:4, 1:4].eq(1.0).all() and mask.sum() == 9 + 0.5 * 16
    assert mask[0].eq(0.5).all() and mask[:, 4].eq(0.5).all()
    assert slice_like(torch.arange(25.0).view(1, 1, 5, 5), (1, 1, 3, 3)).flatten().tolist() == [
        6.0, 7.0, 8.0, 11.0, 12.0, 13.0, 16.0, 17.0, 18.0,
    ]  # fmt: skip


def test_one_weight_tensor_per_block_and_op_whatever_the_width_kernel_and_expansion_choices() -> None:
    shared = make()
    convs = [name for name, m in shared.named_modules() if isinstance(m, nn.Conv2d)]
    # the stem, then per block 1 ("conv") + 2 ("dwsep") + 3 ("mbconv") convolutions, at most 2 x 2 blocks
    assert len(convs) == 1 + 4 * 6
    block = shared.blocks["stage2_block1"].ops
    assert block["conv"][0].weight.shape == (8, 8, 5, 5)  # largest widths (4, 8) and kernels (3, 5)
    assert block["mbconv"][0][0].weight.shape == (16, 8, 1, 1)  # largest expansion (1, 2) of 8
    fewer = make(width_ratios=(1.0,), kernel_sizes=(5,), expansions=(2,))
    assert sum(p.numel() for p in fewer.weight_parameters()) == sum(
        p.numel() for p in shared.weight_parameters()
    )


def test_the_derived_network_is_a_standalone_chain_network_cut_out_of_the_shared_weights() -> None:
    supernet = make()
    spec = supernet.space.spec(
        {
            "stage1.depth": 1,
            "stage1.block0.op": "conv",
            "stage1.block0.kernel": 3,
            "stage1.block0.width": 2,
            "stage2.depth": 1,
            "stage2.block0.op": "mbconv",
            "stage2.block0.kernel": 5,
            "stage2.block0.width": 8,
            "stage2.block0.expansion": 1,
        }
    )
    network = supernet.extract(spec)
    assert supernet.space.format(spec) and type(network) is type(supernet.space.build(spec, INPUT, 10))
    conv = supernet.blocks["stage1_block0"].ops["conv"][0].weight
    assert torch.equal(network.stage1_block0[0].weight, conv[:2, :4, 1:4, 1:4])  # 2 of 4 out, 3x3 centre
    # expansion 1 of 2 input channels: `MBConv` has no expansion layer; its depthwise is the shared one's
    depthwise = supernet.blocks["stage2_block0"].ops["mbconv"][1][0].weight
    assert torch.equal(network.stage2_block0[0][0].weight, depthwise[:2])


def test_training_one_path_trains_the_weights_of_the_paths_that_share_them() -> None:
    supernet = make()
    spec = supernet.space.random(0)
    other = {**spec.choices}
    prefix = "stage1.block0."
    other[prefix + "kernel"] = 5 if spec.choices[prefix + "kernel"] == 3 else 3
    before = supernet.extract(supernet.space.spec(other)).state_dict()
    x, y = torch.randn(8, *INPUT), torch.randint(0, 10, (8,))
    F.cross_entropy(supernet(x, supernet.one_hot(spec)), y).backward()
    with torch.no_grad():  # one SGD step (torch.optim's first use imports for seconds)
        for p in supernet.weight_parameters():
            if p.grad is not None:
                p -= 0.1 * p.grad
    after = supernet.extract(supernet.space.spec(other)).state_dict()
    assert any(not torch.equal(before[key], after[key]) for key in before if key.startswith("stage1_block0."))


def test_hard_samples_run_one_op_per_block_and_the_gradient_reaches_widths_and_kernels() -> None:
    supernet = make()
    supernet.hard_samples = True
    torch.manual_seed(0)
    weights = supernet.mixing_weights(gumbel=True, temperature=1.0)
    ran: set[str] = set()
    for name, module in supernet.named_modules():
        if name.startswith("blocks.") and isinstance(module, nn.BatchNorm2d):
            module.register_forward_hook(lambda m, i, o, name=name: ran.add(name.rsplit(".", 2)[0]))
    spec = supernet.derive(weights, guard=False)
    out = supernet(x := torch.randn(8, *INPUT), weights)
    blocks = {name.split(".")[1] for name in ran}
    assert len(ran) == len(blocks) == sum(spec.choices[f"stage{s}.depth"] for s in (1, 2))
    with torch.no_grad():
        assert torch.allclose(out, supernet(x, supernet.one_hot(spec)), atol=1e-5)
    F.cross_entropy(out, torch.randint(0, 10, (8,))).backward()
    grads = {name: alpha.grad for name, alpha in zip(supernet.searched, supernet.alphas, strict=True)}
    for kind in ("width", "kernel"):
        assert grads[f"stage1.block0.{kind}"] is not None
        assert grads[f"stage1.block0.{kind}"].abs().sum() > 0, kind
