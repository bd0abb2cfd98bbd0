"""Hardware cost of a supernet as a differentiable function of its architecture weights.

Every candidate module (an op on an edge, a block variant at a pair of widths, a head) is traced once, at
the input shape it sees inside the supernet, with the profiler's shape-only trace. Its cost is then a
constant: counted FLOPs, MACs or parameters, the bytes of its parameters and buffers (peak memory), or its
latency on the target device from the per-device lookup table (`nas_workbench.profiling.LookupTable`,
FBNet's method). The expected cost of the supernet is
the weight-averaged sum of those constants (`Supernet.cost_function`) plus the cost of what every
architecture shares (stem, reductions, head), found as the difference between whole networks and their
own candidates. Under one-hot weights the expected cost is the cost of that network:

- counted metrics exactly (FLOPs count only convolutions and matrix products, which live in candidates
  or in the shared part);
- latency up to what the lookup table sees outside candidates and that varies with the architecture
  (the additions joining a cell's edges, residual additions), a few operators;
- peak memory (inference, as trials are profiled): a network's peak is its resident bytes (parameters,
  buffers, input), which add up over candidates, plus the most activation bytes alive at once, a maximum
  that does not add up. Where the network runs its candidates one after another (the chain space,
  `Supernet.sequential`) that maximum is the largest of its modules' run peaks (each measured once here,
  as a trial's peak is, from the allocator's events) plus their inputs' bytes: exact on 60 of 60 random
  chain networks (benchmarks/dnas/README.md), where the shared mean activation peak it replaced was 31%
  under to 76% over. In a cell space the edges run side by side: the shared part carries the references' mean
  analytic activation peak, 0.5-4.4% under the measured peak of 30 random nb201 networks (2 cells per
  stage, digits, batch 1), where parameters are 90-96% of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling import METRICS, LookupTable
from nas_workbench.profiling._trace import Trace, trace
from nas_workbench.profiling.lock import measurement_lock
from nas_workbench.profiling.memory import measure_peak_memory, memory_breakdown
from nas_workbench.strategies.dnas.options import COST_METRICS
from nas_workbench.strategies.dnas.supernet import CostFunction, Supernet, Weights

__all__ = ["COST_METRICS", "CostModel", "cost_model"]


@dataclass
class CostModel:
    """The expected value of one hardware metric under the architecture weights.

    Attributes:
        metric: The metric ("latency_ms", "flops", ...), in its `METRICS` unit.
        shared: The cost every architecture pays (stem, reductions, head, ...).
        function: The architecture-dependent part, a differentiable function of the weights.
        source: Where the per-candidate costs come from.
        detail: How the model was made (batch size, lookup table, reference network).
    """

    metric: str
    shared: float
    function: CostFunction
    source: str
    detail: dict[str, Any] = field(default_factory=dict)

    def expected(self, weights: Weights) -> torch.Tensor:
        """The expected cost (a scalar tensor, differentiable in ``weights``)."""
        return self.function(weights) + self.shared

    @property
    def unit(self) -> str:
        return METRICS[self.metric].unit

    @property
    def timed(self) -> bool:
        """Whether the metric is timed on the device (latency): two measurements of one network differ by
        a few percent, where counted FLOPs and parameters are exact."""
        return self.metric == "latency_ms"


def cost_model(
    supernet: Supernet,
    metric: str,
    batch_size: int = 1,
    table: LookupTable | None = None,
    references: int = 4,
    device: str | torch.device = "cpu",
    threads: int | None = 1,
) -> CostModel:
    """Measure the per-candidate cost of ``supernet`` in ``metric`` and return its expected-cost model.

    Args:
        supernet: The supernet.
        metric: One of `COST_METRICS`.
        batch_size: Batch size the costs are for (the search's ``latency_batch_size``).
        table: The lookup table of the target device, for "latency_ms" (missing operators are timed now
            and saved); by default the table of this machine's CPU.
        device: Where the candidates' peak memory is measured (the trials' device).
        threads: Threads they are measured with (the trials').
        references: Random architectures whose whole-network cost, less their candidates', gives the
            shared part (averaged; for latency the spread, ``detail["shared_spread"]``, shows how much the
            operators outside candidates vary between architectures).
    """
    if metric not in COST_METRICS:
        raise ConfigError(
            "strategy_options.penalty", metric, f"metrics that add up over modules: {COST_METRICS}"
        )
    space = supernet.space
    candidates = supernet.candidates()
    traces = _trace_candidates(supernet, candidates, batch_size)
    specs = [space.random(seed) for seed in range(references)]
    wholes = [
        trace(
            space.build(s, supernet.input_shape, supernet.num_classes, supernet.width_multiplier),
            supernet.input_shape,
            batch_size,
        )
        for s in specs
    ]
    detail: dict[str, Any] = {"batch_size": batch_size, "references": len(specs)}
    peak: CostFunction | None = None
    if metric == "latency_ms":
        table = table or LookupTable.for_device("cpu")
        if table.fill([op for t in (*traces.values(), *wholes) for op in t.ops]):
            table.save()
        name, correction = table.correction((batch_size, *supernet.input_shape), space.name)
        # A network's prediction is linear in its operators' entries and count plus an offset
        # (lut.Correction): the first split over candidates, the offset stays with the shared part.
        costs = {
            key: correction.apply(table.table_ms(t.ops), len(t.ops), table.compute_ms(t.ops))
            - correction.offset_ms
            for key, t in traces.items()
        }
        whole_costs = [table.predict(t, space.name)[0] for t in wholes]
        source = "lookup table"
        detail.update({"table": str(table.path) if table.path else None, "correction": name})
    elif metric == "peak_memory_mb":
        costs = {key: (t.param_bytes + t.buffer_bytes) / _MB for key, t in traces.items()}
        if supernet.sequential:  # resident bytes add up; the activation peak is `peak_function`'s maximum
            whole_costs = [(t.param_bytes + t.buffer_bytes + t.input_bytes) / _MB for t in wholes]
            inputs = {key: t.input_bytes / _MB for key, t in traces.items()}
            peak = supernet.peak_function(_run_peaks(candidates, traces, device, threads), inputs)
            source = "parameter and buffer bytes; the activation peak the largest of the candidates' measured"
        else:
            whole_costs = [memory_breakdown(t)["total"] / _MB for t in wholes]
            source = "parameter and buffer bytes; the activation peak analytic, in the shared part"
    else:
        costs = {key: _counted(metric, t) for key, t in traces.items()}
        whole_costs = [_counted(metric, t) for t in wholes]
        source = "nn.Module.parameters" if metric == "params" else "torch.utils.flop_counter"
    function = supernet.cost_function(costs)
    with torch.no_grad():
        shared = [
            whole - float(function(supernet.one_hot(s))) for whole, s in zip(whole_costs, specs, strict=True)
        ]
    detail["shared_spread"] = max(shared) - min(shared)
    if peak is not None:
        function = _plus(function, peak)
    return CostModel(metric, sum(shared) / len(shared), function, source, detail)


#: Bytes in a megabyte of `METRICS`' peak memory (SI, as `nas_workbench.profiling.memory`).
_MB = 1e6


def _counted(metric: str, result: Trace) -> float:
    if metric == "params":
        return float(result.params)
    return float(result.flops) / (2 if metric == "macs" else 1)


def _plus(first: CostFunction, second: CostFunction) -> CostFunction:
    return lambda weights: first(weights) + second(weights)


def _run_peaks(
    candidates: Mapping[str, nn.Module],
    traces: Mapping[str, Trace],
    device: str | torch.device,
    threads: int | None,
) -> dict[str, float]:
    """What each candidate allocates above its input while it runs, in MB, measured as a trial's peak is
    (`measure_peak_memory`: the allocator's events, so scratch buffers such as a convolution's reordered
    weights count); structurally equal candidates (one trace) are measured once."""
    measured: dict[int, float] = {}
    with measurement_lock():  # once for all candidates
        for name, module in candidates.items():
            result = traces[name]
            if id(result) not in measured:
                m = measure_peak_memory(module.to(device).eval(), result, device, threads)
                measured[id(result)] = m.detail["run_peak_bytes"] / _MB
    return {name: measured[id(traces[name])] for name in candidates}


def _trace_candidates(
    supernet: Supernet, candidates: Mapping[str, nn.Module], batch_size: int
) -> dict[str, Trace]:
    """A shape-only trace of every candidate at its input shape; structurally equal candidates (same
    modules, same input shape, as in the repeated cells of a stage) are traced once."""
    inputs = supernet.candidate_inputs(candidates)
    traces: dict[str, Trace] = {}
    seen: dict[tuple[str, Sequence[int]], Trace] = {}
    for name, module in candidates.items():
        key = (repr(module), inputs[name])
        if key not in seen:
            seen[key] = trace(module, inputs[name], batch_size)
        traces[name] = seen[key]
    return traces
