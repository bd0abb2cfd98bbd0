"""`profile`: each metric with its unit, method and source; bad input and absent devices fail clearly."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from nas_workbench.exceptions import ConfigError, ProfilingError
from nas_workbench.profiling import METRICS, Profile, profile
from nas_workbench.profiling.energy import energy_counter
from tests.profiling.conftest import QUICK


def test_counted_metrics_are_exact_and_labelled():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(4 * 5 * 5, 2))
    prof = profile(model, (3, 5, 5), metrics=["params", "flops", "macs"], batch_size=2)
    conv_macs = 4 * 3 * 3 * 3 * 5 * 5  # out channels x in channels x kernel x output positions
    linear_macs = 4 * 5 * 5 * 2
    assert list(prof) == ["params", "flops", "macs"]
    assert prof.params == 4 * 3 * 3 * 3 + 4 * 5 * 5 * 2 + 2
    assert prof.macs == 2 * (conv_macs + linear_macs)  # per batch of 2
    assert prof.flops == 2 * prof.macs
    for name in prof:
        assert prof[name].method == "counted"
        assert prof[name].unit == METRICS[name].unit
    assert prof["flops"].source == "torch.utils.flop_counter"
    assert prof["flops"].detail["per_sample"] == 2 * (conv_macs + linear_macs)


def test_a_profile_reads_as_its_figures_where_it_is_displayed():
    model = nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(64 * 16 * 16, 2)
    )
    prof = profile(model, (3, 16, 16), metrics=["params", "flops"])
    assert str(prof["params"]) == "34,498 parameters (counted, nn.Module.parameters)"  # not 3.45e+04
    assert str(prof["flops"]) == "950,272 FLOPs (counted, torch.utils.flop_counter)"  # 2 x (442,368 + 32,768)
    assert repr(prof["flops"]).endswith(
        f"source='torch.utils.flop_counter', detail={{{len(prof['flops'].detail)} keys}})"
    )
    assert (
        repr(prof) == f"Profile({prof.device.name}, batch 1: params {prof['params']}; flops {prof['flops']})"
    )
    page = prof._repr_html_()  # a notebook cell's table, a row a metric, aligned whatever JupyterLab's CSS
    assert page.count("<tr>") == 3 and "Note" not in page  # no figure has a note: no column of nothing
    left, right = '<td style="text-align:left">', '<td style="text-align:right;white-space:nowrap">'
    assert f"{left}Parameters</td>{right}34,498</td>{left}counted, nn.Module.parameters</td>" in page
    assert f"{right}950,272 FLOPs</td>" in page
    noted = Profile({"latency_ms": prof["params"].with_note("unstable: the load changed")}, prof.device)
    assert "<th" in noted._repr_html_() and f"{left}unstable: the load changed</td>" in noted._repr_html_()


@pytest.mark.parametrize("method", ["measured", "proxy"])
def test_every_metric_has_unit_method_and_source(small_cnn, method):
    with warnings.catch_warnings(
        record=True
    ):  # uncalibrated (auto-calibration: tests/profiling/test_drift.py)
        prof = profile(small_cnn, (1, 8, 8), method=method, threads=1, auto_calibrate=False, **QUICK)
    assert list(prof) == list(METRICS)
    for name, measurement in prof.measurements.items():
        assert measurement.unit == METRICS[name].unit
        assert measurement.source
        assert measurement.value > 0
    runs = ("latency_ms", "peak_memory_mb", "energy_mj")
    if method == "proxy":
        assert all(prof[name].method == "estimated" for name in runs)
        assert prof["latency_ms"].source == "uncalibrated lookup table"
    else:
        assert prof["latency_ms"].method == "measured"
        assert prof["peak_memory_mb"].method == "measured"
        counter, reason = energy_counter("cpu")
        if counter is None:  # this machine has no readable counter: an estimate, with a one-line note
            assert prof["energy_mj"].method == "estimated"
            assert prof["energy_mj"].detail["note"] == reason
        else:
            assert prof["energy_mj"].method == "measured"


def test_measured_latency_reports_minimum_spread_interference_and_threads(small_cnn):
    prof = profile(small_cnn, (1, 8, 8), metrics=["latency_ms"], threads=1, batch_size=3, **QUICK)
    latency = prof["latency_ms"]
    detail = latency.detail
    assert latency.value == detail["min_ms"] and detail["statistic"] == "min"
    assert detail["p90_ms"] >= detail["median_ms"] >= detail["p10_ms"] >= detail["min_ms"]
    assert detail["spread"] >= 0 and detail["median_gap"] >= 0 and detail["cv"] >= 0
    assert isinstance(detail["stable"], bool) and detail["stable"] == ("unstable_reason" not in detail)
    assert "load_average" in detail
    assert detail["batch_size"] == 3 and detail["threads"] == 1
    assert detail["exclusive"] is True
    assert prof.device.threads == 1 and prof.batch_size == 3


def test_model_mode_and_device_are_restored(small_cnn):
    small_cnn.train()
    profile(small_cnn, (1, 8, 8), metrics=["latency_ms", "peak_memory_mb"], threads=1, **QUICK)
    assert small_cnn.training
    assert next(small_cnn.parameters()).device.type == "cpu"


def test_profile_round_trips_through_json(small_cnn):
    with warnings.catch_warnings(record=True):  # uncalibrated: the round trip is the point
        prof = profile(small_cnn, (1, 8, 8), method="proxy", threads=1, auto_calibrate=False)
    again = Profile.from_dict(prof.to_dict())
    assert again.to_dict() == prof.to_dict()
    assert again.device.key == prof.device.key


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"metrics": ["latency"]}, "metrics"),
        ({"method": "guess"}, "method"),
        ({"batch_size": 0}, "batch_size"),
        ({"threads": 0}, "threads"),
        ({"device": "tpu"}, "device"),
        ({"warmup": 1.0}, "warmup"),
        ({"clock": "sundial"}, "clock"),
    ],
)
def test_bad_input_names_the_field(small_cnn, kwargs, field):
    with pytest.raises(ConfigError) as error:
        profile(small_cnn, (1, 8, 8), **kwargs)
    assert error.value.field == field


def test_bad_input_shape(small_cnn):
    with pytest.raises(ConfigError, match="input_shape"):
        profile(small_cnn, (1, -8, 8))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_cuda_is_a_clear_error(small_cnn):
    with pytest.raises(ProfilingError, match="'cuda' is not available"):
        profile(small_cnn, (1, 8, 8), device="cuda")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_unavailable_mps_is_a_clear_error(small_cnn):
    with pytest.raises(ProfilingError, match="'mps' is not available"):
        profile(small_cnn, (1, 8, 8), device="mps")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_profile_uses_events_allocator_and_fingerprints_the_driver(small_cnn):
    prof = profile(small_cnn, (1, 8, 8), device="cuda", **QUICK)
    assert prof["latency_ms"].source == "cuda events"
    assert prof["peak_memory_mb"].source == "cuda allocator peak"
    assert prof["energy_mj"].method in ("measured", "estimated")
    assert prof.device.device.startswith("cuda") and prof.device.driver
    assert next(small_cnn.parameters()).device.type == "cpu"
    with pytest.raises(ProfilingError, match="not available"):
        profile(small_cnn, (1, 8, 8), device=f"cuda:{torch.cuda.device_count()}")
