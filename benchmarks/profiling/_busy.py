"""``--busy``: keep one core busy in a second process for the duration of a benchmark, and the load average.

The process spins in pure Python (as in RECIPES.md, "Measuring on a busy machine") and is stopped by its
pid when the block ends; it also ends by itself when the benchmark's process is gone (killed by a signal,
which runs no cleanup) and after ``limit_s`` seconds.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

#: Spins until ``limit`` seconds have passed or its parent (the benchmark) is gone: a benchmark killed by a
#: signal runs no ``finally``, and an orphaned spinner would keep a core busy for everyone else's timings.
SPIN = (
    "import os, time\nparent, end = os.getppid(), time.time() + {limit}\n"
    "while time.time() < end and os.getppid() == parent:\n"
    "    for _ in range(100_000):\n        pass\n"
)


@contextlib.contextmanager
def busy_core(enabled: bool = True, limit_s: float = 3600) -> Iterator[int | None]:
    """Run the block with one core kept busy by another process (its pid is yielded), if ``enabled``."""
    if not enabled:
        yield None
        return
    process = subprocess.Popen([sys.executable, "-c", SPIN.format(limit=limit_s)])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def load() -> str:
    """The 1-, 5- and 15-minute load averages, for the table's footer."""
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())
