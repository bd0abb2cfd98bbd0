"""The C heap's thresholds fixed, and its memory on huge pages, before a CPU timing: whether a network's calls
page-fault, and which cache sets its data map to, must not depend on what the process allocated before.

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

**Huge pages** (`huge_pages`, since 2026-12-06, t13). A core's L2 (2 MiB on the Intel Xeon VM) is indexed
by physical address bits above the 4 KiB page offset, so on 4 KiB pages which cache sets a network's
activations and weights share depends on which physical frames the process happened to get: a layout
fixed within a profile and different in the next, which halves that agree cannot see. On transparent huge
pages (2 MiB) those bits are the virtual address's, and a page walk is shorter. So before a CPU timing the
process's anonymous writable mappings (the heap among them) are advised ``MADV_HUGEPAGE`` and collapsed
(``MADV_COLLAPSE``, Linux 6.1+), again for mappings that appeared since, at most every `HUGE_RESCAN_S`.
A/B on the 2-vCPU Intel Xeon VM (one core busy, under other work at load 11-16, processes alternating,
four large networks profiled 6-7 times each in three runs, all ten 5 times in a fourth;
benchmarks/profiling/README.md, 2026-12-06): the CV of a network's profiles a median 1.18 / 1.85 / 1.67 /
1.48% on 4 KiB pages, 0.90 / 1.35 / 1.38 / 1.11% on huge pages, the levels within 3%. It costs 0.7 s
once in a process holding torch and ten networks, 1 ms a rescan.
Where the kernel has no transparent huge pages (or they are off) nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import time
from pathlib import Path

__all__ = ["HUGE_RESCAN_S", "MMAP_THRESHOLD", "TRIM_THRESHOLD", "fix_heap_thresholds", "huge_pages"]

#: glibc's ``mallopt`` parameters (malloc.h) and the values they are fixed at: the ceilings of glibc's
#: dynamic thresholds on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX, and twice it for the trim threshold).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
#: madvise advice (linux/mman.h), the huge page size, and how often mappings are looked at again (seconds).
MADV_HUGEPAGE = 14
MADV_COLLAPSE = 25
HUGE_PAGE = 2 * 1024 * 1024
HUGE_RESCAN_S = 5.0
#: The ranges already advised in this process, and when the mappings were last read (monotonic seconds).
_advised: set[tuple[int, int]] = set()
_last_scan = [-float("inf")]


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


def huge_pages(maps: Path = Path("/proc/self/maps")) -> int:
    """Advise this process's anonymous writable mappings (each 2 MiB-aligned span of them not advised before)
    onto transparent huge pages and collapse them (the module docstring); at most every `HUGE_RESCAN_S`
    seconds. Returns how many spans were advised now (0 where there is no ``/proc`` or no ``madvise``)."""
    now = time.monotonic()
    if now - _last_scan[0] < HUGE_RESCAN_S:
        return 0
    _last_scan[0] = now
    try:
        lines = maps.read_text().splitlines()
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return 0
    madvise.argtypes, madvise.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    done = 0
    for span in _anonymous_spans(lines):
        if span not in _advised:
            _advised.add(span)
            madvise(span[0], span[1] - span[0], MADV_HUGEPAGE)
            madvise(span[0], span[1] - span[0], MADV_COLLAPSE)  # fails harmlessly before Linux 6.1
            done += 1
    return done


def _anonymous_spans(lines: list[str]) -> list[tuple[int, int]]:
    """The 2 MiB-aligned spans of the anonymous (or heap) readable and writable mappings of /proc/PID/maps."""
    spans = []
    for line in lines:
        fields = line.split()
        if len(fields) < 5 or not fields[1].startswith("rw") or (len(fields) > 5 and fields[5] != "[heap]"):
            continue
        start, end = (int(value, 16) for value in fields[0].split("-"))
        low, high = -(-start // HUGE_PAGE) * HUGE_PAGE, end // HUGE_PAGE * HUGE_PAGE
        if high > low:
            spans.append((low, high))
    return spans
