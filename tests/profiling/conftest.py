"""Profiling tests keep their lookup tables and lock files in a temporary cache, never in ~/.cache."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nas_workbench.profiling import TimingOptions
from nas_workbench.profiling.stable_figures import StableFigures


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(autouse=True)
def _fresh_stable_figures(monkeypatch):
    """Each test starts without the stable latency figures earlier tests left in this process."""
    monkeypatch.setattr("nas_workbench.profiling._profile.STABLE_FIGURES", StableFigures())


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread by default: on a small shared machine two threads wait on each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _quick_drift_references(monkeypatch):
    """Drift references (timed by every calibration) timed briefly, in at most 3 rounds: these tests check
    what is timed and how it is used, not how precisely."""
    monkeypatch.setattr("nas_workbench.profiling.drift.DRIFT_TIMING", TimingOptions(**QUICK))
    monkeypatch.setattr("nas_workbench.profiling.drift.MAX_DRIFT_ROUNDS", 3)


@pytest.fixture
def small_cnn() -> nn.Module:
    """A small CNN for 1x8x8 inputs, as the search engine profiles."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
    )


#: Timing options that keep tests short (precision is the benchmarks' business), as `profile` keywords.
QUICK = {"warmup_s": 0.0, "min_repeats": 3, "max_repeats": 5, "max_time_s": 0.02}


@pytest.fixture
def quick() -> TimingOptions:
    return TimingOptions(**QUICK)
