"""A proxy-guided search through the engine: its pool is scored with the engine's data-free proxies (cached
in the profiling cache), and nothing it proposes breaks a params budget (the engine gives the limit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nas_workbench as nw
from nas_workbench.testing.workers import score
from tests.engine.conftest import cheap_config


@pytest.mark.slow  # about 30 s on a loaded 2-core machine
def test_proxy_guided_search_scores_its_pool_and_keeps_to_the_budget(tmp_path: Path) -> None:
    config = cheap_config(
        f"sqlite:///{tmp_path / 'study.db'}",
        "proxy_guided",
        strategy="proxy_guided",
        # `score` trains nothing, so any zero-cost score would cost more than a quarter of a training and
        # be priced out (`score_share`); a real training is slower than the proxies
        strategy_options={"pool_size": 40, "score_share": 1e6},
        objectives=["accuracy"],
        budget={"params": 2_000},
        n_trials=8,
    )
    run = nw.search(config, evaluate=score).run()
    trials = run.study.trials
    assert len(trials) == 8
    pool = trials[-1].system_attrs["proxy_guided:pool"]
    assert pool["size"] == min(40, run.space.size()) and pool["seconds"] > 0
    assert set(trials[-1].system_attrs["proxy_guided:trust"]) == {"params", "synflow", "flops"}
    over = [t.number for t in trials if max(t.constraints.values(), default=0.0) > 0]
    assert not over, over
    cached = json.loads((tmp_path / "cache" / "proxies" / "chain.json").read_text())
    assert sum(key.startswith("synflow|") for key in cached) == pool["size"]
