"""Zero-cost proxies: finite on every space, data-independent where they claim to be, clear errors."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from nas_workbench import spaces
from nas_workbench.estimation import PROXIES, ProxyError, proxy_score, rank_candidates
from nas_workbench.exceptions import UnknownNameError
from nas_workbench.task import Task, load_task


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny networks: one thread is faster than two that wait on each other on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits() -> Task:
    return load_task("digits", seed=0)


@pytest.fixture(scope="module")
def batch(digits: Task) -> tuple[torch.Tensor, torch.Tensor]:
    return digits.x_train[:32], digits.y_train[:32]


def _model(space_name: str, seed: int, digits: Task) -> nn.Module:
    space = spaces.get(space_name)
    torch.manual_seed(seed)
    return space.build(space.random(seed), digits.input_shape, digits.num_classes)


def test_the_issue_s_proxies_are_registered() -> None:
    assert {"synflow", "naswot", "snip", "grad_norm", "params", "flops"} <= set(PROXIES)


@pytest.mark.parametrize("space_name", spaces.list())
def test_every_proxy_gives_a_finite_score_on_every_space(space_name: str, digits: Task, batch) -> None:
    for seed in (0, 1):
        model = _model(space_name, seed, digits)
        for name in PROXIES:
            score = proxy_score(name, model, *batch)
            assert isinstance(score, float) and math.isfinite(score), (space_name, seed, name, score)


def test_unknown_proxy_is_a_clear_error() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown proxy 'synflo'.*synflow.*Did you mean 'synflow'"):
        proxy_score("synflo", nn.Linear(2, 2), torch.zeros(1, 2), torch.zeros(1, dtype=torch.long))


def test_synflow_does_not_depend_on_the_data(digits: Task, batch) -> None:
    model = _model("nb201", 0, digits)
    noise = torch.randn_like(batch[0]) * 5
    other_labels = (batch[1] + 3) % digits.num_classes
    assert proxy_score("synflow", model, *batch) == proxy_score("synflow", model, noise[:4], other_labels[:4])
    # ...while the data-dependent proxies do depend on it.
    for name in ("naswot", "snip", "grad_norm"):
        assert proxy_score(name, model, *batch) != proxy_score(name, model, noise, other_labels), name


def test_scoring_leaves_the_model_untouched(digits: Task, batch) -> None:
    model = _model("chain", 0, digits)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    for name in PROXIES:
        proxy_score(name, model, *batch)
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_scores_are_deterministic(digits: Task, batch) -> None:
    model = _model("multi_branch", 3, digits)
    for name in PROXIES:
        assert proxy_score(name, model, *batch) == proxy_score(name, model, *batch), name


def test_size_baselines_count_exactly() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.ReLU(), nn.Linear(10, 3))
    inputs, targets = torch.randn(8, 1, 8, 8), torch.zeros(8, dtype=torch.long)
    assert proxy_score("params", model, inputs, targets) == 64 * 10 + 10 + 10 * 3 + 3
    assert proxy_score("flops", model, inputs, targets) == 2 * (64 * 10 + 10 * 3)  # per example


def test_naswot_rewards_networks_that_tell_inputs_apart(batch) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    inputs, targets = batch
    distinct = proxy_score("naswot", model, inputs, targets)
    repeated = proxy_score("naswot", model, inputs[:1].repeat(len(inputs), 1, 1, 1), targets)
    assert math.isfinite(repeated) and distinct > repeated + 100
    with pytest.raises(ProxyError, match="rectifier"):
        proxy_score("naswot", nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), inputs, targets)


def test_rank_candidates_orders_best_first(digits: Task, batch) -> None:
    space = spaces.get("chain")
    specs = [space.random(seed) for seed in range(5)]
    ranked = rank_candidates(space, specs, "params", *batch, num_classes=digits.num_classes)
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)
    assert sorted(s.id for s, _ in ranked) == sorted(s.id for s in specs)


def test_an_architecture_without_a_path_from_input_to_output_scores_finite_and_lowest(batch) -> None:
    space = spaces.get("nb201")
    cut = space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    whole = space.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    )
    for name in ("synflow", "naswot"):
        scores = [proxy_score(name, space.build(spec, (1, 8, 8), 10), *batch) for spec in (cut, whole)]
        assert all(math.isfinite(s) for s in scores) and scores[0] < scores[1], (name, scores)
