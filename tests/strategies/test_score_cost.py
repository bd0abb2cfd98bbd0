"""The proxy-guided search's zero-cost scores, priced against its trainings: withheld until a trial has
completed (the counted costs rank the first), then kept, with the candidates ranked without them scored
too, or dropped once a trial's scorings cost more than ``score_share`` of a training."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pytest

from nas_workbench import strategies
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.pool import CandidatePool
from nas_workbench.strategies.proxy_guided import ProxyGuidedSampler
from nas_workbench.strategies.score_cost import PROBES
from tests.strategies.test_proxy_guided import GridSpace, accuracy, latency, search


def guided(scores: Callable[[ArchSpec], dict[str, float]], **options: float) -> ProxyGuidedSampler:
    """A seeded proxy-guided sampler over the grid with a counted cost (``params``) and ``scores``,
    scoring 10 candidates before each trial."""
    sampler = strategies.make_sampler(
        "proxy_guided",
        seed=0,
        space=GridSpace(),
        costs=lambda s: {"params": latency(s)},
        scores=scores,
        score_batch=10,
        **options,
    )
    assert isinstance(sampler, ProxyGuidedSampler)
    return sampler


@pytest.mark.parametrize(("training_s", "dropped"), [(0.001, True), (100.0, False), (None, False)])
def test_scores_are_withheld_from_the_first_trial_then_kept_or_dropped_by_their_price(
    training_s: float | None, dropped: bool
) -> None:
    """The first trial ranks by the counted cost alone: no scoring before it. Once it has completed, the
    scores are priced on `PROBES` candidates: 40 scorings of 2 ms a trial (a batch of 10, a climb of 30)
    cost 80 trainings of 1 ms, so they are dropped, never computed again and given no weight; against
    trainings of 100 s, or when no training time is recorded (a sampler driven without the engine), they
    are kept, and every candidate ranked without them gets them."""
    calls = []

    def dear(spec: ArchSpec) -> dict[str, float]:
        calls.append(spec.to_json())
        time.sleep(0.002)
        return {"quality": accuracy(spec)}

    sampler = guided(dear)
    study = search(sampler, GridSpace(), 5, training_s=training_s)
    trust = [t.system_attrs["proxy_guided:trust"] for t in study.trials]
    assert (
        list(trust[0]) == ["params"]
        and "quality" not in study.trials[0].system_attrs["proxy_guided:prior"]["ranks"]
    )
    if dropped:
        assert len(calls) == PROBES
        assert all("quality" not in t and t["params"] > 0.0 for t in trust[1:])
    else:
        assert len(calls) >= 5 * 10 and len(calls) == len(set(calls))  # the cache-free scores, once each
        assert all(t["quality"] > 0.0 for t in trust[1:])
        assert np.isfinite(sampler.pool.column("quality")).all()  # the first trial's candidates too


def test_the_price_is_the_median_scoring_not_the_set_up() -> None:
    """A scorer whose first call pays a set-up of 0.3 s and then 1 ms a call is cheap against trainings of
    10 s (40 scorings a trial: 0.04 s), although the mean of the probes (over 0.1 s a call: 4 s a trial)
    would call it dear."""
    calls = []

    def set_up_once(spec: ArchSpec) -> dict[str, float]:
        time.sleep(0.3 if not calls else 0.001)
        calls.append(spec.to_json())
        return {"quality": accuracy(spec)}

    sampler = guided(set_up_once)
    study = search(sampler, GridSpace(), 3, training_s=10.0)
    assert all(t.system_attrs["proxy_guided:trust"]["quality"] > 0.0 for t in study.trials[1:])


def test_a_trials_scorings_count_its_climb() -> None:
    """Scorings of 8 ms a candidate against trainings of 1 s: a batch of 10 (0.08 s) is within a quarter of
    a training, but a trial also scores the 30 mutations its pool climbs by (0.32 s in all): dropped."""

    def scores(spec: ArchSpec) -> dict[str, float]:
        time.sleep(0.008)
        return {"quality": accuracy(spec)}

    sampler = guided(scores)
    study = search(sampler, GridSpace(), 3, training_s=1.0)
    assert all("quality" not in t.system_attrs["proxy_guided:trust"] for t in study.trials)
    kept = guided(scores, mutations=0)  # no climb: 10 scorings a trial
    study = search(kept, GridSpace(), 3, training_s=1.0)
    assert all(t.system_attrs["proxy_guided:trust"]["quality"] > 0.0 for t in study.trials[1:])


def test_a_pool_gains_a_column_when_an_estimator_starts_giving_values() -> None:
    """Candidates added while an estimator gave nothing lack its values (NaN, ranked lowest) until `fill`
    asks it again; a candidate added once it gives values widens the pool by its column."""
    giving = {"now": False}

    def later(spec: ArchSpec) -> dict[str, float]:
        return {"quality": accuracy(spec)} if giving["now"] else {}

    pool = CandidatePool(GridSpace(), 50, [lambda s: {"params": latency(s)}, later], seed=0, scored=10)
    assert pool.names == ("params",) and pool.values.shape == (10, 1)
    giving["now"] = True
    pool.score_more(5)
    assert pool.names == ("params", "quality") and pool.values.shape == (15, 2)
    assert np.isnan(pool.column("quality")[:10]).all() and np.isfinite(pool.column("quality")[10:]).all()
    assert pool.column("params").tolist() == [latency(s) for s in pool.specs]
    assert pool.fill(later) == 10 and pool.fill(later) == 0
    assert pool.column("quality").tolist() == [accuracy(s) for s in pool.specs]
    assert math.isfinite(pool.seconds)
