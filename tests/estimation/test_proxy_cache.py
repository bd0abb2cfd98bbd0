"""Proxy scores are computed once per proxy, architecture, data and seed, and kept across processes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nas_workbench.estimation.proxies import proxy_score
from nas_workbench.estimation.proxy_cache import ProxyCache, ProxyScorer
from nas_workbench.testing.samplers import ToySpace


def test_scores_are_computed_once_and_kept_in_the_file(tmp_path: Path) -> None:
    space, path = ToySpace(), tmp_path / "proxies" / "toy.json"
    scorer = ProxyScorer(space, ["synflow", "params"], (1, 8, 8), 3, seed=0, cache=ProxyCache(path))
    spec = space.random(0)
    first = scorer(spec)
    torch.manual_seed(0)
    model = space.build(spec, (1, 8, 8), 3)
    assert first["synflow"] == proxy_score("synflow", model, torch.ones(1, 1, 8, 8), torch.zeros(1).long())
    assert first["params"] == sum(p.numel() for p in model.parameters())
    assert scorer(spec) == first and scorer.computed == 1 and scorer.seconds > 0
    scorer.cache.save()

    again = ProxyScorer(space, ["synflow", "params"], (1, 8, 8), 3, seed=0, cache=ProxyCache(path))
    assert again(spec) == first and again.computed == 0  # read from the file, not recomputed


def test_the_key_names_data_and_seed() -> None:
    space, cache = ToySpace(), ProxyCache()
    spec = space.random(1)
    seeded = ProxyScorer(space, ["synflow"], (1, 8, 8), 3, seed=0, cache=cache)
    other_seed = ProxyScorer(space, ["synflow"], (1, 8, 8), 3, seed=1, cache=cache)
    other_shape = ProxyScorer(space, ["synflow"], (1, 4, 4), 3, seed=0, cache=cache)
    for scorer in (seeded, other_seed, other_shape):
        scorer(spec)
        assert scorer.computed == 1
    assert len(cache.scores) == 3


def test_data_proxies_need_a_batch() -> None:
    with pytest.raises(ValueError, match="naswot"):
        ProxyScorer(ToySpace(), ["naswot"], (1, 8, 8), 3)
    inputs, targets = torch.randn(8, 1, 8, 8), torch.randint(0, 3, (8,))
    scorer = ProxyScorer(ToySpace(), ["naswot"], (1, 8, 8), 3, inputs=inputs, targets=targets, data="digits")
    assert "digits" in scorer.data
    assert isinstance(scorer(ToySpace().random(0))["naswot"], float)
