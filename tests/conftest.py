"""Shared fixtures: a tiny task and a throw-away SQLite storage keep unit tests fast and isolated; the
real PostgreSQL server for the tests that need one."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import numpy as np
import pytest
import sqlalchemy

import nas_workbench as nw
from nas_workbench.engine.storage_urls import normalize_url
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


@pytest.fixture(autouse=True, scope="session")
def _no_static_images() -> None:
    """Figures shown in tests get no static PNG (a browser per test process); the tests of the images and
    of the tutorials turn it back on."""
    os.environ.setdefault("NAS_WORKBENCH_STATIC_IMAGES", "0")


POSTGRES_URL = os.environ.get("NAS_WORKBENCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def reachable(url: str) -> str | None:
    """None when the database server at ``url`` answers, else why not."""
    engine = sqlalchemy.create_engine(normalize_url(url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def postgres() -> str:
    """The server's URL; skips (fails under CI) when it is down."""
    problem = reachable(POSTGRES_URL)
    if problem is not None:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable ({problem}); .ci/run starts it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_URL


def tiny_dnas_config(storage: str, **changes) -> nw.SearchConfig:
    """A "dnas" search of a one-cell NAS-Bench-201 supernet with a latency penalty, in seconds."""
    settings = {
        "space": "nb201",
        "space_options": {"num_cells": 1, "stem_channels": 4},
        "strategy": "dnas",
        "strategy_options": {"penalty": ["latency_ms"]},
        "objectives": ["accuracy", "params"],
        "profile_metrics": ["latency_ms"],
        "profiling_method": "proxy",
        "fidelity": nw.Fidelity(epochs=1, batch_size=16),
        "n_trials": 3,
        "storage": storage,
        "threads": 1,
        **changes,
    }
    return nw.SearchConfig(**settings)


def quick_calibration(patch: pytest.MonkeyPatch) -> None:
    """Make the automatic lookup-table calibration a "proxy" latency needs small: 3 networks and drift
    references timed briefly, in at most 3 rounds (as tests/profiling's own fixtures do). For tests that
    use the predictions, not their precision: a tiny dnas search with a latency penalty spent 10 of its
    17 s of CPU time calibrating 8 networks and timing the drift references' baseline."""
    from nas_workbench.profiling import TimingOptions

    quick = TimingOptions(warmup_s=0.0, min_repeats=3, max_repeats=5, max_time_s=0.02)
    patch.setattr("nas_workbench.profiling.calibration.AUTO_NETWORKS", 3)
    patch.setattr("nas_workbench.profiling.calibration.AUTO_TIMING", quick)
    patch.setattr("nas_workbench.profiling.drift.DRIFT_TIMING", quick)
    patch.setattr("nas_workbench.profiling.drift.MAX_DRIFT_ROUNDS", 3)


def run_python(*args: str, cpu_s: float = 60.0, **options) -> subprocess.CompletedProcess[str]:
    """Run this interpreter with ``args`` (``"-c", code, ...``), its output captured as text, failing on a
    non-zero exit. Its limit is ``cpu_s`` seconds of the child's CPU time (an import takes about 2), not of
    the wall clock: on a loaded machine the same run waits minutes for a core (120 s of wall clock failed
    such probes at load 11, nice 19), while a child stuck in a loop is still killed (SIGXCPU); one hung
    without using the CPU meets the test's own timeout."""

    def limit_cpu() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_s), int(cpu_s)))

    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=True, preexec_fn=limit_cpu, **options
    )
