"""Energy: measured where a counter is readable, otherwise an estimate with a note, never a crash."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nas_workbench.profiling._trace import trace
from nas_workbench.profiling.energy import energy_counter, estimate_energy, measure_energy, rapl_counter


def _zone(root, name, energy, limit):
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "energy_uj").write_text(f"{energy}\n")
    (zone / "max_energy_range_uj").write_text(f"{limit}\n")
    return zone


def test_rapl_reader_sums_packages_and_survives_wrap_around(tmp_path):
    # The powercap sysfs layout (package zones, with a subzone that must not be counted twice).
    package0 = _zone(tmp_path, "intel-rapl:0", 900, 1000)
    package1 = _zone(tmp_path, "intel-rapl:1", 100, 1000)
    _zone(package0, "intel-rapl:0:0", 5, 1000)
    counter, reason = rapl_counter(tmp_path)
    assert counter is not None and reason == "" and counter.source == "rapl"
    start = counter.read()
    (package0 / "energy_uj").write_text("50\n")  # wrapped: 900 → 1000 → 50 is 150 µJ
    (package1 / "energy_uj").write_text("130\n")
    assert counter.read() - start == pytest.approx(180e-6)


def test_no_rapl_zones_is_a_reason_not_an_error(tmp_path):
    counter, reason = rapl_counter(tmp_path)
    assert counter is None and "no RAPL zones" in reason


def test_this_machine_gets_a_measurement_or_a_labelled_estimate(small_cnn):
    model = small_cnn.eval()
    result = trace(model, (1, 8, 8))
    energy = measure_energy(model, result, threads=1, min_seconds=0.05)
    counter, reason = energy_counter("cpu")
    assert energy.unit == "mJ" and energy.value > 0
    if counter is None:
        assert energy.method == "estimated" and energy.source == "analytic (FLOPs, bytes)"
        assert energy.detail["note"] == reason and "\n" not in reason
    else:
        assert energy.method == "measured" and energy.source == "rapl" and energy.detail["inferences"] > 0


def test_estimate_grows_with_work():
    small = trace(nn.Sequential(nn.Conv2d(3, 8, 3)), (3, 16, 16))
    large = trace(nn.Sequential(nn.Conv2d(3, 64, 3)), (3, 16, 16))
    assert estimate_energy(large, "cpu", 1).value > estimate_energy(small, "cpu", 1).value
    detail = estimate_energy(small, "cpu", 1).detail
    assert detail["flops"] == small.flops and detail["bytes_moved"] == small.traffic_bytes


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_nvml_energy_on_cuda(small_cnn):
    model = small_cnn.cuda().eval()
    result = trace(model, (1, 8, 8))
    energy = measure_energy(model, result, device="cuda", min_seconds=0.5)
    counter, reason = energy_counter("cuda")
    if counter is None:
        assert energy.method == "estimated" and energy.detail["note"] == reason
    else:
        assert energy.method == "measured" and energy.source == "nvml"
