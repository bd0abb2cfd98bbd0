"""How long and how carefully a latency measurement times (`nas_workbench.profiling.latency` holds the
timing itself and, in its docstring, the stopping rule these options set)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from nas_workbench.exceptions import ConfigError

__all__ = ["TimingOptions"]


@dataclass(frozen=True)
class TimingOptions:
    """How long and how carefully to time (the stopping rule: `nas_workbench.profiling.latency`).

    Attributes:
        warmup_s: Seconds of untimed calls first (at least three calls), to start thread pools, fill caches
            and pick kernels.
        accelerator_warmup_s: The same on CUDA and MPS, where the first calls also load kernels lazily and
            pick algorithms, and a batch-1 network's time is mostly the host launching kernels, which takes
            longer to settle: on an H200 (2026-12-04, an nb201 network of 4.1 ms, 6 profiles each) the
            minimum varied by 14% (CV) after 0.02 s of warm-up and 3.4% after 0.5 s.
        min_repeats: Fewest timed blocks before an attempt is judged (dropped as slow, or stopped).
        stable_repeats: Fewest blocks of the current attempt before it may stop as stable (at most
            ``max_repeats``): the minimum is taken over at least this many draws whatever the network's
            size (`nas_workbench.profiling.latency`). Chosen on the 2-core AMD EPYC VM (2026-12-04, one core
            busy, load 13, `window_minimum.py`'s calls of the five nb201 and cell networks of
            `repeatability.py`, 2.8-6.7 ms): the minimum of 30 calls ran 1.0-6.4% above that of 100, of 100
            0.2-1.3% above that of 130. Networks under 2.5 ms reach it within ``min_time_s`` anyway.
        max_repeats: Most timed blocks.
        rel_ci: Stop when two independent estimates (the minima of the first and the second half of the
            blocks) agree within this fraction of the estimate; a result that never does is unstable.
        min_time_s: Time blocks adding up to at least this many seconds on the measurement's own clock (the
            thread's CPU time for one thread on CPU; the time cap wins), so that the minimum is taken over
            as much of the network's work whatever the load (a wall-clock window holds fewer blocks when
            other processes share the core) and over a window longer than the machine's short slow
            stretches (0: stop as soon as the rule allows; benchmarks/profiling/window_minimum.py). The
            default, 0.25 s (as `timeit`'s autorange aims at 0.2 s), was chosen on the idle 2-core VM with
            one core kept busy (2026-12-04, `repeatability.py --busy`, 10 networks x 10 profiles): median
            CV 2.2%, worst 4.2%, at 0.33 s a profile, against 2.9% and 14% stopping as soon as the rule
            allowed (0.04-0.20 s a profile).
        max_time_s: Stop after this many seconds of timing (after the warm-up), whatever the precision.
        slow_time_s: Once the reference workload has dropped an attempt as slow, each new attempt may run
            ``max_time_s`` of its own, up to this many seconds beyond ``max_time_s`` (0: the cap stays), to
            wait out a slow episode (`nas_workbench.profiling.latency`). The lookup table's operators and the
            automatic calibration's networks keep their caps (0).
        min_block_s: Group calls so that each timed block lasts at least this long.
        clock: "auto", "wall" or "cpu" (`nas_workbench.profiling.latency`).
        reference: Interleave readings of the reference workload and retry a timing taken while the
            machine ran slow (`nas_workbench.profiling.latency`).
        huge_pages: On CPU, put the process's anonymous memory on transparent huge pages before timing, so
            that which cache sets a network's data share does not depend on the physical pages it got
            (`nas_workbench.profiling._heap`; it changes the whole process's memory, as the heap thresholds
            do). False leaves the memory as it is.
    """

    warmup_s: float = 0.02
    accelerator_warmup_s: float = 0.5
    min_repeats: int = 10
    stable_repeats: int = 100
    max_repeats: int = 1000
    rel_ci: float = 0.02
    min_time_s: float = 0.25
    max_time_s: float = 1.0
    slow_time_s: float = 3.0
    min_block_s: float = 1e-4
    clock: Literal["auto", "wall", "cpu"] = "auto"
    reference: bool = True
    huge_pages: bool = True

    def __post_init__(self) -> None:
        if self.clock not in ("auto", "wall", "cpu"):
            raise ConfigError("clock", self.clock, "'auto', 'wall' or 'cpu'")
        for flag in ("reference", "huge_pages"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(flag, getattr(self, flag), "True or False")
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in ("clock", "reference", "huge_pages"):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(item.name, value, "a non-negative number")
        if self.min_repeats < 1 or self.max_repeats < self.min_repeats:
            raise ConfigError(
                "max_repeats", self.max_repeats, f"at least min_repeats ({self.min_repeats}) and 1"
            )

    def warmup_for(self, device_type: str) -> float:
        """Seconds of warm-up on a device of ``device_type`` ("cpu", "cuda", "mps"): ``warmup_s`` on the
        CPU, ``accelerator_warmup_s`` elsewhere."""
        return self.warmup_s if device_type == "cpu" else self.accelerator_warmup_s

    @property
    def stop_repeats(self) -> int:
        """The fewest blocks of an attempt that may stop as stable: ``stable_repeats``, within
        ``min_repeats`` and ``max_repeats``."""
        return max(self.min_repeats, min(self.stable_repeats, self.max_repeats))

    @classmethod
    def fields(cls) -> list[str]:
        """The option names, for validating keyword arguments."""
        return [item.name for item in fields(cls)]
