"""The stopping rule, the clocks and the thread count of latency measurements."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling import TimingOptions, latency, measure_latency
from nas_workbench.profiling.latency import INPUT_COPIES, TimingResult, time_callable

CPU = torch.device("cpu")


def test_median_confidence_interval_from_order_statistics():
    result = TimingResult(samples=[float(v) for v in range(1, 101)])  # 1..100
    assert result.median == 50.5
    low, high = result.median_ci()
    assert (low, high) == (41.0, 60.0)  # ranks n/2 -/+ 0.98 sqrt(n)
    assert result.rel_ci() == pytest.approx((60 - 41) / 2 / 50.5)
    assert result.quantile(0.9) == pytest.approx(90.1)


def test_stops_when_stable():
    options = TimingOptions(warmup_s=0.0, min_repeats=4, max_repeats=10_000, rel_ci=1e9, max_time_s=60)
    result = time_callable(lambda: None, CPU, options)
    assert result.stopped == "stable" and len(result.samples) == 4


def test_stops_at_max_repeats():
    options = TimingOptions(warmup_s=0.0, min_repeats=6, max_repeats=6, rel_ci=0.0, max_time_s=60)
    result = time_callable(lambda: sum(range(100)), CPU, options)
    assert len(result.samples) == 6 and result.stopped in ("max repeats", "stable")


def test_stops_at_the_time_cap():
    options = TimingOptions(warmup_s=0.0, min_repeats=100, max_repeats=10_000, rel_ci=0.0, max_time_s=0.0)
    result = time_callable(lambda: sum(range(100)), CPU, options)
    assert result.stopped == "time cap" and len(result.samples) == 3
    assert result.warmup_calls >= 3


def test_fast_calls_are_grouped_in_blocks():
    options = TimingOptions(warmup_s=0.0, min_repeats=3, max_repeats=3, min_block_s=1e-3)
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


@pytest.mark.parametrize("field", ["min_repeats", "max_time_s"])
def test_timing_options_are_checked(field):
    with pytest.raises(ConfigError) as error:
        TimingOptions(**{field: -1})
    assert error.value.field == field


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
