"""Budgets relative to the machine: the grammar, resolution on this device, storage with the study, resume."""

from __future__ import annotations

import dataclasses
import itertools
import json

import optuna
import pytest

import nas_workbench as nw
from nas_workbench.engine.feasibility import architecture_value
from nas_workbench.engine.preflight import budget_report
from nas_workbench.engine.relative import ResolvedBudget, resolve_budget
from nas_workbench.engine.study_record import read_record, write_record
from nas_workbench.exceptions import ConfigError, InfeasibleBudgetError
from nas_workbench.relative_budget import parse_relative_budget
from nas_workbench.testing.workers import TINY_CHAIN, score
from tests.engine.conftest import cheap_config


@pytest.mark.parametrize(
    ("text", "quantile", "factor", "reference"),
    [
        ("p30", 30.0, None, None),
        ("P5", 5.0, None, None),
        ("p100", 100.0, None, None),
        ("1.5x fastest", None, 1.5, None),
        ("2 x  Smallest", None, 2.0, None),
        ("2x conv3x3-w8 | ", None, 2.0, "conv3x3-w8 |"),
    ],
)
def test_the_grammar(text, quantile, factor, reference):
    parsed = parse_relative_budget("budget.latency_ms", text)
    assert (parsed.quantile, parsed.factor, parsed.reference) == (quantile, factor, reference)


@pytest.mark.parametrize("text", ["p0", "p101", "fast", "x fastest", "0x fastest", "1.5", "p30%", "1.5x"])
def test_bad_relative_limits_name_the_field_the_value_and_the_grammar(text):
    with pytest.raises(ConfigError) as info:
        nw.SearchConfig(budget={"latency_ms": text}).validate()
    assert info.value.field == "budget.latency_ms" and info.value.value == text
    assert "'pQ'" in info.value.allowed and "'Fx fastest'" in info.value.allowed


def test_a_number_in_quotes_is_told_to_drop_them():
    """budget={"latency_ms": "5"} was told the relative grammar alone (h3)."""
    with pytest.raises(ConfigError) as info:
        nw.SearchConfig(budget={"latency_ms": "5"}).validate()
    assert info.value.allowed.startswith("a number in the metric's unit (5, not in quotes), or a limit")


def test_counted_metrics_take_no_relative_limit():
    with pytest.raises(ConfigError) as info:
        nw.SearchConfig(budget={"params": "p30"}).validate()
    assert info.value.field == "budget.params" and "same on every machine" in info.value.allowed


def test_a_reference_outside_the_space_is_refused():
    with pytest.raises(ConfigError) as info:
        nw.SearchConfig(budget={"latency_ms": "2x not-an-architecture"}).validate()
    assert info.value.field == "budget.latency_ms" and "reference architecture" in info.value.allowed


def test_a_relative_budget_resolves_is_stored_and_survives_resume(storage, tiny_task):
    config = cheap_config(storage, "relative", threads=1, n_trials=2, budget={"latency_ms": "p50"})
    run = nw.search(config, evaluate=score, data=tiny_task)
    limit = run.config.budget["latency_ms"]
    space = nw.spaces.get("chain", **TINY_CHAIN)
    latency = architecture_value(space, "latency_ms", (1, 8, 8), 2, threads=1)
    values = [latency(spec) for spec in nw.spaces.enumerate_specs(space)]
    assert min(values) / 3 < limit < max(values) * 3  # a median of this space's latencies, give or take noise
    record = read_record(run.study)
    assert record.budget == {"latency_ms": limit}
    assert record.config["budget"] == {"latency_ms": "p50"}  # the relative form, as given
    stored = record.budget_resolved["latency_ms"]
    assert (stored["spec"], stored["value"], stored["unit"], stored["device"]) == (
        "p50",
        limit,
        "ms",
        "this CPU",
    )
    run.run()
    assert run.trials_done() == 2

    # A resume uses the stored value, never a new resolution: mark it, and resume with more trials.
    marked = record.with_changes(budget_resolved={"latency_ms": {**stored, "value": 123.0}})
    write_record(optuna.load_study(study_name="relative", storage=storage), marked)
    resumed = nw.search(config.replace(n_trials=3), evaluate=score, data=tiny_task).run()
    assert resumed.config.budget["latency_ms"] == 123.0 and resumed.trials_done() == 3
    assert resumed.results()[-1].status == "ok"  # judged by the stored limit: 123 ms fits any of them


