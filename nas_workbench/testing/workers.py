"""Cheap evaluations for tests and benchmarks of many processes sharing a study.

Worker processes import an evaluation by name (``--evaluate nas_workbench.testing.workers:score``), so the
functions live in a module. None trains anything: a trial costs a network build and a parameter count.

Set ``NAS_WORKBENCH_EVAL_LOG`` to a file path and every evaluation appends
``<pid> <architecture id> <unix time>`` there (one ``O_APPEND`` write per line, safe across processes), so
a test can count evaluations across processes (a trial evaluated twice would show) and time them.
"""

from __future__ import annotations

import itertools
import os
import time

from torch import nn

from nas_workbench.spec import ArchSpec

__all__ = ["TINY_CHAIN", "hang", "hang_first", "score", "score_then_hang", "sleepy", "slow"]

_CALLS = itertools.count(1)  # evaluations made by this process, for `score_then_hang`

#: A chain space of 4 architectures (one block: conv or dwsep, two widths): few networks to profile.
TINY_CHAIN = {
    "num_stages": 1,
    "max_depth": 1,
    "ops": ["conv", "dwsep"],
    "kernel_sizes": [3],
    "widths": [8],
    "strides": [1],
    "width_ratios": [0.5, 1.0],
    "stem_channels": 8,
}


def _log(spec: ArchSpec) -> None:
    path = os.environ.get("NAS_WORKBENCH_EVAL_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{os.getpid()} {spec.id} {time.time():.3f}\n".encode())
        finally:
            os.close(fd)


def score(spec: ArchSpec, model: nn.Module) -> dict[str, float]:
    """A deterministic accuracy that grows with the parameter count, in microseconds."""
    _log(spec)
    params = sum(p.numel() for p in model.parameters())
    return {"accuracy": 1 - 1 / (1 + params / 1000)}


def sleepy(spec: ArchSpec, model: nn.Module) -> dict[str, float]:
    """`score` after 0.3 s: a trial long enough for a process to be killed in the middle of it."""
    time.sleep(0.3)
    return score(spec, model)


def slow(spec: ArchSpec, model: nn.Module) -> dict[str, float]:
    """`score` after 1.5 s: two workers take 45 s for 60 trials, time enough for faults in the middle."""
    time.sleep(1.5)
    return score(spec, model)


def hang(spec: ArchSpec, model: nn.Module) -> dict[str, float]:
    """Never returns (for an hour): the trial stays in progress until its process is killed."""
    _log(spec)
    time.sleep(3600)
    return score(spec, model)


def score_then_hang(spec: ArchSpec, model: nn.Module) -> dict[str, float]:
    """`score` for this process's first two evaluations, then `hang`: a worker completes two trials and is
    then stuck in its third, so killing it is certain to hit a trial in progress."""
    return score(spec, model) if next(_CALLS) <= 2 else hang(spec, model)


def hang_first(spec: ArchSpec, model: nn.Module) -> dict[str, float]:
    """`hang` for this process's first evaluation, then `score`: a search whose first trial never returns
    unless ``trial_timeout`` abandons it."""
    return hang(spec, model) if next(_CALLS) == 1 else score(spec, model)
