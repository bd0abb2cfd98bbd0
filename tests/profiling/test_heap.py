"""glibc's heap thresholds fixed before a CPU timing (`nas_workbench.profiling._heap`), and the page faults a
timing reports."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nas_workbench.profiling import _heap
from nas_workbench.profiling.latency import TimingOptions, time_callable

GLIBC = sys.platform.startswith("linux") and ctypes.util.find_library("c") is not None

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
