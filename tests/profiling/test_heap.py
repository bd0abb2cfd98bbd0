"""glibc's heap thresholds fixed before a CPU timing (`nas_workbench.profiling._heap`), and the page faults a
timing reports."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling import _heap
from nas_workbench.profiling.latency import TimingOptions, time_callable

GLIBC = sys.platform.startswith("linux") and ctypes.util.find_library("c") is not None
THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")
THP = THP_MODE.exists() and "[never]" not in THP_MODE.read_text()


def _anon_huge_kb() -> int:
    """This process's anonymous memory on transparent huge pages (kB, /proc/self/smaps_rollup)."""
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])
    return 0


#: A fresh interpreter frees a 1 MiB mapping (glibc's dynamic thresholds rise to 1 and 2 MiB), then ten times
#: takes 18 MB of heap in 0.9 MB pieces and frees it all, and prints the page faults of those ten rounds.
ROUNDS = """
import importlib.util, resource, sys
spec = importlib.util.spec_from_file_location("_heap", sys.argv[1])
heap = importlib.util.module_from_spec(spec)
spec.loader.exec_module(heap)
if sys.argv[2] == "fixed":
    assert heap.fix_heap_thresholds()
first = bytearray(1 << 20)
del first
def round_():
    pieces = [bytearray(900_000) for _ in range(20)]
    del pieces
round_()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    round_()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    run = [sys.executable, "-c", ROUNDS, str(Path(_heap.__file__)), mode]
    return int(subprocess.run(run, check=True, capture_output=True, text=True).stdout)


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt")
def test_with_the_thresholds_fixed_freed_heap_is_kept_and_not_faulted_in_again():
    """Without the fix glibc gives the 18 MB back after every round and faults it in again (about 4,400
    faults a round on the 2-vCPU VM); with it, none."""
    assert _faults("dynamic") > 10 * 1000
    assert _faults("fixed") < 100


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt")
def test_the_thresholds_are_fixed_once_per_process_and_a_cpu_timing_counts_its_page_faults():
    assert _heap.fix_heap_thresholds() is True and _heap.fix_heap_thresholds() is True
    assert _heap.fix_heap_thresholds.cache_info().misses <= 1
    options = TimingOptions(min_repeats=4, stable_repeats=4, min_time_s=0, max_time_s=0.05, reference=False)
    result = time_callable(lambda: torch.ones(64).sum(), torch.device("cpu"), options)
    assert result.page_faults is not None and result.page_faults >= 0
    assert result.summary_ms(options.rel_ci)["page_faults_per_call"] >= 0


MAPS = """\
7f0000000000-7f0000600000 rw-p 00000000 00:00 0
7f0000700000-7f0000800000 rw-p 00000000 00:00 0
7f0000900000-7f0001100000 r--p 00000000 00:00 0
7f0001200000-7f0001c00000 rw-p 00000000 08:01 42    /usr/lib/libtorch_cpu.so
55d000100000-55d000a00000 rw-p 00000000 00:00 0     [heap]
7ffc00000000-7ffc00400000 rw-p 00000000 00:00 0     [stack]
"""


def test_the_spans_advised_are_the_2mib_aligned_parts_of_anonymous_writable_mappings_and_the_heap():
    spans = _heap._anonymous_spans(MAPS.splitlines())
    assert spans == [(0x7F0000000000, 0x7F0000600000), (0x55D000200000, 0x55D000A00000)]


@pytest.mark.skipif(not THP, reason="transparent huge pages off or absent")
def test_huge_pages_puts_the_processs_memory_on_huge_pages_once_per_rescan(monkeypatch):
    monkeypatch.setattr(_heap, "_advised", set())
    monkeypatch.setattr(_heap, "_last_scan", [-float("inf")])
    held = torch.ones(16 * 2**20 // 4)  # 16 MiB of anonymous memory, faulted in on small pages
    assert _heap.huge_pages() > 0
    assert _heap.huge_pages() == 0  # within HUGE_RESCAN_S: the mappings are not read again
    assert _anon_huge_kb() >= 8192
    del held


def test_huge_pages_must_be_a_bool():
    with pytest.raises(ConfigError, match="huge_pages"):
        TimingOptions(huge_pages=1)
