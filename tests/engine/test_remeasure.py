"""An unstable figure over its limit is measured again before the trial is judged over budget by it."""

from __future__ import annotations

import pytest

import nas_workbench as nw
from nas_workbench.engine.remeasure import REMEASURES, settled
from nas_workbench.profiling import Measurement
from nas_workbench.profiling import _profile as profile_module
from nas_workbench.profiling.stable_figures import StableFigures
from nas_workbench.testing.workers import score
from tests.engine.conftest import cheap_config


def timing(ms: float, stable: bool) -> Measurement:
    detail = {"stable": stable} if stable else {"stable": False, "unstable_reason": "load moved"}
    return Measurement(ms, "ms", "measured", "cpu wall clock", detail)


def again(*figures: Measurement):
    queue = list(figures)
    calls: list[str] = []

    def measure(name: str) -> Measurement:
        calls.append(name)
        return queue.pop(0)

    return measure, calls


def test_an_unstable_figure_over_its_limit_gives_way_to_the_next_stable_one():
    measure, calls = again(timing(0.6, stable=True))
    found = settled({"latency_ms": timing(264.0, stable=False)}, {"latency_ms": 1.0}, measure)
    assert calls == ["latency_ms"]
    assert found["latency_ms"].value == 0.6 and found["latency_ms"].detail["earlier_figures"] == [264.0]


def test_a_figure_that_stays_unstable_is_judged_by_its_lowest_and_keeps_its_mark():
    measure, calls = again(timing(3.0, stable=False), timing(80.0, stable=False))
    found = settled({"latency_ms": timing(264.0, stable=False)}, {"latency_ms": 1.0}, measure)
    assert len(calls) == REMEASURES
    assert found["latency_ms"].value == 3.0 and found["latency_ms"].detail["stable"] is False
    assert found["latency_ms"].detail["earlier_figures"] == [264.0, 80.0]


def test_stable_figures_and_unstable_ones_within_the_limit_are_not_measured_again():
    measure, calls = again()
    given = {"latency_ms": timing(5.0, stable=True), "peak_memory_mb": timing(0.5, stable=False)}
    assert settled(given, {"latency_ms": 1.0, "peak_memory_mb": 1.0}, measure) == given
    assert calls == []


@pytest.fixture
def timings(monkeypatch) -> list[Measurement]:
    """The latency timings the next profiles report, in order (then stable 0.5 ms ones): no network is timed,
    and no stable figure of this process stands in for an unstable one."""
    queue: list[Measurement] = []
    monkeypatch.setattr(
        profile_module, "measure_latency", lambda *a, **k: queue.pop(0) if queue else timing(0.5, True)
    )
    monkeypatch.setattr(profile_module, "STABLE_FIGURES", StableFigures())
    return queue


def budgeted_search(storage, tiny_task, name: str) -> nw.SearchRun:
    config = cheap_config(storage, name, threads=1, n_trials=1, budget={"latency_ms": 50.0},
                          profile_metrics=["params", "latency_ms"])  # fmt: skip
    return nw.search(config, evaluate=score, data=tiny_task)


def test_a_search_trains_the_network_its_first_wild_timing_put_over_budget(storage, tiny_task, timings):
    run = budgeted_search(storage, tiny_task, "wild")  # the budget's check before the search times too
    timings.append(timing(264.0, stable=False))
    (trial,) = run.run().results()
    latency = trial.metrics["latency_ms"]
    assert trial.status == "ok", trial.reason
    assert latency["value"] == 0.5 and latency["detail"]["earlier_figures"] == [264.0]


def test_the_reason_of_a_trial_judged_by_an_unstable_figure_says_so(storage, tiny_task, timings):
    run = budgeted_search(storage, tiny_task, "wild-always")
    timings.extend(timing(264.0 - k, stable=False) for k in range(1 + REMEASURES))
    (trial,) = run.run().results()
    assert (
        trial.status == "infeasible"
        and trial.reason == f"over budget: latency_ms {264 - REMEASURES} > 50 ms (unstable)"
    )
