"""Drift: keep a lookup table's predictions true to the machine as it is now, not as it was at calibration.

A machine's speed changes with what else runs on it: one core kept busy by another process slows the other
core's work through shared caches, memory bandwidth and the host's scheduling, so a table calibrated on a
quiet machine predicts too low on a busy one, and the other way round. A few reference networks of the
search space (`REFERENCE_NETWORKS`, the first random architectures of the space, cheap to time) are re-timed
(in `DRIFT_ROUNDS` rounds, each one's minimum; not used when the rounds disagree) and predicted, and the
median of measured / predicted becomes the correction's drift factor (`correction.Drift`), by which every
later prediction is multiplied. This happens at the start of every search that predicts latency from the
table (`prepare_predictor`, called by the engine) and again, from `lut.predict_latency`, when the load
average has moved by more than `LOAD_CHANGE` since (at most every `MIN_INTERVAL_S` seconds). The factor is
saved in the table file, so worker processes use it too.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Sequence

import torch

from nas_workbench.profiling._device import load_average, use_threads
from nas_workbench.profiling._trace import trace
from nas_workbench.profiling.correction import Drift
from nas_workbench.profiling.latency import TimingOptions, measure_latency
from nas_workbench.profiling.lut import LookupTable

__all__ = ["LOAD_CHANGE", "REFERENCE_NETWORKS", "prepare_predictor", "reference_networks", "refresh_drift"]

logger = logging.getLogger("nas_workbench")

#: Reference networks re-timed per space (for the correction over all spaces: one per space).
REFERENCE_NETWORKS = 3
#: A change of the 1-minute load average by more than this re-times the references...
LOAD_CHANGE = 1.0
#: ... at most this often.
MIN_INTERVAL_S = 60.0
#: How each reference network is timed: briefly (at most half a second each), in this many rounds over
#: all of them (each one's minimum counts), as calibration measures.
DRIFT_TIMING = TimingOptions(max_time_s=0.5)
DRIFT_ROUNDS = 2
#: The rounds' factors must agree within this fraction, else the machine changed while timing them and the
#: factor is not updated (a burst of load once set one to 1.77 and put every prediction 75% too high).
ROUNDS_AGREE = 0.05


def reference_networks(
    space: str | None, input_shape: Sequence[int], num_classes: int = 10
) -> list[torch.nn.Module]:
    """The reference networks for ``space`` (None: one of each registered space), in eval mode."""
    from nas_workbench import spaces as registry

    if space:
        chosen = [(registry.get(space), seed) for seed in range(REFERENCE_NETWORKS)]
    else:
        chosen = [(registry.get(name), 0) for name in registry.list()]
    return [s.build(s.random(seed), tuple(input_shape), num_classes).eval() for s, seed in chosen]


def refresh_drift(
    table: LookupTable,
    input_shape: Sequence[int],
    batch_size: int = 1,
    space: str | None = None,
    force: bool = True,
    timing: TimingOptions = DRIFT_TIMING,
) -> Drift | None:
    """Re-time the reference networks and store the drift factor of the correction networks of ``space``
    on ``input_shape`` (C, H, W) use; return it. Without ``force``, only when the load average moved by
    more than `LOAD_CHANGE` since the last one (and `MIN_INTERVAL_S` passed); else return the stored
    factor. When the rounds disagree by more than `ROUNDS_AGREE`, the stored factor is kept and returned
    (None if there is none). None when the table has no fitted correction for them (nothing to rescale)."""
    shape = tuple(input_shape)
    name, correction = table.correction((batch_size, *shape), space)
    if name == "none":
        return None
    known, load = table.drift.get(name), load_average()
    if not force and known is not None and not _load_moved(known, load):
        return known
    threads = table.device.threads
    with use_threads(threads):
        models = reference_networks(space, shape)
        traces = [trace(model, shape, batch_size) for model in models]
        table.fill(op for result in traces for op in result.ops)
        predicted = [
            correction.apply(table.table_ms(t.ops), len(t.ops), table.compute_ms(t.ops)) for t in traces
        ]
        rounds = [  # round after round, so a burst of load spoils one round at most
            [
                measure_latency(model, shape, table.device.device, batch_size, threads, timing).value / p
                for model, p in zip(models, predicted, strict=True)
            ]
            for _ in range(DRIFT_ROUNDS)
        ]
    ratios = [min(each) for each in zip(*rounds, strict=True)]
    per_round = [statistics.median(r) for r in rounds]
    disagreement = max(per_round) / min(per_round) - 1
    if disagreement > ROUNDS_AGREE:  # the machine changed while timing: the figure is not to be trusted
        kept = known.factor if known is not None else 1.0
        logger.warning(
            "lookup table %s, correction %s: the drift references' rounds disagree by %.0f%% (load %s); "
            "the drift factor stays %.3f",
            table.device.key,
            name,
            100 * disagreement,
            f"{load:.1f}" if load is not None else "unknown",
            kept,
        )
        return known
    drift = Drift(statistics.median(ratios), load, time.time(), ratios)
    table.drift[name] = drift
    table.save()
    logger.info(
        "lookup table %s, correction %s: reference networks run %.3fx their prediction (load %s)",
        table.device.key,
        name,
        drift.factor,
        f"{load:.1f}" if load is not None else "unknown",
    )
    return drift


def _load_moved(drift: Drift, load: float | None) -> bool:
    """Whether the load moved by more than `LOAD_CHANGE` since ``drift`` was timed, long enough ago."""
    if load is None or drift.load_average is None:
        return False
    return abs(load - drift.load_average) > LOAD_CHANGE and time.time() - drift.timed_at >= MIN_INTERVAL_S


def prepare_predictor(
    device: str | torch.device,
    threads: int | None,
    input_shape: Sequence[int],
    batch_size: int = 1,
    space: str | None = None,
) -> LookupTable:
    """Get this device's table ready for a search that predicts latency: calibrated for ``space`` on
    ``input_shape`` (automatically if needed, `calibrate.auto_calibrate`) and its drift re-measured."""
    from nas_workbench.profiling.calibration import auto_calibrate

    table = LookupTable.for_device(device, threads)
    shape = tuple(input_shape)
    if table.correction((batch_size, *shape), space)[0] == "none":
        auto_calibrate(table, shape, batch_size, space)
    else:
        refresh_drift(table, shape, batch_size, space)
    return table
