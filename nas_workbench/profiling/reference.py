"""A reference workload (a "canary") timed between a network's blocks: is the machine slow, or the network?

The minimum of many short blocks (`latency`) filters out stalls, which only add time to some blocks, not
an episode in which the whole machine runs slow for longer than a timing: on the 2-core development VM,
at load 2-4, windows of 0.25-5 s ran 1.3-2x slower (on the thread's own CPU time), so every block of a
one-second timing was slow and its halves agreed (nb201 profiles of 6.3, 10.5, 10.4, 6.3 ms).

Duet benchmarking (Bulej et al., 2020) and randomized multiple interleaved trials (Abedi and Brecht, 2017)
run a reference alongside the benchmark so that the machine's state is seen, not guessed. Here a small
fixed workload (a 3x3 convolution, batch norm and ReLU over a 16-channel 16x16 map: tens of microseconds)
is timed between the network's blocks with the same clock, taking about `REFERENCE_SHARE` of the timing.
Its quiet time on this device, clock and thread count (its *baseline*, below) comes from a history kept in
the profiling cache. Measured over 0.25 s windows on 12 random networks at load 2-4, the reference slowed
with the networks (1.47x when a chain network ran 1.54x, 2.00x with an nb201 network at 1.66x), so an
attempt whose readings' *level* ran more than `SLOW_TOLERANCE` over the baseline was taken in a slow
episode: `latency.time_callable` then starts the timing again (sooner when a few readings all ran far slow),
and marks a result that never ran at the machine's quiet speed unstable, with the slowdown seen. Dividing
the network's figure by the reference's speed raised the median CV over profiles (4.4% to 5.1%, 2026-12-03;
`repeatability.py`'s ``CV/ref``).

**The level, not the fastest reading.** The level is the median of the minima of the attempt's groups of
`MIN_READINGS` readings. Until 2026-12-04 21:40 an attempt was judged by its fastest reading, and a reading
of tens of microseconds finds a quiet moment inside an episode that no block of a network of milliseconds
finds: in `repeatability.py --busy` (AMD EPYC VM, 21:16 UTC, load 9-10) five profiles of nb201 seed 3 in a
row (about 5 s) ran with the level at 1.4-1.5x its quiet value and the fastest reading at 1.00-1.08x; they
reported 6.0-9.1 ms against 5.5-5.7 for the other five (CV 20%).

**The baseline is a low quantile of many timings, not the least reading ever seen.** The least ever seen is a
ratchet: on the idle VM (2026-12-04 01:17, `final_latency.sh`) one reading 17% under the rest became the
baseline, and from then on 9 of 10 networks read 1.26-1.97x "slow" in every profile. Each timing's readings
are cut into groups of `MIN_READINGS` and their minima go into a history (log bins of `BIN_WIDTH`, each timing
weight 1, older weight decaying over `HISTORY_TIMINGS` timings, merged across processes under a file lock),
and the baseline is its `BASELINE_QUANTILE`: one reading moves it by nothing, a slow stretch by its share of
the last thousand timings, and a machine that stays slower for good is followed. A process writes its
timings to the file every `FLUSH_TIMINGS` timings or `FLUSH_S` seconds and at exit (`flush`): 3.5 ms a write.

**Warm calls.** Between a network's blocks the reference's caches hold the network's data: the median
group minimum ran 1.13-1.86x the fastest back-to-back reading after no warm call, 1.06-1.10x after two
(scratch script, 01:47 UTC, load 8.6, six networks). So a reading follows `WARM_CALLS` = 2 untimed calls,
and the first baseline of a device is taken the same way, back to back.

**The tolerance is wider than what a network leaves behind.** A network slows the reference read after it
for milliseconds: the median group minimum after 2 ms of a 6-12 MB nb201 or cell network ran 1.10-1.19x
that after nothing, after a chain network 1.02-1.05x (2-core Xeon VM, 2026-12-04, load 9,
benchmarks/profiling/reference_context.py). At 10% the reference called the machine slow in most timings of
those networks (10-30 retries a profile, 15:16 UTC). So `SLOW_TOLERANCE` is 25%: above that after-effect,
below the 1.3-2x episodes the reference is for.
"""

from __future__ import annotations

import atexit
import functools
import math
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nas_workbench.profiling._device import device_info
from nas_workbench.profiling.cache import cache_dir, read_json, write_json_atomic
from nas_workbench.profiling.lock import file_lock

__all__ = [
    "BASELINE_QUANTILE",
    "MIN_READINGS",
    "REFERENCE_SHARE",
    "SLOW_TOLERANCE",
    "Canary",
    "History",
    "flush",
    "group_minima",
]

