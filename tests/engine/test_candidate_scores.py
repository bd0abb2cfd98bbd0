"""The engine's zero-cost scores of a candidate: data-free synflow, counted FLOPs and, in a cell space, the
counted FLOPs of the cell without its dead ops."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

import nas_workbench as nw
from nas_workbench.engine.budget import CandidateScores
from nas_workbench.engine.preflight import Networks
from nas_workbench.estimation import proxy_score

SHAPE = (3, 8, 8)


def networks() -> Networks:
    return Networks(SHAPE, 10, 1.0, 1, "cpu", "proxy", None)


def test_a_cell_scores_the_flops_of_its_live_ops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path))
    space = nw.spaces.get("cell", num_cells=1, stem_channels=4)
    scores = CandidateScores(networks, space, seed=0)
    dead = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    live = space.live(dead)
    assert live != dead
    given = scores(dead)
    assert set(given) == {"synflow", "flops", "live_flops"}
    ones, labels = torch.ones((1, *SHAPE)), torch.zeros(1, dtype=torch.long)
    counted = proxy_score("flops", space.build(live, SHAPE, 10), ones, labels)
    assert given["live_flops"] == counted < given["flops"]
    assert scores(live)["live_flops"] == scores(live)["flops"] == counted


def test_a_space_without_dead_ops_scores_no_live_flops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path))
    space = nw.spaces.get("chain")
    scores = CandidateScores(networks, space, seed=0)
    assert set(scores(space.random(random.Random(0)))) == {"synflow", "flops"}
