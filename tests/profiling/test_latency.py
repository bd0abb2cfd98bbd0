"""The statistic, the stability rule, the clocks and the thread count of latency measurements."""

from __future__ import annotations

import dataclasses
import itertools
import time

import pytest
import torch
from torch import nn

from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling import TimingOptions, latency, measure_latency
from nas_workbench.profiling.latency import INPUT_COPIES, TimingResult, time_callable

CPU = torch.device("cpu")


def _spin(seconds: float) -> None:
    """Keep the processor busy for ``seconds`` of wall-clock time."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _synthetic(**fields: float) -> TimingOptions:
    """Options for timing a synthetic function: no warm-up, no reference readings, no fewest seconds and no
    fewest blocks beyond ``min_repeats`` unless given, so that only the stopping rule under test decides
    (the reference workload has tests of its own)."""
    return TimingOptions(
        **{"warmup_s": 0.0, "reference": False, "min_time_s": 0.0, "stable_repeats": 0, **fields}
    )


def test_the_estimate_is_the_minimum_and_stalls_do_not_move_it():
    samples = [1.0, 1.02, 50.0, 1.01, 80.0, 1.0, 1.03, 60.0] * 3  # a stall in 3 of every 8 blocks
    result = TimingResult(samples=samples, stopped="stable")
    summary = result.summary_ms(rel_ci=0.02)
    assert result.estimate == summary["min_ms"] / 1e3 == 1.0
    assert summary["p10_ms"] <= summary["median_ms"] <= summary["p90_ms"]
    assert summary["median_gap"] == pytest.approx(result.median / 1.0 - 1)
    assert summary["stable"] is True and "unstable_reason" not in summary
    assert summary["cv"] > 1  # the interference shows in the spread, not in the estimate


def test_halves_that_disagree_make_an_unstable_result():
    result = TimingResult(samples=[1.0] * 10 + [1.1] * 10, stopped="time cap", elapsed_s=0.5)
    assert result.disagreement() == pytest.approx(0.1)
    summary = result.summary_ms(rel_ci=0.02)
    assert summary["stable"] is False and "disagree by 10.0%" in summary["unstable_reason"]
    assert result.summary_ms(rel_ci=0.2)["stable"] is True


def test_stalled_blocks_are_ignored_on_the_wall_clock():
    calls = itertools.count()

    def sometimes_descheduled() -> None:  # two calls in three wait 10 ms, like a descheduled worker
        _spin(2e-4)
        if next(calls) % 3:
            time.sleep(0.01)

    options = _synthetic(min_repeats=12, max_repeats=12, min_block_s=0.0, clock="wall")
    result = time_callable(sometimes_descheduled, CPU, options)
    assert result.median > 0.01  # what the median-based figure reported
    assert 2e-4 <= result.estimate < 0.005


def test_a_timing_that_keeps_drifting_runs_to_the_cap_and_is_unstable():
    calls = itertools.count()
    options = _synthetic(min_repeats=4, max_repeats=10_000, min_block_s=0.0, max_time_s=0.1)
    result = time_callable(lambda: _spin(1e-4 * (1.1 ** min(next(calls), 40))), CPU, options)
    assert result.stopped == "time cap"
    assert result.summary_ms(options.rel_ci)["stable"] is False


def test_stops_when_stable():
    options = _synthetic(min_repeats=4, max_repeats=10_000, rel_ci=1e9, max_time_s=60)
    result = time_callable(lambda: None, CPU, options)
    assert result.stopped == "stable" and len(result.samples) == 4


def test_a_stable_timing_goes_on_for_its_fewest_seconds():
    # the minimum over a longer window: stable after 4 blocks, yet timed until min_time_s has passed
    options = _synthetic(min_repeats=4, max_repeats=100_000, rel_ci=1e9, min_time_s=0.05, max_time_s=60)
    result = time_callable(lambda: None, CPU, options)
    assert result.stopped == "stable" and len(result.samples) > 4
    assert result.elapsed_s >= 0.05
    capped = time_callable(
        lambda: None, CPU, _synthetic(min_repeats=4, rel_ci=1e9, min_time_s=60, max_time_s=0.0)
    )
    assert capped.stopped == "time cap"  # the cap wins over the fewest seconds


def test_a_stable_timing_takes_its_fewest_blocks_whatever_their_length():
    """A minimum's level depends on how many draws it is over, so a timing stops as stable only once its
    attempt holds ``stable_repeats`` blocks, even when the halves agreed and ``min_time_s`` passed long
    before (a large network: 30 blocks fill 0.25 s); ``max_repeats`` bounds it."""
    options = _synthetic(min_repeats=4, stable_repeats=40, max_repeats=100_000, rel_ci=1e9, max_time_s=60)
    assert options.stop_repeats == 40
    result = time_callable(lambda: None, CPU, options)
    assert result.stopped == "stable" and len(result.samples) == 40
    bounded = dataclasses.replace(options, max_repeats=12)
    assert bounded.stop_repeats == 12
    assert len(time_callable(lambda: None, CPU, bounded).samples) == 12
    assert dataclasses.replace(options, stable_repeats=0).stop_repeats == 4  # min_repeats still holds


def test_the_fewest_seconds_count_on_the_measurement_clock():
    """On the thread's CPU time, seconds the thread spends off the processor (descheduled on a loaded
    machine; here asleep) do not count towards ``min_time_s``: a window holds as much work whatever the
    load. A call that sleeps 2 ms costs next to no CPU time, so 10 ms of it are not reached in 0.2 s."""
    options = _synthetic(min_repeats=4, rel_ci=1e9, min_time_s=0.01, max_time_s=0.2, clock="cpu")
    asleep = time_callable(lambda: time.sleep(0.002), CPU, options)
    assert asleep.stopped == "time cap" and asleep.clock == "cpu thread time"
    on_the_wall = time_callable(lambda: time.sleep(0.002), CPU, dataclasses.replace(options, clock="wall"))
    assert on_the_wall.stopped == "stable" and on_the_wall.elapsed_s < 0.2


def test_stops_at_max_repeats():
    options = _synthetic(min_repeats=6, max_repeats=6, rel_ci=0.0, max_time_s=60)
    result = time_callable(lambda: sum(range(100)), CPU, options)
    assert len(result.samples) == 6 and result.stopped in ("max repeats", "stable")


def test_stops_at_the_time_cap():
    options = _synthetic(min_repeats=100, max_repeats=10_000, rel_ci=0.0, max_time_s=0.0)
    result = time_callable(lambda: sum(range(100)), CPU, options)
    assert result.stopped == "time cap" and len(result.samples) == 3
    assert result.warmup_calls >= 3
    summary = result.summary_ms(options.rel_ci)
    assert summary["stable"] is False
    assert summary["unstable_reason"] == "too few timed blocks before the time cap to check (3)"


def test_fast_calls_are_grouped_in_blocks():
    options = _synthetic(min_repeats=3, max_repeats=3, min_block_s=1e-3)
    result = time_callable(lambda: None, CPU, options)
    assert result.number > 1  # a no-op is far shorter than a millisecond


def test_threads_are_set_recorded_and_restored(small_cnn, quick):
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    latency = measure_latency(small_cnn.eval(), (1, 8, 8), threads=other, options=quick)
    assert latency.detail["threads"] == other
    assert torch.get_num_threads() == before


def test_clock_follows_the_thread_count(small_cnn, quick):
    one = measure_latency(small_cnn.eval(), (1, 8, 8), threads=1, options=quick)
    two = measure_latency(small_cnn.eval(), (1, 8, 8), threads=2, options=quick)
    assert one.source == one.detail["clock"] == "cpu thread time"
    assert two.source == "cpu wall clock"
    with pytest.raises(ConfigError, match="threads=1"):
        measure_latency(small_cnn.eval(), (1, 8, 8), threads=2, options=TimingOptions(clock="cpu"))


@pytest.mark.parametrize("field", ["min_repeats", "stable_repeats", "max_time_s"])
def test_timing_options_are_checked(field):
    with pytest.raises(ConfigError) as error:
        TimingOptions(**{field: -1})
    assert error.value.field == field


def test_an_accelerator_warms_up_longer_than_the_cpu():
    options = TimingOptions(warmup_s=0.02, accelerator_warmup_s=0.5)
    assert options.warmup_for("cpu") == 0.02
    assert options.warmup_for("cuda") == options.warmup_for("mps") == 0.5


def test_the_cpu_timing_ignores_the_accelerator_warmup():
    """A whole minute of accelerator warm-up would show as thousands of warm-up calls on the CPU."""
    options = TimingOptions(warmup_s=0.0, accelerator_warmup_s=60.0, reference=False, min_time_s=0.0,
                            stable_repeats=0, max_time_s=0.05)  # fmt: skip
    assert time_callable(lambda: None, CPU, options).warmup_calls == 3


class _Recorder(nn.Module):
    """Remembers every input it was called with."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[bytes] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.add(x.numpy().tobytes())
        return x