#: An attempt whose readings' level ran more than this fraction over the quiet baseline was slowed (above
#: what a network's after-effect adds to the readings: the module docstring).
SLOW_TOLERANCE = 0.25
#: About this fraction of a timing's time goes to reading the reference.
REFERENCE_SHARE = 0.2
#: Readings needed before the reference says anything, and the size of the groups whose minima the baseline
#: is a quantile of (one call each: at load 5, 54% of single-call readings came within 10% of the least).
MIN_READINGS = 5
CALLS_PER_READING = 1
#: Untimed calls before each reading, to bring the workload back into the caches the network's block
#: filled (the module docstring gives the measurement).
WARM_CALLS = 2
#: Seconds of readings that give a first baseline.
FIRST_BASELINE_S = 0.1
#: The baseline is this quantile of the minima of groups of `MIN_READINGS` readings seen so far (the
#: module docstring says why not the least reading ever seen).
BASELINE_QUANTILE = 0.1
#: Each timing adds weight 1 to the history (spread over its groups) and the history's older weight
#: decays by ``1 - 1 / HISTORY_TIMINGS``: the baseline follows about the last thousand timings.
HISTORY_TIMINGS = 1000
#: The history's bins are this wide (relative): the baseline's resolution.
BIN_WIDTH = 0.01
#: The file in the profiling cache that keeps each device's history (the older ``reference.json`` is unread).
HISTORY_FILE = "reference-history.json"
#: A process writes its timings to the history file once it holds this many, or the oldest is this old.
FLUSH_TIMINGS = 20
FLUSH_S = 10.0

#: Block timer: ``timer(fn, number)`` runs ``fn`` ``number`` times and returns the seconds taken.
Timer = Callable[[Callable[[], Any], int], float]

_histories: dict[tuple[Path, str], History] = {}  # per file and key, this process's view of the file
_pending: dict[tuple[Path, str], list[list[float]]] = {}  # the timings it added and has not yet written
_pending_since: dict[tuple[Path, str], float] = {}  # when the oldest of them was added (time.monotonic)
_guard = threading.Lock()


class History:
    """Weighted minima of groups of `MIN_READINGS` reference readings, in bins `BIN_WIDTH` wide on a log
    scale: what the reference workload took on this machine, and its `BASELINE_QUANTILE` (the baseline)."""

    def __init__(self, weights: dict[int, float] | None = None) -> None:
        self.weights: dict[int, float] = dict(weights or {})

    @staticmethod
    def bin_of(seconds: float) -> int:
        return math.floor(math.log(seconds) / math.log1p(BIN_WIDTH))

    @classmethod
    def from_json(cls, data: Any) -> History | None:
        """The history stored as ``{"bin": weight}``, or None for anything else (an older format)."""
        if not isinstance(data, dict) or not data:
            return None
        try:
            weights = {int(key): float(value) for key, value in data.items()}
        except (TypeError, ValueError):
            return None
        return cls(weights) if all(w >= 0 for w in weights.values()) and sum(weights.values()) > 0 else None

    def to_json(self) -> dict[str, float]:
        return {str(key): round(value, 6) for key, value in sorted(self.weights.items()) if value >= 1e-6}

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def quantile(self, q: float = BASELINE_QUANTILE) -> float | None:
        """The ``q`` quantile of the group minima (seconds; the middle of its bin), None when empty."""
        total = self.total
        if total <= 0:
            return None
        seen = 0.0
        for key in sorted(self.weights):
            seen += self.weights[key]
            if seen >= q * total:
                return float((1 + BIN_WIDTH) ** (key + 0.5))
        return float((1 + BIN_WIDTH) ** (max(self.weights) + 0.5))

    def add(self, minima: Iterable[float], weight: float = 1.0) -> None:
        """Decay the older weight and add ``minima`` sharing ``weight`` (one timing's groups)."""
        values = [m for m in minima if m > 0]
        if not values:
            return
        for key in self.weights:
            self.weights[key] *= 1 - 1 / HISTORY_TIMINGS
        for value in values:
            key = self.bin_of(value)
            self.weights[key] = self.weights.get(key, 0.0) + weight / len(values)


def _write(slot: tuple[Path, str]) -> None:
    """Add the pending timings of ``slot`` (file, key) to the history in its file, in order, merged with
    what other processes wrote; this process's view becomes the merged history. Call with `_guard` held."""
    path, key = slot
    timings = _pending.pop(slot, [])
    _pending_since.pop(slot, None)
    if not timings:
        return
    with file_lock(path.with_suffix(".lock")):
        stored = read_json(path) or {}
        history = History.from_json(stored.get(key)) or History()
        for minima in timings:
            history.add(minima)
        write_json_atomic(path, {**stored, key: history.to_json()})
    _histories[slot] = history


