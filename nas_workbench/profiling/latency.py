"""Measured latency: warm up, time many short blocks of calls, report their minimum, and say how sure it is.

**The statistic is the minimum of the blocks' per-call times**, as `timeit` recommends. Interference from
other processes (a descheduled thread, another process on a shared core, cache and memory-bandwidth
contention) only ever adds time, so on a busy machine the low end of the distribution is what the
network costs and the rest measures the machine's load. Measured here (2-core VM, 1 thread, thread CPU
time, one core kept busy by another process and three other users; 5 networks timed in 6 rounds of 60
blocks): the coefficient of variation across rounds was 2-13% for the minimum, 4-18% for p10, 11-18% for
the median; with the wall clock the median was 1.2-3.7x the minimum (benchmarks/profiling/README.md).
An earlier measurement at load 4-5 (8 chain networks, 5 rounds of 200 runs) found the same order: the
median of a round varied 12-65% between rounds, the minimum 0.4-1%.

**The stopping rule.** After at least ``min_repeats`` blocks, the samples are split in time into two
halves, each giving an independent estimate (its minimum); timing stops as soon as the two agree within
``rel_ci`` of the estimate ("stable"), once the attempt holds ``stable_repeats`` blocks and the blocks add
up to ``min_time_s``. While they disagree (a burst of load in one half), timing goes on, up to
``max_repeats`` blocks or ``max_time_s`` seconds; a result that is still unstable then is reported with
``detail["stable"] = False`` and the reason, and the workbench's tables and plots mark it.

**The fewest blocks.** A minimum is an extreme of its draws, so its level and spread depend on how many
there are, not on how long they took. 0.25 s holds 400-600 calls of a chain network but 30 of an 8 ms cell
network, whose minimum then sat 1-6% above that of 100 calls of the same stretch and moved more (2-core
AMD EPYC VM, 2026-12-04, `window_minimum.py`'s harness), so which of its profiles ran on to the cap set its
spread; from 100 calls on, 30 more lowered it by only 0.2-1.3%. Hence ``stable_repeats``.

**The reference workload.** Halves agree just as well when the whole machine ran slow for the whole
timing. So a network's blocks are interleaved with readings of a small reference workload whose quiet
time on this device is known (`reference.Canary`, with ``reference=True``, the default of
`measure_latency` and the lookup table): when the level of an attempt's readings (the median of their
groups' minima) ran more than 25% slow, the attempt is dropped and the timing starts again; it stops as
stable only once the level of the readings followed by a block of the network was quiet (a slow episode
that ends at the newest reading has not ended for the blocks before it). Episodes last 0.25-5 s, longer
than a timing's ``max_time_s``, so once an attempt was dropped each new attempt has ``max_time_s`` of its
own, up to ``slow_time_s`` beyond the cap: the timing waits the episode out and times the network after it.
A result whose last attempt never saw the machine at its quiet speed is unstable (detail: the slowdown).

**A slowdown seen in a few readings.** The level needs ``min_repeats`` blocks and `reference.MIN_READINGS`
readings, which a network slowed a hundredfold never reaches within the cap: on the 2-core VM at load 7-11,
with two torch threads, a chain network of 0.5-0.6 ms took 169 ms and 264 ms a call in its first profile
(three blocks before the 1 s cap, one reading after each) and 0.54-0.62 ms in the next ones. So an attempt
is also dropped, whatever its length, once it holds `FEW_READINGS` readings and every one of them ran more
than `FEW_TOLERANCE` (50%) over the baseline: the same retry and the same wait. The margin is twice the
level's, since a single reading is noisier than a group's minimum and a large network slows the reading after
it by up to about a fifth. The engine's re-profiling of an unstable figure over its budget
(`nas_workbench.engine.remeasure`) stays a layer of its own: the reference need not slow with the network
(two threads descheduled in turn stall a network's many parallel regions more than a small reference's few),
and an episode can outlast ``slow_time_s``; only a later profile tells those apart from a slow network, and
only a budget's verdict is worth that time.

**Sharing the core.** On a machine with more runnable threads than cores, the scheduler hands the timing
thread's core to another thread every slice (about 1.4 ms here), and what that thread ran evicts caches the
network then refills on its own CPU time: a network longer than a slice pays for it in every call, so no
block is clean and the minimum moves with what else runs (2-core VM at load 5-14, 2026-12-03: nb201 and cell
networks of 3-13 ms took 2-5 involuntary context switches per call and never ran a call uninterrupted, the
thread got 15-40% of its core, and a network's minimum moved up to 20% between runs of a few seconds).
So each block counts the timing thread's involuntary context switches (Linux ``getrusage``); a timing
stops as stable only once one block of its attempt ran without one, and a result whose every block was
interrupted is unstable with the switches per block. The detail also gives the share of its core the
thread got (``core_share``: CPU time over wall time of the blocks). On Linux with autogroup scheduling
(``/proc/sys/kernel/sched_autogroup_enabled``), ``nice`` orders processes only within one session, so
other users' niced jobs still take an equal share of the core from the timing.

**Detail.** Besides the estimate (``value``; also ``min_ms``) each measurement reports its spread (p10,
median, p90, interquartile range) and the interference seen: the load average, the coefficient of
variation of the blocks, the gap between median and minimum (``median_gap``), the reference's readings and
the minor page faults per call (glibc's heap thresholds are fixed first: `_heap`).

Fast calls are grouped in blocks of at least ``min_block_s`` (as ``torch.utils.benchmark``'s
``blocked_autorange`` does); each sample is a block's time over its calls. Short blocks: a stall spoils few.

On CUDA, blocks are timed with CUDA events after a synchronisation; on MPS, with the wall clock between
synchronisations; on CPU, with the torch thread count set for the duration and one of two clocks:

- ``"wall"``: ``time.perf_counter``. Other processes steal cores and inflate it; with several intra-op
  threads one descheduled worker stalls the whole block (a network of 0.85 ms measured 83 ms by the
  median of such blocks). The minimum counts only a block in which no worker was descheduled.
- ``"cpu"``: the calling thread's CPU time (``time.thread_time``). With one intra-op thread all the work
  of an eager forward pass runs on the calling thread, so time spent descheduled does not count. It is
  meaningless with several threads.

``clock="auto"`` (the default) uses CPU time for single-threaded CPU measurements and the wall clock
otherwise; the detail records which. Garbage collection is paused while timing. The robust default is
one thread (as the demo and the benchmarks use) with the thread-time clock.

A network is timed on a new input each call, cycling through `INPUT_COPIES` distinct random batches:
fed one input over and over, branch predictors learn data-dependent kernels such as max pooling, which
then run 2-3x faster (a 3x3 max pool over 8x32x32 floats: 60 us on a repeated input, 155 us on new ones).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from nas_workbench.metrics import METRICS, Measurement
from nas_workbench.profiling._clocks import (
    block_timer,
    fault_counter,
    gc_paused,
    resolve_clock,
    switch_counter,
)
from nas_workbench.profiling._device import busy_machine, resolve_device, use_threads
from nas_workbench.profiling._heap import fix_heap_thresholds, huge_pages
from nas_workbench.profiling._trace import input_dtype
from nas_workbench.profiling.checkpoint import checkpoint
from nas_workbench.profiling.lock import measurement_lock
from nas_workbench.profiling.reference import SLOW_TOLERANCE, Canary
from nas_workbench.profiling.timing_options import TimingOptions

__all__ = ["INPUT_COPIES", "TimingOptions", "TimingResult", "measure_latency", "time_callable"]

#: Distinct random input batches a latency measurement cycles through (see the module docstring), and the
#: most bytes they may take together: fewer, down to one, for inputs too large to keep many (their
#: kernels' branch histories are far too long to be learnt from one call to the next anyway).
INPUT_COPIES = 16
INPUT_BYTES = 64_000_000
#: An attempt is dropped before it has the blocks for the reference's level once it holds this many readings
#: and every one ran more than `FEW_TOLERANCE` over the reference's baseline (the module docstring).
FEW_READINGS = 3
FEW_TOLERANCE = 2 * SLOW_TOLERANCE


@dataclass
class TimingResult:
    """The samples of one timing: seconds per call, one sample a block of ``number`` calls, in time order;
    the current attempt's from ``attempt_start`` (earlier ones were taken while the machine ran slow), the
    involuntary context switches of the timing thread during each block (``switches``, parallel to
    ``samples``; empty where the platform does not count them), and the reference workload's readings
    (``canary``) when it was read."""

    samples: list[float] = field(default_factory=list)
    switches: list[int] = field(default_factory=list)
    attempt_start: int = 0
    canary: Canary | None = None
    number: int = 1
    warmup_calls: int = 0
    stopped: str = ""
    elapsed_s: float = 0.0
    clock: str = ""
    #: The measurement clock's seconds over the wall clock's during the network's blocks: on the thread's CPU
    #: time, the share of its core the thread got (1: it ran alone); None on the other clocks.
    core_share: float | None = None
    #: Minor page faults of the timing thread while timing (blocks and readings; None where not counted).
    page_faults: int | None = None

    @property
    def estimate(self) -> float:
        """The reported latency: the minimum of the samples (see the module docstring for why)."""
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of the samples (linear interpolation)."""
        ordered = sorted(self.samples)
        position = q * (len(ordered) - 1)
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    def uninterrupted(self) -> int | None:
        """How many blocks of the current attempt ran without an involuntary context switch (the thread kept
        its core for the whole block), or None where switches were not counted."""
        if len(self.switches) != len(self.samples) or not self.samples:
            return None
        return sum(1 for count in self.switches[self.attempt_start :] if count == 0)

    def disagreement(self) -> float:
        """How far apart two independent estimates are, relative to the estimate: the minima of the first
        and the second half of the current attempt's samples (in time order). Infinite with fewer than 4."""
        current = self.samples[self.attempt_start :]
        n = len(current)
        if n < 4 or self.estimate <= 0:
            return math.inf
        first, second = min(current[: n // 2]), min(current[n // 2 :])
        return abs(first - second) / self.estimate

    def unstable_reason(self, rel_ci: float) -> str | None:
        """Why this result is not stable at tolerance ``rel_ci``, or None when it is."""
        if len(self.samples) < 4:
            return f"too few timed blocks before the {self.stopped} to check ({len(self.samples)})"
        if self.canary is not None and (slowdown := self.canary.slowdown(last=True)) is None:
            return f"too few reference readings before the {self.stopped} ({len(self.canary.readings)})"
        if self.canary is not None and slowdown is not None and slowdown > 1 + SLOW_TOLERANCE:
            return (
                f"the machine ran slow: the reference workload took {slowdown:.2f}x its quiet time in the"
                f" last attempt ({self.canary.retries} retries in {self.elapsed_s:.2f} s)"
            )
        if self.uninterrupted() == 0:
            per_block = statistics.fmean(self.switches[self.attempt_start :])
            return (
                f"other processes shared the core: every block of the last attempt was interrupted "
                f"({per_block:.1f} involuntary context switches per block), so even the fastest paid for "
                f"refilling the caches after a switch"
            )
        gap = self.disagreement()
        if gap > rel_ci:
            return (
                f"two halves of the timing disagree by {100 * gap:.1f}% (> {100 * rel_ci:.1f}%) after "
                f"{self.elapsed_s:.2f} s: the machine's load changed while timing"
            )
        return None

    def summary_ms(self, rel_ci: float) -> dict[str, Any]:
        """The estimate, its spread, the interference seen and the stopping figures, in milliseconds, for a
        `Measurement.detail`; ``stable`` is False (with ``unstable_reason``) when the halves disagree by more
        than ``rel_ci``."""
        low, median = self.estimate, self.median
        q1, q3 = self.quantile(0.25), self.quantile(0.75)
        mean = statistics.fmean(self.samples)
        reason = self.unstable_reason(rel_ci)
        summary: dict[str, Any] = {
            "statistic": "min",
            "min_ms": low * 1e3,
            "p10_ms": self.quantile(0.1) * 1e3,
            "median_ms": median * 1e3,
            "p90_ms": self.quantile(0.9) * 1e3,
            "iqr_ms": (q3 - q1) * 1e3,
            "spread": (q3 - q1) / median if median > 0 else 0.0,
            "cv": statistics.pstdev(self.samples) / mean if mean > 0 else 0.0,
            "median_gap": median / low - 1 if low > 0 else 0.0,
            "halves_disagree": gap if math.isfinite(gap := self.disagreement()) else None,
            "switches_per_block": statistics.fmean(self.switches) if self.switches else None,
            "uninterrupted_blocks": self.uninterrupted(),
            "core_share": round(self.core_share, 4) if self.core_share is not None else None,
            "page_faults_per_call": (
                round(self.page_faults / (len(self.samples) * self.number), 2)
                if self.page_faults is not None
                else None
            ),
            "stable": reason is None,
            "repeats": len(self.samples),
            "calls_per_repeat": self.number,
            "warmup_calls": self.warmup_calls,
            "stopped": self.stopped,
            "elapsed_s": round(self.elapsed_s, 4),
            "clock": self.clock,
            **(self.canary.summary_ms() if self.canary is not None else {}),
        }
        if reason is not None:
            summary["unstable_reason"] = reason
        return summary


def time_callable(
    fn: Callable[[], Any], device: torch.device, options: TimingOptions, canary: Canary | None = None
) -> TimingResult:
    """Time ``fn`` (which runs on ``device``) with warm-up, blocks and the stopping rule of ``options``,
    interleaved with readings of ``canary`` (by default this device's reference workload when
    ``options.reference``; see the module docstring)."""
    threads = torch.get_num_threads()
    if device.type == "cpu":
        fix_heap_thresholds()  # whether calls page-fault must not depend on what ran before (`_heap`)
        if options.huge_pages:
            huge_pages()  # nor which cache sets its data share (`_heap`)
    result = TimingResult(clock=resolve_clock(device, options.clock, threads))
    timer = block_timer(device, result.clock)
    if canary is None and options.reference:
        canary = Canary.for_device(device, result.clock, threads)
    result.canary = canary
    on_device = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
    warmup_s = options.warmup_for(device.type)
    start = time.perf_counter()
    with gc_paused(), on_device:
        fastest = math.inf
        while result.warmup_calls < 3 or time.perf_counter() - start < warmup_s:
            fastest = min(fastest, timer(fn, 1))
            result.warmup_calls += 1
        result.number = max(1, math.ceil(options.min_block_s / max(fastest, 1e-9)))
        if canary is not None:
            canary.calibrate(timer)
        timed_from, timed_s, wall_s = time.perf_counter(), 0.0, 0.0
        attempt_from = timed_from
        switches = switch_counter() if device.type == "cpu" else None
        faults = fault_counter() if device.type == "cpu" else None
        faults_from = faults() if faults is not None else 0
        while not result.stopped:
            checkpoint()  # the caller may end the timing here (Stop while a run opens), outside a block
            before = switches() if switches is not None else 0
            wall = time.perf_counter()
            result.samples.append(timer(fn, result.number) / result.number)
            wall_s += time.perf_counter() - wall
            if switches is not None:
                result.switches.append(switches() - before)
            timed_s += result.samples[-1] * result.number
            if canary is not None:
                canary.between_blocks(timer, timed_s)
            n, attempt = len(result.samples), len(result.samples) - result.attempt_start
            if canary is not None and (
                (attempt >= options.min_repeats and canary.slowed()) or _far_slow(canary)
            ):
                result.attempt_start = n  # the reference saw a slow episode: start again (module docstring)
                canary.retry()
                attempt_from = time.perf_counter()
            elif (
                attempt >= options.stop_repeats
                and timed_s >= options.min_time_s
                and (canary is None or canary.clean())
                and result.uninterrupted() != 0
                and result.disagreement() <= options.rel_ci
            ):
                result.stopped = "stable"
            elif n >= options.max_repeats:
                result.stopped = "max repeats"
            elif n >= min(3, options.min_repeats) and time.perf_counter() - timed_from >= _cap(
                options, canary, attempt_from - timed_from
            ):
                result.stopped = "time cap"
    result.elapsed_s = time.perf_counter() - start
    result.page_faults = faults() - faults_from if faults is not None else None
    if result.clock == "cpu thread time" and wall_s > 0:
        result.core_share = min(1.0, timed_s / wall_s)
    if canary is not None:
        canary.learn()
    return result


def _far_slow(canary: Canary) -> bool:
    """Whether the current attempt holds `FEW_READINGS` readings of the reference or more and every one ran
    more than `FEW_TOLERANCE` over its baseline: slow before the attempt has the blocks for a level (the
    module docstring)."""
    current = canary.readings[canary.start :]
    limit = (1 + FEW_TOLERANCE) * (canary.baseline_s or math.inf)
    return len(current) >= FEW_READINGS and min(current) > limit


def _cap(options: TimingOptions, canary: Canary | None, attempt_s: float) -> float:
    """Seconds of timing after which it stops whatever its precision: ``max_time_s``; once the reference
    workload has dropped an attempt as slow, ``max_time_s`` from the start of the current attempt
    (``attempt_s`` into the timing), so that the attempt after an episode has a timing's time, but never
    more than ``slow_time_s`` beyond ``max_time_s`` (the module docstring)."""
    if canary is None or canary.retries == 0:
        return options.max_time_s
    return min(options.max_time_s + options.slow_time_s, attempt_s + options.max_time_s)


def example_inputs(
    model: nn.Module, input_shape: Sequence[int], batch_size: int, device: torch.device, count: int = 1
) -> list[torch.Tensor]:
    """``count`` distinct random input batches for ``model`` on ``device``, of its parameters' dtype
    (the same ones every time: the generator is seeded)."""
    generator = torch.Generator().manual_seed(0)
    shape, dtype = (batch_size, *input_shape), input_dtype(model)
    return [torch.randn(shape, generator=generator, dtype=dtype).to(device) for _ in range(count)]


def measure_latency(
    model: nn.Module,
    input_shape: Sequence[int],
    device: str | torch.device = "cpu",
    batch_size: int = 1,
    threads: int | None = None,
    options: TimingOptions | None = None,
) -> Measurement:
    """Time one forward pass of ``model`` (already on ``device``, in eval mode) at ``batch_size``.

    The measurement holds the machine's measurement lock, so it never overlaps another measurement or a
    training marked with `shared_use`. Each call gets the next of up to `INPUT_COPIES` distinct random
    inputs, so that no kernel is timed on data it has just seen. The value is the minimum of the timed
    blocks in milliseconds (see the module docstring); the detail has p10, median, p90, the interference
    seen (load average, coefficient of variation, the median's gap to the minimum), whether the result is
    ``stable`` (and if not, ``unstable_reason``), the stopping reason, the clock, the thread count and the
    number of distinct inputs.
    """
    dev = resolve_device(device)
    options = options or TimingOptions()
    batch_bytes = batch_size * math.prod(input_shape) * input_dtype(model).itemsize
    count = max(1, min(INPUT_COPIES, INPUT_BYTES // max(batch_bytes, 1)))
    inputs = itertools.cycle(example_inputs(model, input_shape, batch_size, dev, count))

    def forward() -> None:
        model(next(inputs))

    with measurement_lock() as lock, use_threads(threads) as used, torch.inference_mode():
        result = time_callable(forward, dev, options)
    summary = result.summary_ms(options.rel_ci)
    detail: dict[str, Any] = {
        **summary,
        "batch_size": batch_size,
        "threads": used,
        "inputs": count,
        "options": asdict(options),
        **lock.detail(),
        **busy_machine(),
    }
    if not summary["stable"]:
        detail["note"] = f"unstable: {summary['unstable_reason']}"
    return Measurement(summary["min_ms"], METRICS["latency_ms"].unit, "measured", result.clock, detail)
