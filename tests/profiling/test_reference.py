"""The reference workload: a slow machine is seen, retried within the cap, and marked when it stays slow."""

from __future__ import annotations

import time

import pytest
import torch

from nas_workbench.profiling import TimingOptions, measure_latency
from nas_workbench.profiling.cache import cache_dir, read_json
from nas_workbench.profiling.latency import time_callable
from nas_workbench.profiling.reference import MIN_READINGS, SLOW_TOLERANCE, Canary

CPU = torch.device("cpu")


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class _Machine:
    """A synthetic machine that runs ``factor`` times slower than its quiet speed until ``slow_until``
    (a `time.perf_counter` value): the network and the reference slow down together, as in a slow episode."""

    def __init__(self, factor: float, slow_for_s: float) -> None:
        self.factor = factor
        self.slow_until = time.perf_counter() + slow_for_s

    def speed(self) -> float:
        return self.factor if time.perf_counter() < self.slow_until else 1.0

    def network(self) -> None:
        _spin(2e-4 * self.speed())

    def reference(self) -> None:
        _spin(5e-5 * self.speed())


def _canary(machine: _Machine, tmp_path) -> Canary:
    return Canary(machine.reference, "synthetic", baseline_s=5e-5, path=tmp_path / "reference.json")


#: Generous caps: on a machine at load 10 a timing of a few milliseconds of work can take a second.
OPTIONS = TimingOptions(
    warmup_s=0.0, min_repeats=10, max_repeats=100_000, min_block_s=0.0, clock="wall", max_time_s=3.0
)


def test_halves_agree_in_a_slow_episode_but_the_reference_sees_it(tmp_path):
    machine = _Machine(factor=2.0, slow_for_s=0.5)
    blind = time_callable(machine.network, CPU, TimingOptions(**{**vars(OPTIONS), "reference": False}))
    assert blind.stopped == "stable" and blind.estimate > 1.8 * 2e-4  # the rule alone took the episode

    machine = _Machine(factor=2.0, slow_for_s=0.5)
    canary = _canary(machine, tmp_path)
    result = time_callable(machine.network, CPU, OPTIONS, canary)
    assert canary.retries >= 1  # attempts taken while the reference ran slow were dropped
    assert result.stopped == "stable" and result.estimate < 1.2 * 2e-4
    summary = result.summary_ms(OPTIONS.rel_ci)
    assert summary["stable"] is True and summary["reference_slowdown"] <= 1 + SLOW_TOLERANCE
    assert summary["retries"] == canary.retries and summary["reference_readings"] >= MIN_READINGS
    assert summary["reference_fastest_ms"] == min(canary.readings) * 1e3 <= summary["reference_ms"]


def test_a_machine_slow_throughout_the_cap_is_marked_unstable_with_its_slowdown(tmp_path):
    machine = _Machine(factor=2.0, slow_for_s=60.0)
    options = TimingOptions(**{**vars(OPTIONS), "max_time_s": 1.0})
    result = time_callable(machine.network, CPU, options, _canary(machine, tmp_path))
    assert result.stopped == "time cap"
    summary = result.summary_ms(options.rel_ci)
    assert summary["stable"] is False and "the machine ran slow" in summary["unstable_reason"]
    assert summary["reference_slowdown"] == pytest.approx(2.0, rel=0.25)


def test_a_timing_cut_short_before_enough_readings_is_unstable(tmp_path):
    machine = _Machine(factor=1.0, slow_for_s=0.0)
    options = TimingOptions(**{**vars(OPTIONS), "min_repeats": 6, "max_repeats": 6})
    # blocks far shorter than a reading: the reference's share of the time allows one reading in six blocks
    result = time_callable(lambda: _spin(1e-5), CPU, options, _canary(machine, tmp_path))
    summary = result.summary_ms(options.rel_ci)
    assert result.stopped == "max repeats" and summary["reference_readings"] < MIN_READINGS
    assert summary["stable"] is False and "reference readings" in summary["unstable_reason"]


def test_too_few_readings_say_nothing(tmp_path):
    canary = Canary(lambda: None, "synthetic", baseline_s=1.0, path=tmp_path / "reference.json")
    canary.readings = [9.0] * (MIN_READINGS - 1)
    assert canary.slowdown() is None and not canary.slowed() and not canary.clean()
    canary.readings.append(9.0)
    assert canary.slowed() and canary.slowdown() == 9.0
    canary.retry()  # a new attempt judges only its own readings
    assert canary.slowdown() is None and canary.retries == 1


def test_the_baseline_is_measured_once_stored_and_lowered_when_beaten(tmp_path):
    first = Canary.for_device(CPU, "cpu thread time", 1, tmp_path)
    assert first.baseline_s is None
    time_callable(lambda: None, CPU, TimingOptions(warmup_s=0.0, min_repeats=3, max_repeats=20), first)
    stored = read_json(tmp_path / "reference.json")[first.key]
    assert stored == first.baseline_s > 0
    again = Canary.for_device(CPU, "cpu thread time", 1, tmp_path)
    assert again.baseline_s == stored  # no new calibration: the stored quiet time is used
    again.readings = [stored / 2]
    again.learn()
    assert read_json(tmp_path / "reference.json")[first.key] == stored / 2 == again.baseline_s


def test_a_real_network_carries_the_reference_readings(small_cnn):
    latency = measure_latency(small_cnn.eval(), (1, 8, 8), threads=1)
    detail = latency.detail
    assert detail["reference_readings"] >= MIN_READINGS and detail["reference_baseline_ms"] > 0
    assert detail["reference_slowdown"] is not None and detail["retries"] >= 0


def test_a_real_network_on_a_machine_slower_than_its_baseline_is_retried_and_marked(small_cnn):
    """The stored quiet time says the machine used to run the reference three times as fast: every
    reading now looks slow, so the timing retries to its cap and says by how much the machine is slow."""
    measure_latency(small_cnn.eval(), (1, 8, 8), threads=1)  # stores this machine's baseline
    canary = Canary.for_device(CPU, "cpu thread time", 1)
    canary.baseline_s /= 3
    options = TimingOptions(max_time_s=1.0)
    with torch.inference_mode():
        inputs = torch.randn(1, 1, 8, 8)
        result = time_callable(lambda: small_cnn.eval()(inputs), CPU, options, canary)
    summary = result.summary_ms(options.rel_ci)
    assert result.stopped in ("time cap", "max repeats") and canary.retries >= 1
    assert summary["stable"] is False and "the machine ran slow" in summary["unstable_reason"]
    assert summary["reference_slowdown"] > 2
    assert (cache_dir() / "reference.json").exists()
