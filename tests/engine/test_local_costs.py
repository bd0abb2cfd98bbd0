"""A latency budget on this machine: the strategies are told each candidate's lookup-table latency when the
table's stored fit quality is trusted, else nothing, and the log says which and why."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch

import nas_workbench as nw
from nas_workbench.engine.budget import CandidateCosts
from nas_workbench.engine.local_costs import LutLatency, local_predictions
from nas_workbench.engine.preflight import Networks
from nas_workbench.profiling._trace import trace
from nas_workbench.profiling.correction import Correction
from nas_workbench.profiling.lut import LookupTable, predict_latency

NETWORKS = Networks((1, 8, 8), 10, 1.0, 1, "cpu", "measured", 1)
CONFIG = nw.SearchConfig(space="chain", budget={"latency_ms": 0.5})
TRUSTED = {"loo_spearman": 0.97, "loo_within_10pct": 0.9}
SPEC = nw.spaces.get("chain").random(random.Random(0))


def calibrated(quality: dict[str, float] | None) -> LookupTable:
    """This machine's table (in the test's cache) with a correction for chain@1x1x8x8 of ``quality`` and
    an entry of 10 us for every operator of `SPEC`'s network (so nothing is timed)."""
    table = LookupTable.for_device("cpu", 1)
    if quality is not None:
        table.corrections["chain@1x1x8x8"] = Correction(scale=1.1, kind="scale", quality=quality)
    table.entries.update({op.key: 0.01 for op in trace(network(), (1, 8, 8)).ops})
    table.save()
    return table


def network() -> torch.nn.Module:
    return nw.spaces.get("chain").build(SPEC, (1, 8, 8), 10)


@contextmanager
def logged(said: list[str]) -> Iterator[None]:
    """The workbench's log messages of the block, appended to ``said``."""
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("nas_workbench")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def told(said: list[str], config: nw.SearchConfig = CONFIG) -> dict:
    with logged(said):
        return local_predictions(config, nw.spaces.get("chain"), lambda: NETWORKS, None)


def test_a_trusted_table_predicts_each_candidate_once_across_searches() -> None:
    table = calibrated(TRUSTED)
    said: list[str] = []
    predictors = told(said)
    assert list(predictors) == ["predicted_latency_ms"] and "telling the strategies" in said[0]
    predict = predictors["predicted_latency_ms"]
    assert isinstance(predict, LutLatency)
    expected = predict_latency(network(), (1, 8, 8), table, space="chain").value
    assert predict(SPEC) == pytest.approx(expected) and predict.traced == 1
    assert expected == pytest.approx(1.1 * 0.01 * len(trace(network(), (1, 8, 8)).ops))
    predict.save()
    again = told([])["predicted_latency_ms"]
    assert again(SPEC) == pytest.approx(expected) and again.traced == 0  # a second search traces nothing


def test_an_untrusted_or_uncalibrated_table_is_not_told() -> None:
    calibrated({"loo_spearman": 0.62, "loo_within_10pct": 0.9})
    said: list[str] = []
    assert told(said) == {}
    assert "Spearman 0.62" in said[0] and "learn it from the trials" in said[0]


def test_an_uncalibrated_table_says_how_to_calibrate() -> None:
    calibrated(None)
    said: list[str] = []
    assert told(said) == {}
    assert "nas-workbench calibrate" in said[0] and "--spaces chain" in said[0]


def test_a_budget_without_latency_tells_nothing() -> None:
    calibrated(TRUSTED)
    said: list[str] = []
    assert told(said, nw.SearchConfig(space="chain", budget={"params": 1e5})) == {} and said == []


def test_the_counted_costs_never_wait_for_a_prediction() -> None:
    calls: list[str] = []

    def predict(spec: nw.ArchSpec) -> float:
        calls.append(spec.id)
        return 0.3

    space = nw.spaces.get("chain")
    costs = CandidateCosts(lambda: NETWORKS, space, None, predicted={"predicted_latency_ms": predict})
    spec = space.random(random.Random(1))
    told_costs = costs(spec)
    assert told_costs["params"] > 0 and calls == []  # the cost prior ranks thousands by their parameters
    assert dict(told_costs) == {"params": told_costs["params"], "predicted_latency_ms": 0.3}
    assert len(calls) == 1
