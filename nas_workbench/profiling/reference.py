"""A reference workload (a "canary") timed between a network's blocks: is the machine slow, or the network?

The minimum of many short blocks (`latency`) filters out stalls, which only add time to some blocks. It
cannot filter out an episode in which the whole machine runs slow for longer than a timing: on the
shared 2-core development VM, at load 2-4, windows of 0.25-2 s ran 1.3-2x slower (on the thread's own CPU
time), so every block of a one-second timing was slow, its two halves agreed, and the profile reported a
network 1.6x slower than the next profile of the same network (nb201: 6.3, 10.5, 10.4, 6.3 ms).

Duet benchmarking (Bulej et al., 2020) and randomized multiple interleaved trials (Abedi and Brecht, 2017)
run a reference alongside the benchmark so that the machine's state is seen, not guessed. Here a small
fixed workload (a 3x3 convolution, batch norm and ReLU over a 16-channel 16x16 map: tens of microseconds)
is timed between the network's blocks with the same clock, taking about `REFERENCE_SHARE` of the timing.
Its quiet time on this device, clock and thread count (its *baseline*: the least ever seen, since
interference only adds time) is kept in the profiling cache. Measured over 0.25 s windows on 12 random
networks at load 2-4, the reference slowed with the networks (1.47x when a chain network ran 1.54x, 2.00x
with an nb201 network at 1.66x), so a timing whose reference readings all ran more than `SLOW_TOLERANCE`
over the baseline was taken in a slow episode: `latency.time_callable` then starts the timing again
within its time cap, and marks a result that never ran at the machine's quiet speed unstable, with the
slowdown seen. The network's figure is not divided by the reference's slowdown: the two slowed by
different factors in the same window (network / reference 0.6-1.6), so a corrected figure would look more
precise than it is. Measured again across whole profiles (8 networks x 8 profiles, load 8-10, 2026-12-03,
a scratch script): the network's minimum and the reference's fastest reading of the same profile
correlated at -0.70 to +0.74, and reporting their ratio raised the median CV over profiles from 4.4% to
5.1% with a core busy (3.1% either way without); pairing each block with its nearest reading gave 26-49%
(benchmarks/profiling/README.md; `repeatability.py` reports the ratio's CV as ``CV/ref``, for reruns).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nas_workbench.profiling._device import device_info
from nas_workbench.profiling.cache import cache_dir, read_json, write_json_atomic
from nas_workbench.profiling.lock import file_lock

__all__ = ["MIN_READINGS", "REFERENCE_SHARE", "SLOW_TOLERANCE", "Canary"]

#: A timing whose reference readings all ran more than this fraction over the quiet baseline was slowed.
SLOW_TOLERANCE = 0.10
#: About this fraction of a timing's time goes to reading the reference.
REFERENCE_SHARE = 0.2
#: Readings needed before the reference says anything. One reading is one call: at load 5, 54% of
#: single-call readings came within 10% of the least (8% of two-call ones), so five readings that all run
#: slow are a slow machine, not bad luck (about 0.5 ** 5 = 3% of the time by chance).
MIN_READINGS = 5
CALLS_PER_READING = 1
#: Seconds of readings that give a first baseline.
FIRST_BASELINE_S = 0.1

#: Block timer: ``timer(fn, number)`` runs ``fn`` ``number`` times and returns the seconds taken.
Timer = Callable[[Callable[[], Any], int], float]

_baselines: dict[tuple[Path, str], float] = {}  # per file and key, this process's view of the file
_guard = threading.Lock()


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
    """The reference workload of one device, clock and thread count, its quiet baseline, and its readings
    during one timing (which may be restarted: `retry`).

    Build one per timing with `for_device`; `time_callable` calls `between_blocks` after each block of the
    network, asks `slowed` / `clean`, and calls `learn` at the end.
    """

    def __init__(self, workload: Callable[[], None], key: str, baseline_s: float | None, path: Path) -> None:
        self.workload = workload
        self.key = key
        self.baseline_s = baseline_s
        self.path = path
        #: Seconds per call of each reading, in time order; the current attempt's start from `start`.
        self.readings: list[float] = []
        self.start = 0
        self.spent_s = 0.0
        self.retries = 0

    @classmethod
    def for_device(
        cls, device: torch.device, clock: str, threads: int, directory: Path | None = None
    ) -> Canary:
        """The canary of ``device`` at ``threads`` timed with ``clock``, with its stored baseline."""
        key = _key(device, clock, threads)
        path = (directory if directory is not None else cache_dir()) / "reference.json"
        with _guard:
            if (path, key) not in _baselines:
                stored = (read_json(path) or {}).get(key)
                if isinstance(stored, float | int) and stored > 0:
                    _baselines[path, key] = float(stored)
            baseline = _baselines.get((path, key))
        return cls(_workload(device), key, baseline, path)

    # -- reading -------------------------------------------------------------------------------------
    def read(self, timer: Timer) -> float:
        """Time one reading (seconds per call) and keep it. An untimed call first brings the workload back
        into the caches the network's block just filled, so that a reading, like the baseline, measures the
        machine and not what ran before it (read cold, between a small network's blocks at load 6, every
        reading took 2x the back-to-back baseline)."""
        started = time.perf_counter()
        self.workload()
        seconds = timer(self.workload, CALLS_PER_READING)
        self.spent_s += time.perf_counter() - started
        self.readings.append(seconds / CALLS_PER_READING)
        return self.readings[-1]

    def between_blocks(self, timer: Timer, timed_s: float) -> None:
        """Read the reference after a network block when it has had less than its share of the
        ``timed_s`` seconds the network's blocks took so far (at least one reading each attempt)."""
        if self.spent_s < REFERENCE_SHARE * timed_s or len(self.readings) == self.start:
            self.read(timer)

    def calibrate(self, timer: Timer, seconds: float = FIRST_BASELINE_S) -> None:
        """Give a canary without a stored baseline one: its least reading over ``seconds`` of readings."""
        if self.baseline_s is not None:
            return
        readings: list[float] = []
        total = 0.0
        while total < seconds or len(readings) < MIN_READINGS:
            each = timer(self.workload, CALLS_PER_READING)
            total += each
            readings.append(each / CALLS_PER_READING)
        self._store(min(readings))

    # -- judging -------------------------------------------------------------------------------------
    def slowdown(self, last: bool = False) -> float | None:
        """The current attempt's fastest reading over the baseline (1.0: quiet speed), or None with fewer
        than `MIN_READINGS` readings or no baseline. With ``last``, an attempt cut short by the end of the
        timing is judged with the last `MIN_READINGS` readings, those of the attempt before it included."""
        start = self.start
        if last and len(self.readings) - start < MIN_READINGS:
            start = max(0, len(self.readings) - MIN_READINGS)
        current = self.readings[start:]
        if len(current) < MIN_READINGS or not self.baseline_s:
            return None
        return min(current) / self.baseline_s

    def slowed(self) -> bool:
        """Whether every reading of the current attempt ran more than `SLOW_TOLERANCE` over the baseline."""
        factor = self.slowdown()
        return factor is not None and factor > 1 + SLOW_TOLERANCE

    def clean(self) -> bool:
        """Whether the current attempt has enough readings and one of them ran at quiet speed."""
        factor = self.slowdown()
        return factor is not None and factor <= 1 + SLOW_TOLERANCE

    def retry(self) -> None:
        """Start a new attempt: later judgements use only the readings from now on."""
        self.start = len(self.readings)
        self.retries += 1

    def learn(self) -> None:
        """Lower the stored baseline when a reading beat it (the machine was quieter than ever seen)."""
        if not self.readings:
            return
        fastest = min(self.readings)
        if self.baseline_s is None or fastest < self.baseline_s * 0.995:
            self._store(fastest)

    def _store(self, seconds: float) -> None:
        """Make ``seconds`` the baseline unless the file holds a lower one (another process's)."""
        with _guard, file_lock(self.path.with_suffix(".lock")):
            stored = read_json(self.path) or {}
            known = stored.get(self.key)
            best = min(seconds, float(known)) if isinstance(known, float | int) and known > 0 else seconds
            write_json_atomic(self.path, {**stored, self.key: best})
            _baselines[self.path, self.key] = self.baseline_s = best

    def summary_ms(self) -> dict[str, Any]:
        """What the reference saw, for a measurement's detail: its baseline and the last attempt's fastest
        reading (ms, see `slowdown`), their ratio, the fastest reading of the whole timing (the one to set
        against the network's minimum, also taken over every attempt), the readings and the retries."""
        factor = self.slowdown(last=True)
        return {
            "reference_baseline_ms": self.baseline_s * 1e3 if self.baseline_s else None,
            "reference_ms": factor * self.baseline_s * 1e3 if factor and self.baseline_s else None,
            "reference_fastest_ms": min(self.readings) * 1e3 if self.readings else None,
            "reference_slowdown": round(factor, 4) if factor is not None else None,
            "reference_readings": len(self.readings),
            "retries": self.retries,
        }
