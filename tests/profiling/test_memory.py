"""Peak memory: measured from the allocator beside a labelled analytic breakdown."""

from __future__ import annotations

import json
import os

import pytest
import torch
from torch import nn

from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling._trace import trace
from nas_workbench.profiling.memory import estimate_peak_memory, measure_peak_memory, memory_breakdown
from tests.conftest import run_python


def _wide() -> nn.Module:
    """A network whose middle activation (64 x 32 x 32 floats = 262,144 bytes) dwarfs its weights."""
    return nn.Sequential(
        nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
    ).eval()


def test_measured_peak_sees_the_largest_activation():
    model = _wide()
    result = trace(model, (1, 32, 32))
    peak = measure_peak_memory(model, result, threads=1)
    assert peak.method == "measured" and peak.source == "torch.profiler memory events" and peak.unit == "MB"
    assert peak.detail["run_peak_bytes"] >= 64 * 32 * 32 * 4
    assert peak.detail["resident_bytes"] == result.param_bytes + result.buffer_bytes + result.input_bytes
    assert peak.value == pytest.approx(peak.detail["bytes"] / 1e6)
    assert peak.detail["analytic_breakdown_bytes"]["total"] > 0


#: Measures peak memory on a background thread, as the search thread does, after preparing the profiler on
#: the main thread, as `SearchRun.start` does on the thread that starts the search.
THREADED_PROBE = """
import json, threading
from torch import nn
import nas_workbench as nw

profile = nw.profile
nw.profiling.prepare_profiler()
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(512, 2)).eval()
out = {}
worker = threading.Thread(
    target=lambda: out.update(p=profile(model, input_shape=(1, 8, 8), metrics=["peak_memory_mb"], threads=1))
)
worker.start()
worker.join()
m = out["p"]["peak_memory_mb"]
print(json.dumps({"method": m.method, "source": m.source, "run_peak_bytes": m.detail["run_peak_bytes"]}))
"""


def test_measuring_on_a_background_thread_prints_nothing_from_kineto():
    done = run_python("-c", THREADED_PROBE)
    assert "External init callback" not in done.stderr
    assert "profiler_start" not in done.stderr
    measured = json.loads(done.stdout)
    assert measured["method"] == "measured" and measured["source"] == "torch.profiler memory events"
    assert measured["run_peak_bytes"] >= 8 * 8 * 8 * 4  # the conv's output


def test_importing_the_profilers_starts_no_profiler_session():
    probe = (
        "import os, torch, nas_workbench.profiling.memory, nas_workbench.profiling._profile; "
        "print(torch.autograd.kineto_available(), 'KINETO_LOG_LEVEL' in os.environ)"
    )
    env = {k: v for k, v in os.environ.items() if k != "KINETO_LOG_LEVEL"}
    done = run_python("-c", probe, env=env)
    kineto, level_set = done.stdout.split()
    assert kineto == "True"  # else this test could not fail
    assert level_set == "False"  # prepare_profiler sets it as it starts the session


def test_analytic_breakdown_parts():
    model = _wide()
    result = trace(model, (1, 32, 32), batch_size=4)
    inference = memory_breakdown(result)
    training = memory_breakdown(result, "training", "adam")
    assert inference["parameters"] == sum(p.numel() * 4 for p in model.parameters())
    assert inference["input"] == 4 * 32 * 32 * 4
    assert inference["activations"] >= 4 * 64 * 32 * 32 * 4
    assert training["gradients"] == inference["parameters"]
    assert training["optimizer_state"] == 2 * inference["parameters"]
    assert memory_breakdown(result, "training", "sgd")["optimizer_state"] == inference["parameters"]
    assert training["total"] == sum(v for k, v in training.items() if k != "total")
    estimate = estimate_peak_memory(result, 4)
    assert estimate.method == "estimated" and estimate.source == "analytic"
    assert estimate.value == pytest.approx(inference["total"] / 1e6)


def test_training_peak_is_measured_on_a_copy():
    model = _wide()
    weights = [p.detach().clone() for p in model.parameters()]
    result = trace(model, (1, 32, 32))
    training = measure_peak_memory(model, result, threads=1, mode="training", optimizer="adam")
    inference = measure_peak_memory(model, result, threads=1)
    assert training.detail["mode"] == "training" and training.detail["optimizer"] == "adam"
    assert training.value > inference.value  # gradients and optimiser state on top
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))


def test_bad_mode_is_a_config_error():
    result = trace(_wide(), (1, 8, 8))
    with pytest.raises(ConfigError, match="memory_mode"):
        memory_breakdown(result, "serving")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="optimizer"):
        memory_breakdown(result, "training", "lion")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_peak_comes_from_the_allocator():
    model = _wide().cuda()
    result = trace(model, (1, 32, 32))
    peak = measure_peak_memory(model, result, device="cuda")
    assert peak.source == "cuda allocator peak"
    assert peak.detail["run_peak_bytes"] >= 64 * 32 * 32 * 4