def flush() -> None:
    """Write every history this process added to and has not written yet (at exit, and for tests and
    benchmarks that read the file)."""
    with _guard:
        for slot in list(_pending):
            _write(slot)


def _forget_pending() -> None:
    """In a forked child: the parent's pending timings are its own to write; its guard may be held."""
    global _guard
    _guard = threading.Lock()
    _pending.clear()
    _pending_since.clear()


atexit.register(flush)
if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_pending)


def group_minima(readings: list[float]) -> list[float]:
    """The minimum of each run of `MIN_READINGS` consecutive readings (a shorter tail is left out)."""
    whole = len(readings) - len(readings) % MIN_READINGS
    return [min(readings[i : i + MIN_READINGS]) for i in range(0, whole, MIN_READINGS)]


@functools.lru_cache(maxsize=16)
def _key(device: torch.device, clock: str, threads: int) -> str:
    """The baseline's key: the device fingerprint (cached: on CUDA it asks the driver) and the clock."""
    return f"{device_info(device, threads).key}|{clock}"


def _workload(device: torch.device) -> Callable[[], None]:
    """The reference: conv 3x3, batch norm, ReLU on one fixed 16x16x16 input (no data-dependent branches
    to learn, so one input serves; the untimed call before a reading warms exactly what it reads)."""
    generator = torch.Generator().manual_seed(0)
    block = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU()).eval().to(device)
    x = torch.randn(1, 16, 16, 16, generator=generator).to(device)

    def run() -> None:
        with torch.inference_mode():
            block(x)

    return run


