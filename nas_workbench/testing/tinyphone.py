"""A synthetic target device and a finished search on it, for tests of verifying finalists there.

The device "tinyphone" costs 2 ms per block and 3 ms more for a plain convolution (`device_ms`); scores
rise with latency (`accuracy`), so the best architectures within the budget sit at its edge, where a
verification on the device matters. `search_on_tinyphone` fits its profile from 8 architectures of a
20-architecture chain space and searches 6 others under `LIMIT`: its best trials within budget are
only predicted, which is what `run.finalists` proposes and `run.verify` judges again.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nas_workbench as nw
from nas_workbench.spaces._base import enumerate_specs
from nas_workbench.spec import ArchSpec
from nas_workbench.task import Task
from nas_workbench.testing.workers import TINY_CHAIN

__all__ = [
    "LIMIT",
    "TINY",
    "accuracy",
    "copy_search",
    "device_ms",
    "search_on_tinyphone",
    "tinyphone_config",
]

#: 20 architectures: depth 1-2, conv or dwsep, two widths.
TINY = {**TINY_CHAIN, "max_depth": 2}
#: Within: one block, two dwsep blocks (5 ms) and a conv with a dwsep (8 ms); not two convs.
LIMIT = 8.5


def device_ms(spec: ArchSpec) -> float:
    """The synthetic device's latency: every block costs 2 ms, a plain convolution 3 ms more."""
    blocks = [k for k in spec.choices if k.endswith(".op")]
    return 1.0 + sum(2.0 + (3.0 if spec.choices[k] == "conv" else 0.0) for k in blocks)


def accuracy(spec: ArchSpec, model: Any = None) -> dict[str, float]:
    """Slower networks score higher (the best within budget sit at the limit's edge); widths break ties.
    An ``evaluate`` for `nw.search`."""
    widths = sum(v for k, v in spec.choices.items() if k.endswith(".width"))
    return {"accuracy": 0.5 + device_ms(spec) / 100 + widths / 10_000}


def tinyphone_config(storage: str, **changes: Any) -> nw.SearchConfig:
    """The 6-trial random search on "tinyphone" under `LIMIT` that `search_on_tinyphone` runs."""
    settings: dict[str, Any] = {
        "space": "chain", "space_options": TINY, "strategy": "random", "objectives": ["accuracy"],
        "n_trials": 6, "budget": {"latency_ms": LIMIT}, "target_device": "tinyphone",
        "study_name": "phone", "storage": storage, "profile_metrics": ["params"], **changes,
    }  # fmt: skip
    return nw.SearchConfig(**settings)


def search_on_tinyphone(folder: Path, task: Task) -> nw.SearchConfig:
    """Fit "tinyphone"'s profile from 8 architectures (saved in the profiling cache, which the caller
    points ``NAS_WORKBENCH_CACHE`` at) and search 6 others, 4 of them 8 ms (the best within budget),
    into ``folder / "study.db"``; the search's config."""
    space = nw.spaces.get("chain", **TINY)
    archs = nw.profiling.propose(space, 8, seed=0)
    latency = [device_ms(space.parse(a)) for a in archs]
    shape, classes = task.input_shape, task.num_classes
    nw.profiling.fit_device("tinyphone", space, archs, latency, input_shape=shape, num_classes=classes)
    tried = [s for s in enumerate_specs(space) if space.format(s) not in archs]  # the others
    tried = [s for s in tried if device_ms(s) == 8.0][:4] + [s for s in tried if device_ms(s) != 8.0][:2]
    config = tinyphone_config(
        f"sqlite:///{folder / 'study.db'}", initial_architectures=[space.format(s) for s in tried]
    )
    nw.search(config, evaluate=accuracy, data=task).run()
    return config


def copy_search(searched: Path, folder: Path) -> None:
    """Copy what `search_on_tinyphone` wrote in ``searched`` (its storage, with SQLite's write-ahead log
    if any, and the profiling cache under ``cache``) into ``folder``: a test changes its own copy."""
    shutil.copytree(searched / "cache", folder / "cache")
    for stored in searched.glob("study.db*"):
        shutil.copy(stored, folder / stored.name)