def test_each_call_gets_a_fresh_input(quick):
    model = _Recorder()
    measured = measure_latency(model, (2, 3), threads=1, options=quick)
    assert measured.detail["inputs"] == INPUT_COPIES and len(model.seen) == INPUT_COPIES


def test_large_inputs_get_fewer_copies(monkeypatch, quick):
    one_batch = 4 * 2 * 3 * 4  # batch 4 of 2x3 float32
    monkeypatch.setattr(latency, "INPUT_BYTES", 3 * one_batch + 1)
    model = _Recorder()
    measured = measure_latency(model, (2, 3), batch_size=4, threads=1, options=quick)
    assert measured.detail["inputs"] == len(model.seen) == 3


def test_a_timing_whose_every_block_was_interrupted_is_unstable():
    """Another process on the core (an involuntary context switch in every block) evicts caches that even
    the fastest block then refills: such a result is marked, with the switches per block; one block that
    kept its core is enough, and where the platform counts no switches the rule does not apply."""
    samples = [1.0, 1.001] * 6
    shared = TimingResult(samples=samples, switches=[3, 2] * 6, stopped="time cap", elapsed_s=1.0)
    summary = shared.summary_ms(rel_ci=0.02)
    assert shared.uninterrupted() == 0 and summary["uninterrupted_blocks"] == 0
    assert summary["stable"] is False and "other processes shared the core" in summary["unstable_reason"]
    assert "2.5 involuntary context switches per block" in summary["unstable_reason"]
    once_alone = TimingResult(samples=samples, switches=[3] * 11 + [0], stopped="stable")
    assert once_alone.summary_ms(rel_ci=0.02)["stable"] is True
    uncounted = TimingResult(samples=samples, stopped="stable")
    assert uncounted.uninterrupted() is None and uncounted.summary_ms(rel_ci=0.02)["stable"] is True


