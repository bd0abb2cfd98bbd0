"""The benchmarks' cheap objective, importable by worker processes (``--evaluate _evaluate:wait_then_score``).

Each evaluation waits ``NAS_BENCH_EVAL_S`` seconds (0.5 by default) without using the CPU, as an evaluation
on an accelerator or a remote service would, then scores the network by its parameter count. Workers run
from this folder's parent process inherit its import path, so this module is found without installing it.
"""

from __future__ import annotations

import os
import time

from torch import nn

from nas_workbench.spec import ArchSpec
from nas_workbench.testing.workers import score


def wait_then_score(spec: ArchSpec, model: nn.Module) -> dict[str, float]:
    time.sleep(float(os.environ.get("NAS_BENCH_EVAL_S", "0.5")))
    return score(spec, model)
