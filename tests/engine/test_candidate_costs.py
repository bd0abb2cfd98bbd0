"""The engine's counted costs of a candidate (`CandidateCosts`): parameters as the search counts them,
kept in the profiling cache per architecture and network shape, so a second search counts nothing."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import nas_workbench as nw
from nas_workbench.engine.budget import CandidateCosts
from nas_workbench.engine.preflight import Networks


def networks(shape: tuple[int, ...] = (3, 8, 8)) -> Networks:
    return Networks(shape, 10, 1.0, 1, "cpu", "proxy", None)


def test_parameter_counts_are_cached_per_architecture_and_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path))
    space = nw.spaces.get("chain")
    spec = space.random(random.Random(0))
    counted = float(sum(p.numel() for p in space.build(spec, (3, 8, 8), 10).parameters()))
    costs = CandidateCosts(networks, space, None)
    assert costs(spec) == {"params": counted}
    costs.save()
    stored = json.loads((tmp_path / "costs" / "chain.json").read_text())
    assert list(stored.values()) == [counted] and spec.id in next(iter(stored))
    # a second search of the space reads the count; another input shape is another network
    again = CandidateCosts(networks, space, None)
    assert again(spec) == {"params": counted}
    assert len(again._cache.scores if again._cache else {}) == 1
    wider = CandidateCosts(lambda: networks((3, 16, 16)), space, None)
    wider(spec)
    assert wider._cache is not None and len(wider._cache.scores) == 2
