"""The measurement lock: exclusive across processes and threads; shared use (training) keeps it waiting."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from nas_workbench.exceptions import ProfilingError
from nas_workbench.profiling import measure_latency, measurement_lock, shared_by_caller, shared_use

# A plain Python process (no nas_workbench) that tries to take the lock file without waiting.
PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(3)
"""


def _probe(path) -> int:
    return subprocess.run([sys.executable, "-c", PROBE, str(path)], timeout=60).returncode


def test_another_process_cannot_measure_meanwhile(tmp_path):
    with measurement_lock(tmp_path) as info:
        assert info.scope == "machine"
        assert _probe(tmp_path / "measure.lock") == 3  # held: the other process would wait
    assert _probe(tmp_path / "measure.lock") == 0  # released


def test_training_keeps_measurements_waiting(tmp_path):
    measured = threading.Event()

    def measure() -> None:
        with measurement_lock(tmp_path):
            measured.set()

    with shared_use(tmp_path), shared_use(tmp_path):  # nested shared use is fine
        thread = threading.Thread(target=measure)
        thread.start()
        thread.join(timeout=0.3)
        assert not measured.is_set()
    thread.join(timeout=60)
    assert measured.is_set()


def test_a_waiting_measurement_says_why_and_one_that_does_not_wait_says_nothing(
    tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr("nas_workbench.profiling.lock._last_notice", float("-inf"))
    with caplog.at_level("WARNING", logger="nas_workbench"), measurement_lock(tmp_path):
        pass
    assert not caplog.records

    measured = threading.Event()

    def measure() -> None:
        with measurement_lock(tmp_path):
            measured.set()

    with shared_use(tmp_path), caplog.at_level("WARNING", logger="nas_workbench"):
        thread = threading.Thread(target=measure)
        thread.start()
        thread.join(timeout=0.3)
    thread.join(timeout=60)
    assert measured.is_set()
    assert any("waits until other processes" in r.getMessage() for r in caplog.records)


def test_measuring_inside_shared_use_is_refused(tmp_path):
    with (
        shared_use(tmp_path),
        pytest.raises(ProfilingError, match="shared_use"),
        measurement_lock(tmp_path),
    ):
        pass


def test_a_thread_scoring_for_a_shared_use_holder_is_refused_a_measurement_instead_of_waiting(tmp_path):
    errors: list[BaseException] = []

    def scoring() -> None:  # as a trial scored in a thread of its own, under trial_timeout
        with shared_by_caller():
            try:
                with measurement_lock(tmp_path):
                    pass
            except ProfilingError as error:
                errors.append(error)

    with shared_use(tmp_path):
        thread = threading.Thread(target=scoring)
        thread.start()
        thread.join(timeout=10)
    assert not thread.is_alive() and len(errors) == 1 and "shared_use" in str(errors[0])


def test_measurements_say_they_were_exclusive(small_cnn, quick):
    latency = measure_latency(small_cnn.eval(), (1, 8, 8), threads=1, options=quick)
    assert latency.detail["exclusive"] is True
    assert latency.detail["lock_scope"] == "machine"
    assert latency.detail["lock_wait_s"] >= 0


def test_a_measurement_inside_one_that_waited_reports_the_wait(tmp_path):
    """Profiling takes the lock once for all its metrics; each metric's figure still records that wait."""
    waited: list[float] = []

    def measure() -> None:
        with measurement_lock(tmp_path) as outer, measurement_lock(tmp_path) as inner:
            waited.extend([outer.wait_s, inner.wait_s])

    with shared_use(tmp_path):
        thread = threading.Thread(target=measure)
        thread.start()
        thread.join(timeout=0.3)
    thread.join(timeout=60)
    assert len(waited) == 2 and waited[0] >= 0.25 and waited[1] == waited[0], waited
    with measurement_lock(tmp_path) as again, measurement_lock(tmp_path) as nested:
        assert nested.wait_s == again.wait_s < 0.25  # not the earlier wait: this one did not wait
