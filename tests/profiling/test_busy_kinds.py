"""The benchmarks' busy process (``benchmarks/profiling/_busy.py``): both kinds run while the block runs and
stop with it; an unknown kind is refused by name."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "profiling"))
from _busy import KINDS, busy_core  # a folder of scripts, not a package


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("kind", list(KINDS))
def test_the_busy_process_runs_while_the_block_runs_and_stops_after(kind):
    with busy_core(kind=kind) as pid:
        assert pid is not None
        time.sleep(0.5)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state in "RSD"  # alive (running or waiting for the CPU), not exited on an error
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped when the block ended


def test_an_unknown_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="'stream' is not one of spin, memory"), busy_core(kind="stream"):
        pass
    with busy_core(False, kind="memory") as pid:
        assert pid is None
