"""The C heap's thresholds fixed before a CPU timing, so that whether a network's calls page-fault does not
depend on what the process allocated before.

glibc's ``malloc`` returns the free top of its heap to the system once it exceeds a *trim threshold*, and
serves allocations above an *mmap threshold* with fresh mappings; both start at 128 KiB and rise as the
process frees large blocks (up to 32 MiB and 64 MiB). A network whose calls allocate and free a few
megabytes of activations can therefore shrink and regrow the heap in every call, each page touched again a
minor page fault that the timing thread pays on its own CPU time, or not, depending on where the
thresholds stood when it was timed: on the 2-vCPU Intel Xeon VM (2026-12-05 11:55, one thread, 3x32x32),
cell seed 4 took 150-198 minor faults a call when profiled after six other networks and none when profiled
first, nb201 seed 7 35-256 a call, and none with the trim threshold raised; the other eight networks of
`repeatability.py` none. A fault costs microseconds on a VM, so 200 of them move a 4 ms network by several
percent, by what ran before it rather than by what it computes.

So, once per process before the first CPU timing, the thresholds are fixed where glibc's own rule ends up
for a process that frees large blocks (``mallopt``: mmap 32 MiB, trim 64 MiB): the heap keeps up to 64 MiB of
free memory at its top instead of returning and refaulting it, which a process holding torch and a network
can spare. Nothing changes where the C library is not glibc (macOS, Windows, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "fix_heap_thresholds"]

#: glibc's ``mallopt`` parameters (malloc.h) and the values they are fixed at: the ceilings of glibc's
#: dynamic thresholds on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX, and twice it for the trim threshold).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD


@functools.cache
def fix_heap_thresholds() -> bool:
    """Fix glibc's mmap and trim thresholds (the module docstring), once per process; whether they were (False
    where the C library is not glibc or refused them)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 (glibc only: musl and others have mallopt without its meaning)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