def test_the_timing_goes_on_while_every_block_is_interrupted(monkeypatch):
    """The stopping rule waits for a block that kept its core: with a switch counted in every block (the
    counter advanced by one on every reading) a timing that would stop after 4 blocks runs to a cap (its
    time cap, or on a quiet machine first its number of blocks)."""
    ticks = itertools.count()
    monkeypatch.setattr(latency, "switch_counter", lambda: lambda: next(ticks))
    options = _synthetic(min_repeats=4, rel_ci=1e9, max_time_s=0.05, clock="cpu")
    result = time_callable(lambda: sum(range(100)), CPU, options)
    assert result.stopped in {"time cap", "max repeats"} and set(result.switches) == {1}
    assert len(result.samples) > options.min_repeats
    assert result.summary_ms(options.rel_ci)["stable"] is False


def test_the_core_share_is_the_thread_time_over_the_wall_time():
    """A call that sleeps keeps its core a small fraction of the time; a busy one nearly all of it (the
    thread-time clock's figure; on another machine's load it is lower, which the detail then says)."""
    options = _synthetic(min_repeats=4, max_repeats=4, rel_ci=1e9, clock="cpu")
    asleep = time_callable(lambda: time.sleep(0.002), CPU, options)
    assert asleep.core_share is not None and asleep.core_share < 0.5
    on_the_wall = time_callable(lambda: time.sleep(0.002), CPU, dataclasses.replace(options, clock="wall"))
    assert on_the_wall.core_share is None
