"""``--busy``: keep one core busy in a second process for the duration of a benchmark, and the load average.

Two kinds of busy process (``--busy-kind``):

- ``spin`` (the default, the goals' condition): pure Python spinning, as in RECIPES.md, "Measuring on a busy
  machine" (``python3 -c "while True: pass"``). It holds one core and touches almost no memory.
- ``memory``: the same core held by a process that streams memory: it adds 1 in place to every element of a
  `STREAM_MB` array with numpy, over and over. Each pass reads and writes every cache line through the
  caches, evicting the shared L3 (32 MiB on the AMD EPYC VM), and takes memory bandwidth, which a spin loop
  does not (a copy, ``np.copyto``, was tried first and slowed the networks less, by 0-2% against 0-4%
  with the in-place add (benchmarks/profiling/README.md, 2026-12-05 14:27), as glibc's ``memcpy`` likely
  writes blocks this large with non-temporal stores, past the cache): a harsher sibling, standing in on
  the AMD EPYC VM for what a busy core does to the Intel Xeon VM (where the lead's idle runs of 2026-12-05
  missed the repeatability and drift goals that the AMD EPYC met with ``spin``).

The process is stopped by its pid when the block ends; it also ends by itself when the benchmark's process is
gone (killed by a signal, which runs no cleanup) and after ``limit_s`` seconds.
"""

from __future__ import annotations

import argparse
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
#: Size of the memory streamer's array (MiB): four times the AMD EPYC VM's L3, so every pass goes to memory
#: and leaves none of another process's data in the cache.
STREAM_MB = 128
#: Adds 1 in place to the array until ``limit`` seconds have passed or its parent is gone (as `SPIN`); each
#: pass over 128 MiB takes tens of milliseconds, so it notices soon.
MEMORY = (
    "import os, time\nimport numpy as np\nparent, end = os.getppid(), time.time() + {limit}\n"
    "a = np.zeros({mb} * 2**20 // 8)\n"
    "while time.time() < end and os.getppid() == parent:\n"
    "    np.add(a, 1.0, out=a)\n"
)
#: The busy processes by ``--busy-kind``.
KINDS = {"spin": SPIN, "memory": MEMORY}


@contextlib.contextmanager
def busy_core(enabled: bool = True, limit_s: float = 3600, kind: str = "spin") -> Iterator[int | None]:
    """Run the block with one core kept busy by another process of ``kind`` (`KINDS`: ``spin`` or
    ``memory``; its pid is yielded), if ``enabled``."""
    if kind not in KINDS:
        raise ValueError(f"busy kind {kind!r} is not one of {', '.join(KINDS)}")
    if not enabled:
        yield None
        return
    code = KINDS[kind].format(limit=limit_s, mb=STREAM_MB)
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def add_kind_option(parser: argparse.ArgumentParser) -> None:
    """Give a script's ``parser`` the ``--busy-kind`` option (`KINDS`, default ``spin``)."""
    parser.add_argument(
        "--busy-kind", choices=list(KINDS), default="spin",
        help="what the busy process does: spin (the goals' condition) or stream memory (_busy.py)",
    )  # fmt: skip


def load() -> str:
    """The 1-, 5- and 15-minute load averages, for the table's footer."""
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())
