"""Shared fixtures: a tiny task and a throw-away SQLite storage keep unit tests fast and isolated."""

from __future__ import annotations

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
