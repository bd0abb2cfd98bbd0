"""Helpers for driving the workbench from Python: a tiny chain space, a cheap evaluation, and an event
loop to run in (the workbench hands updates to the loop it was built on, as in a kernel)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import nas_workbench as nw
from nas_workbench.testing.workers import TINY_CHAIN

TINY = {**TINY_CHAIN, "max_depth": 2}  # 20 architectures: depth 1-2, conv or dwsep, two widths
FAST_PROFILE = ["params", "flops", "macs"]


def _score(spec: Any, model: Any) -> dict[str, float]:
    return {"accuracy": 1 - 1 / (1 + sum(p.numel() for p in model.parameters()) / 1000)}


async def _wait_for(
    condition: Callable[[], bool], timeout: float = 120.0, progress: Callable[[], object] | None = None
) -> None:
    deadline, seen = time.monotonic() + timeout, progress() if progress else None
    while not condition():
        if progress is not None and (now := progress()) != seen:
            deadline, seen = time.monotonic() + timeout, now  # news: the search is alive, however slow
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {condition}")
        await asyncio.sleep(0.05)


@pytest.fixture
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh SQLite storage, in memory-backed /dev/shm where there is one: SQLite's fsyncs on a slow
    disk otherwise dominate these searches' time."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix="nas-ui-", dir=shm))
        yield f"sqlite:///{folder / 'study.db'}"
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'study.db'}"


@pytest.fixture
def score() -> Callable[[Any, Any], dict[str, float]]:
    """A deterministic, cheap evaluation instead of training: more parameters score higher."""
    return _score


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """``await wait_for(condition)``: let the loop run (it applies the workbench's updates) until
    ``condition()`` holds (an AssertionError after ``timeout`` seconds, counted from the last change of
    ``progress()`` when given: a search of processes starved on a loaded machine is slow, not stuck)."""
    return _wait_for


@pytest.fixture
def make_config(storage: str) -> Callable[..., nw.SearchConfig]:
    """``make_config(**changes)``: a 5-trial search of the tiny space (on digits, the default data)."""

    def make(**changes: Any) -> nw.SearchConfig:
        settings: dict[str, Any] = {
            "space": "chain",
            "space_options": TINY,
            "strategy": "random",
            "objectives": ["accuracy", "params"],
            "n_trials": 5,
            "storage": storage,
            "study_name": "ui",
            "profile_metrics": FAST_PROFILE,
            **changes,
        }
        return nw.SearchConfig(**settings)

    return make