class Canary:
    """The reference workload of one device, clock and thread count, its history and quiet baseline, and
    its readings during one timing (which may be restarted: `retry`).

    Build one per timing with `for_device`; `time_callable` calls `between_blocks` after each block of the
    network, asks `slowed` / `clean`, and calls `learn` at the end. ``baseline_s`` (tests) starts the
    history as if one timing had read that.
    """

    def __init__(
        self,
        workload: Callable[[], None],
        key: str,
        baseline_s: float | None,
        path: Path,
        history: History | None = None,
    ) -> None:
        self.workload = workload
        self.key = key
        self.path = path
        history = history or History()
        if baseline_s is not None and not history.weights:
            history.add([baseline_s])
        self._use(history)
        #: Seconds per call of each reading, in time order; the current attempt's start from `start`.
        self.readings: list[float] = []
        self.start = 0
        #: How many readings a network block was timed after (the newest, taken after the last block, not).
        self.followed = 0
        self.spent_s = 0.0
        self.retries = 0

    def _use(self, history: History) -> None:
        """Judge by ``history``: the baseline becomes its `BASELINE_QUANTILE` (the machine's quiet time for
        the reference; None while it is empty)."""
        self.history = history
        self.baseline_s = history.quantile()

    @classmethod
    def for_device(
        cls, device: torch.device, clock: str, threads: int, directory: Path | None = None
    ) -> Canary:
        """The canary of ``device`` at ``threads`` timed with ``clock``, with its stored history."""
        key = _key(device, clock, threads)
        path = (directory if directory is not None else cache_dir()) / HISTORY_FILE
        with _guard:
            if (path, key) not in _histories:
                stored = History.from_json((read_json(path) or {}).get(key))
                if stored is not None:
                    _histories[path, key] = stored
            known = _histories.get((path, key))
        return cls(_workload(device), key, None, path, History(known.weights) if known else None)

    # -- reading -------------------------------------------------------------------------------------
    def read(self, timer: Timer) -> float:
        """Time one reading (seconds per call) and keep it. `WARM_CALLS` untimed calls first bring the
        workload back into the caches the network's block just filled, so that a reading measures the
        machine and not what ran before it (the module docstring)."""
        started = time.perf_counter()
        for _ in range(WARM_CALLS):
            self.workload()
        seconds = timer(self.workload, CALLS_PER_READING)
        self.spent_s += time.perf_counter() - started
        self.readings.append(seconds / CALLS_PER_READING)
        return self.readings[-1]

    def between_blocks(self, timer: Timer, timed_s: float) -> None:
        """Read the reference after a network block when it has had less than its share of the
        ``timed_s`` seconds the network's blocks took so far (at least one reading each attempt)."""
        self.followed = len(self.readings)
        if self.spent_s < REFERENCE_SHARE * timed_s or len(self.readings) == self.start:
            self.read(timer)

    def calibrate(self, timer: Timer, seconds: float = FIRST_BASELINE_S) -> None:
        """Give a canary without a history a first one: ``seconds`` of readings (each after `WARM_CALLS`
        untimed calls, as `read` takes them), their group minima counted as one timing."""
        if self.baseline_s is not None:
            return
        readings: list[float] = []
        total = 0.0
        while total < seconds or len(readings) < MIN_READINGS:
            for _ in range(WARM_CALLS):
                self.workload()
            each = timer(self.workload, CALLS_PER_READING)
            total += each
            readings.append(each / CALLS_PER_READING)
        self._use(self._store(group_minima(readings)))

    # -- judging -------------------------------------------------------------------------------------
    def level(self, last: bool = False, end: int | None = None) -> float | None:
        """The machine's speed during the current attempt (up to reading ``end``) as the reference saw it: the
        median of the minima of its groups of `MIN_READINGS` readings (seconds), not its fastest reading (the
        module docstring); None with fewer readings. With ``last``, an attempt cut short by the end of the
        timing is judged with the last `MIN_READINGS` readings, those of the attempt before it included."""
        start = self.start
        if last and len(self.readings) - start < MIN_READINGS:
            start = max(0, len(self.readings) - MIN_READINGS)
        current = self.readings[start:end]
        return statistics.median(group_minima(current)) if len(current) >= MIN_READINGS else None

    def slowdown(self, last: bool = False, end: int | None = None) -> float | None:
        """The `level` over the baseline (1.0: quiet speed), or None without either."""
        level = self.level(last, end)
        return level / self.baseline_s if level is not None and self.baseline_s else None

    def slowed(self) -> bool:
        """Whether the current attempt's `level` ran more than `SLOW_TOLERANCE` over the baseline."""
        factor = self.slowdown()
        return factor is not None and factor > 1 + SLOW_TOLERANCE

    def clean(self) -> bool:
        """Whether the current attempt has enough readings and their `level`, up to the last one a network
        block was timed after, is within `SLOW_TOLERANCE` of the baseline (a slow episode that ends at the
        newest reading has not ended for the network's blocks of the attempt, timed before it)."""
        factor = self.slowdown(end=max(self.followed, self.start))
        return factor is not None and factor <= 1 + SLOW_TOLERANCE

    def retry(self) -> None:
        """Start a new attempt: later judgements use only the readings from now on."""
        self.start = self.followed = len(self.readings)
        self.retries += 1

    def learn(self) -> None:
        """Add this timing's group minima (every attempt's, in time order) to the stored history, as one
        timing: a slow episode, a lucky reading or a long timing moves the baseline only as much as its
        weight among the last `HISTORY_TIMINGS` timings allows. This timing stays judged (and reported)
        by the baseline it ran with."""
        self._store(group_minima(self.readings))

    def _store(self, minima: list[float]) -> History:
        """Add ``minima`` (one timing's) to this process's history at once, and to the file (merged with
        what other processes added since it was read) when `FLUSH_TIMINGS` timings or `FLUSH_S` seconds
        have gathered; return the history."""
        if not minima:
            return History(self.history.weights)
        slot = (self.path, self.key)
        with _guard:
            if slot not in _histories:
                _histories[slot] = History.from_json((read_json(self.path) or {}).get(self.key)) or History()
            _histories[slot].add(minima)
            _pending.setdefault(slot, []).append(minima)
            since = _pending_since.setdefault(slot, time.monotonic())
            if len(_pending[slot]) >= FLUSH_TIMINGS or time.monotonic() - since >= FLUSH_S:
                _write(slot)
            return History(_histories[slot].weights)

    def summary_ms(self) -> dict[str, Any]:
        """What the reference saw, for a measurement's detail: its baseline and the last attempt's `level`
        (``reference_ms``, see `slowdown`), their ratio, the fastest reading of the whole timing (taken over
        every attempt), the median of its group minima over every attempt (``reference_level_ms``;
        `repeatability.py` sets the network's minimum against it), the readings and the retries."""
        factor, level = self.slowdown(last=True), self.level(last=True)
        groups = group_minima(self.readings)
        return {
            "reference_baseline_ms": self.baseline_s * 1e3 if self.baseline_s else None,
            "reference_ms": level * 1e3 if factor is not None and level is not None else None,
            "reference_fastest_ms": min(self.readings) * 1e3 if self.readings else None,
            "reference_level_ms": statistics.median(groups) * 1e3 if groups else None,
            "reference_slowdown": round(factor, 4) if factor is not None else None,
            "reference_readings": len(self.readings),
            "retries": self.retries,
        }
