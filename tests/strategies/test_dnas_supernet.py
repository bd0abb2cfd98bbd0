"""Supernets of the relaxable spaces: one-hot weights give the standalone network exactly, gradients reach
every architecture weight, and derivation always gives an architecture of the space."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import nas_workbench as nw
from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies.dnas import CellSupernet, ChainSupernet, Supernet, build_supernet
from tests.strategies.conftest import DNAS_CHAIN

INPUT = (1, 8, 8)

#: Small spaces of each kind, with choices that change shapes (widths, depths, strides, expansions).
SPACES = {
    "nb201": ("nb201", {"num_cells": 1, "stem_channels": 4}),
    "cell": (
        "cell",
        {"num_cells": 2, "stem_channels": 4, "num_nodes": 3, "ops": ("none", "sep_conv_3x3", "max_pool_3x3")},
    ),
    "chain": ("chain", DNAS_CHAIN),
    "chain_strided": (
        "chain",
        {
            "num_stages": 3,
            "max_depth": 3,
            "stem_channels": 8,
            "widths": (4, 8, 8),
            "strides": (2, 1, 2),
            "ops": ("dwsep", "mbconv"),
            "kernel_sizes": (3,),
            "expansions": (2,),
        },
    ),
}


def make(key: str, **kwargs: object) -> Supernet:
    name, options = SPACES[key]
    torch.manual_seed(0)
    return build_supernet(nw.spaces.get(name, **options), INPUT, 10, **kwargs)


def train_briefly(supernet: Supernet, steps: int = 3) -> None:
    """A few weight steps, so that exactness is checked on trained weights and running statistics too."""
    optimizer = torch.optim.SGD(supernet.weight_parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(1)
    supernet.train()
    for _ in range(steps):
        x, y = torch.randn(8, *INPUT, generator=generator), torch.randint(0, 10, (8,), generator=generator)
        loss = F.cross_entropy(supernet(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("key", SPACES)
def test_one_hot_weights_compute_the_standalone_network(key: str) -> None:
    """Up to float rounding: the chain supernet convolves a 3x3 kernel as the centre of a zero-bordered 5x5
    one, which sums the same products in another order (differences of 1e-7 measured)."""
    supernet = make(key)
    train_briefly(supernet)
    x = torch.randn(6, *INPUT, generator=torch.Generator().manual_seed(2))
    for seed in range(6):
        spec = supernet.space.random(seed)
        network = supernet.extract(spec)
        assert type(network) is type(supernet.space.build(spec, INPUT, 10))
        for training in (False, True):  # running statistics, then batch statistics
            supernet.train(training)
            network.train(training)
            with torch.no_grad():
                torch.testing.assert_close(
                    supernet(x, supernet.one_hot(spec)), network(x), rtol=0, atol=1e-5,
                    msg=lambda m, spec=spec: f"{supernet.space.summary(spec)}: {m}",
                )  # fmt: skip


@pytest.mark.parametrize("key", SPACES)
def test_export_gives_every_weight_of_the_standalone_network(key: str) -> None:
    supernet = make(key)
    spec = supernet.space.random(3)
    standalone = supernet.space.build(spec, INPUT, 10)
    assert set(supernet.export_state(spec)) == set(standalone.state_dict())


@pytest.mark.parametrize("key", SPACES)
def test_gradients_reach_every_architecture_weight(key: str) -> None:
    supernet = make(key)
    x, y = torch.randn(8, *INPUT), torch.randint(0, 10, (8,))
    F.cross_entropy(supernet(x), y).backward()
    for name, alpha in supernet.logits().items():
        assert alpha.grad is not None and torch.isfinite(alpha.grad).all(), name
        assert alpha.grad.abs().sum() > 0, f"no gradient reaches {name}"


def test_weights_and_architecture_parameters_are_disjoint() -> None:
    supernet = make("chain")
    arch = {id(p) for p in supernet.arch_parameters()}
    weights = {id(p) for p in supernet.weight_parameters()}
    assert arch and weights and not arch & weights
    assert arch | weights == {id(p) for p in supernet.parameters()}


@pytest.fixture(scope="module")
def supernets() -> dict[str, Supernet]:
    return {key: make(key) for key in SPACES}


@pytest.mark.parametrize("key", SPACES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_derivation_always_yields_a_valid_spec(
    key: str, supernets: dict[str, Supernet], data: st.DataObject
) -> None:
    supernet = supernets[key]
    values = st.sampled_from([0.0, 1.0, -1.0]) | st.floats(-50, 50, allow_nan=False)
    with torch.no_grad():
        for alpha in supernet.arch_parameters():
            alpha.copy_(torch.tensor(data.draw(st.lists(values, min_size=len(alpha), max_size=len(alpha)))))
    spec = supernet.derive(guard=False)
    supernet.space.validate(spec)
    probabilities = supernet.probabilities()
    for name, choice in spec.choices.items():  # each decision takes a most likely choice
        p = probabilities[name]
        assert p[supernet.decisions[name].index(choice)] == p.max()
    guarded = supernet.space.validate(supernet.derive())
    if isinstance(supernet, CellSupernet):  # the collapse guard: a learnable path from input to output
        assert supernet.learnable_path(guarded)
        assert guarded == spec or not supernet.learnable_path(spec)
    else:
        assert guarded == spec


def test_fixed_choices_are_not_searched_and_stay_in_the_derived_architecture() -> None:
    supernet = make("chain", fixed={"stage1.depth": 2, "stage1.block1.op": "conv"})
    assert "stage1.depth" not in supernet.logits()
    with torch.no_grad():
        for alpha in supernet.arch_parameters():
            alpha.normal_()
    spec = supernet.derive()
    assert spec.choices["stage1.depth"] == 2 and spec.choices["stage1.block1.op"] == "conv"


def test_fixed_choice_must_be_a_decision_and_a_choice_of_it() -> None:
    with pytest.raises(ConfigError, match=r"fixed_choices\.stage9\.depth"):
        make("chain", fixed={"stage9.depth": 1})
    with pytest.raises(ConfigError, match=r"fixed_choices\.stage1\.depth.*one of \[1, 2\]"):
        make("chain", fixed={"stage1.depth": 5})


def test_gumbel_softmax_weights_are_random_distributions() -> None:
    supernet = make("nb201")
    torch.manual_seed(0)
    first, second = (
        supernet.mixing_weights(gumbel=True, temperature=1.0),
        supernet.mixing_weights(gumbel=True),
    )
    for name in supernet.decisions:
        assert torch.allclose(first[name].sum(), torch.tensor(1.0))
        assert not torch.equal(first[name], second[name])
    softmax, probabilities = supernet.mixing_weights(), supernet.probabilities()
    assert all(torch.equal(softmax[name], probabilities[name]) for name in supernet.decisions)


def test_the_cell_supernet_shares_one_weight_vector_per_edge_across_cells() -> None:
    supernet = make("cell")
    assert isinstance(supernet, CellSupernet)
    assert sorted(supernet.decisions) == ["node1.from0", "node2.from0", "node2.from1"]
    assert len(supernet.arch_parameters()) == 3  # not per cell: 2 cells x 3 stages share them


def test_the_chain_supernet_relaxes_depth_width_op_kernel_and_expansion() -> None:
    supernet = make("chain")
    assert isinstance(supernet, ChainSupernet)
    kinds = {name.rsplit(".", 1)[1] for name in supernet.decisions}
    assert kinds == {"depth", "op", "kernel", "width", "expansion"}


def test_a_space_without_relaxation_is_refused_with_the_reason_and_the_strategies_that_fit() -> None:
    with pytest.raises(ConfigError) as error:
        build_supernet(nw.spaces.get("multi_branch"), INPUT, 10)
    message = str(error.value)
    assert error.value.field == "strategy"
    assert "'multi_branch' space has no continuous relaxation" in message
    assert "structure" in message  # why
    sampling = [name for name in nw.strategies.list() if not nw.strategies.get(name).relaxation]
    assert f"sample architectures: {', '.join(sampling)}" in message  # which strategies fit
    assert "'dnas' fits the cell, chain, nb201 spaces" in message


def test_hard_samples_run_one_sampled_network_and_still_train_the_logits() -> None:
    """GDAS (``sampled_paths``): one-hot samples forward, so a pass computes the sampled network alone
    (the speed-up), and the straight-through gradient still reaches the logits (the chain supernet's
    version: tests/strategies/test_dnas_chain.py)."""
    supernet = make("nb201")
    supernet.hard_samples = True
    torch.manual_seed(0)
    weights = supernet.mixing_weights(gumbel=True, temperature=1.0)
    assert all(int((w != 0).sum()) == 1 for w in weights.values())
    spec = supernet.derive(weights, guard=False)  # the sampled architecture
    calls: list[str] = []
    for name, module in supernet.named_modules():
        if name.endswith(tuple(f".candidates.{k}" for k in range(9))):
            module.register_forward_hook(lambda m, i, o, name=name: calls.append(name))
    x, y = torch.randn(8, *INPUT), torch.randint(0, 10, (8,))
    out = supernet(x, weights)
    sampled = len(calls)
    with torch.no_grad():
        supernet(x)  # the softmax: every live candidate
    assert 0 < sampled < (len(calls) - sampled) / 4  # 18 candidates of 90
    with torch.no_grad():
        assert torch.allclose(out, supernet(x, supernet.one_hot(spec)), atol=1e-5)
    F.cross_entropy(out, y).backward()
    assert any(alpha.grad is not None and alpha.grad.abs().sum() > 0 for alpha in supernet.logits().values())