def test_a_factor_of_the_fastest_is_at_least_that_factor_of_some_architecture(storage, tiny_task):
    config = cheap_config(storage, "fastest", threads=1, budget={"peak_memory_mb": "1.5x smallest"})
    run = nw.search(config, evaluate=score, data=tiny_task)
    resolved = run.resolved_budget["peak_memory_mb"]
    space = nw.spaces.get("chain", **TINY_CHAIN)
    memory = architecture_value(space, "peak_memory_mb", (1, 8, 8), 2, threads=1)
    floor = min(memory(spec) for spec in nw.spaces.enumerate_specs(space))
    assert resolved.value == pytest.approx(1.5 * floor, rel=0.05)
    assert resolved.label().endswith("MB (1.5x smallest on this CPU)")
    assert space.parse(resolved.reference)  # the fastest architecture found, in the space's notation


def test_a_resolved_quantile_reports_the_spread_of_its_sample():
    space = nw.spaces.get("chain")
    params = architecture_value(space, "params", (1, 8, 8), 2)
    resolved = resolve_budget(space, "latency_ms", "p60", params, sample_size=24)
    low, high = resolved.interval
    assert low < resolved.value < high  # 24 different networks: a percentile that could move
    assert "24 random architectures" in resolved.detail and "90% bootstrap interval" in resolved.detail
    assert ResolvedBudget.from_dict(json.loads(json.dumps(resolved.to_dict()))) == resolved
    stored_before = {k: v for k, v in resolved.to_dict().items() if k != "interval"}  # an older study's
    assert ResolvedBudget.from_dict(stored_before).interval is None


@pytest.mark.parametrize(
    ("text", "met"),
    [("p1", True), ("p50", True), ("1x fastest", True), ("1.5x fastest", True), ("0.8x fastest", False),
     ("2x c3-r1-o0", True), ("0.5x c3-r1-o0", False)],
)  # fmt: skip
def test_a_limit_is_met_when_resolved_where_resolving_profiled_a_network_within_it(text, met):
    resolved = ResolvedBudget("latency_ms", text, 1.0, "ms", "this CPU", "how")
    assert resolved.met_when_resolved is met


@pytest.fixture
def slowing_machine(monkeypatch, tmp_path):
    """Each latency this search profiles 1.5x the one before: the tiny space's 4 networks
    time slower after resolving than while resolving, as near-equal networks can by timing noise alone."""
    import nas_workbench.engine.feasibility as feasibility

    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))  # resolved here, not reused
    measured, slower = feasibility.profile, itertools.count()

    def profile(*args, **kwargs):
        figures = measured(*args, **kwargs)
        factor = 1.5 ** next(slower)
        slowed = {m: dataclasses.replace(f, value=f.value * factor) for m, f in figures.measurements.items()}
        return dataclasses.replace(figures, measurements=slowed)

    monkeypatch.setattr(feasibility, "profile", profile)


def test_a_percentile_is_not_refused_when_the_space_times_slower_after_resolving_it(
    storage, tiny_task, slowing_machine
):
    """A tiny space's p50 resolved to 0.137 ms, the check then confirmed its fastest at 0.1405 ms, and the
    search was refused, telling the user to state the limit relative to the device: they had."""
    config = cheap_config(storage, "slowing", threads=1, n_trials=1, budget={"latency_ms": "p50"})
    run = nw.search(config, evaluate=score, data=tiny_task)
    assert run.resolved_budget["latency_ms"].spec == "p50"
    assert budget_report(config, tiny_task)["latency_ms"].startswith("reachable: ")  # the widget's check


def test_a_factor_under_1_of_the_fastest_is_still_checked_and_refused(storage, tiny_task, slowing_machine):
    config = cheap_config(storage, "under", threads=1, n_trials=1, budget={"latency_ms": "0.5x fastest"})
    with pytest.raises(InfeasibleBudgetError, match=r"budget\.latency_ms: no architecture"):
        nw.search(config, evaluate=score, data=tiny_task)
