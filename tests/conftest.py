"""Shared fixtures: a tiny task and a throw-away SQLite storage keep unit tests fast and isolated."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nas_workbench.task import Task, make_task


@pytest.fixture(scope="session")
def tiny_task() -> Task:
    """120 examples of 1x8x8 noise with a learnable label (the sign of the mean of the left half)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 1, 8, 8)).astype(np.float32)
    y = (x[:, :, :, :4].mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    return make_task(x, y, name="tiny")


@pytest.fixture
def storage(tmp_path) -> str:
    """A fresh SQLite storage URL in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'study.db'}"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Lookup tables and the measurement lock file live in a folder of this test run, so tests neither
    reuse a developer's tables nor wait on the lock of a benchmark running beside them."""
    os.environ["NAS_WORKBENCH_CACHE"] = str(tmp_path_factory.mktemp("nas_workbench_cache"))
