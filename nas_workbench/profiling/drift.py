"""Drift: keep a lookup table's predictions true to the machine as it is now, not as it was at calibration.

A machine's speed changes with what else runs on it: one core kept busy by another process slows the other
core's work through shared caches, memory bandwidth and the host's scheduling, so a table calibrated on a
quiet machine predicts too low on a busy one, and the other way round. A few reference networks of the
search space (`REFERENCE_NETWORKS`, the first random architectures of the space, cheap to time) are timed
right after a correction is fitted (`reference_baseline`, called by `calibrate`: their *baseline*) and
re-timed later; the median of now / baseline becomes the correction's drift factor (`correction.Drift`), by
which every later prediction is multiplied. Comparing the references with themselves, timed the same way,
measures only the machine's change; comparing them with their predictions (as tables calibrated before the
baseline was kept still do) would also carry the fit's own error on those three networks into every
prediction (ratios of 0.95, 1.01 and 1.08 on nb201 right after calibration, same load).

Each timing of the references is in rounds over all of them, each one's figure the minimum over the rounds
(`minima_over_rounds`): a burst of load only ever adds time, so it spoils one round, not the minimum. Rounds
go on (from `DRIFT_ROUNDS` up to `MAX_DRIFT_ROUNDS`) until every reference's two fastest rounds agree within
`ROUNDS_AGREE` (the minimum is confirmed).

**The rule** (`next_drift`). A re-timing changes the factor only when it is comparable with its baseline
and both are confirmed:

- *The same statistic both times.* Each reference is timed for a fixed number of blocks (`DRIFT_TIMING`:
  `DRIFT_BLOCKS` blocks, no stopping rule, no reference workload). The minimum of more blocks is lower,
  and a stopping rule makes the count depend on the load: the default timing stops after 10 blocks when
  its halves agree (a quiet machine) and runs to its cap when the reference workload reads slow or the
  halves disagree (a busy one), so a baseline timed busy was the minimum of more blocks than a re-timing
  quiet, and the quiet machine came out *slower* than the busy one. That is what set a factor of 1.123 on
  the idle VM (2026-12-03, nb201 calibrated with a core busy, measured quiet: every prediction 12% high,
  18% within ±10%). A fixed count of blocks (not a fixed wall time either: on a loaded machine a wall-clock
  window holds fewer blocks) keeps the statistic the same, whatever the load.
- *Confirmed minima.* A factor is adopted only when the baseline's rounds and the re-timing's rounds both
  settled; otherwise the previous factor is kept (1 right after `calibrate`) and the drift is marked
  ``settled=False`` with a warning. An unconfirmed minimum is one lucky or unlucky round: at load 6, three
  references re-timed a minute apart gave quiet-over-busy ratios of 0.60-1.35 (their medians 0.74-1.15),
  none settled; a wrong factor moves every prediction, where a kept one only misses the machine's change.
  (The rule it replaces used an unsettled factor as the best figure at hand; before that, a rule kept the
  previous factor whenever two rounds' medians disagreed by 5%, but compared with the predictions, so the
  fit's own error on the references entered the factor.)
- *A change larger than the references' precision.* Settled means each reference's two fastest rounds
  agree within `ROUNDS_AGREE` (5%), and the references disagree with each other by as much: so a confirmed
  factor within `DEAD_BAND` (5%) of the previous one is not told apart from it, and the previous one stays
  (its ratios are recorded). On the idle VM (2026-12-04 01:26, chain calibrated and measured with a core
  busy, `final_latency.sh`) the references gave ratios 0.992, 0.963, 0.963, settled: a factor of 0.963 put
  every prediction 3.7% lower, while the reference network itself (the first of the three) was profiled
  1.4% *slower* than at calibration; with it 71% of 100 held-out networks came within ±10% (median error
  8.0%), without it 97% (4.5%). The machine then slowed by 10% during the run at the same load (the
  reference network 0.640 -> 0.707 ms), which no factor taken at the start follows.

This happens at the start of every search that predicts latency from the table (`prepare_predictor`,
called by the engine) and again, from `lut.predict_latency`, when the load average has moved by more than
`LOAD_CHANGE` since (at most every `MIN_INTERVAL_S` seconds). The factor is saved in the table file, so
worker processes use it too.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence

import torch

from nas_workbench.profiling._device import load_average, use_threads
from nas_workbench.profiling._trace import trace
from nas_workbench.profiling.correction import Drift
from nas_workbench.profiling.latency import TimingOptions, measure_latency
from nas_workbench.profiling.lut import LookupTable

__all__ = [
    "LOAD_CHANGE",
    "REFERENCE_NETWORKS",
    "minima_over_rounds",
    "next_drift",
    "prepare_predictor",
    "reference_baseline",
    "reference_networks",
    "refresh_drift",
    "settled",
]

logger = logging.getLogger("nas_workbench")

#: Reference networks re-timed per space (for the correction over all spaces: one per space).
REFERENCE_NETWORKS = 3
#: A change of the 1-minute load average by more than this re-times the references...
LOAD_CHANGE = 1.0
#: ... at most this often.
MIN_INTERVAL_S = 60.0
#: How each reference network is timed, in rounds over all of them: always `DRIFT_BLOCKS` blocks of at
#: least 2 ms (a few calls of a small network), without the reference workload, so that the baseline and
#: every re-timing take the minimum of as many blocks whatever the load (the rule in the module docstring);
#: the time cap only guards against a machine many times slower (nb201: about 0.3 s a reference, idle).
DRIFT_BLOCKS = 30
DRIFT_TIMING = TimingOptions(
    min_repeats=DRIFT_BLOCKS,
    max_repeats=DRIFT_BLOCKS,
    min_time_s=0.0,
    max_time_s=10.0,
    min_block_s=0.002,
    reference=False,
)
#: Fewest and most rounds over the references; rounds stop once each reference's two fastest agree within
#: `ROUNDS_AGREE` (see the module docstring).
DRIFT_ROUNDS = 2
MAX_DRIFT_ROUNDS = 5
ROUNDS_AGREE = 0.05
#: A confirmed factor replaces the previous one only when it differs from it by more than this fraction:
#: the references' precision (see the module docstring).
DEAD_BAND = 0.05


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


def settled(values: Sequence[float], tolerance: float | None = None) -> bool:
    """Whether the two smallest of ``values`` agree within ``tolerance`` (default `ROUNDS_AGREE`) of the
    smallest: the minimum was seen twice, not once by chance. False with fewer than two values."""
    if len(values) < 2:
        return False
    low, second = sorted(values)[:2]
    return second <= low * (1 + (ROUNDS_AGREE if tolerance is None else tolerance))


def minima_over_rounds(
    measure_round: Callable[[], Sequence[float]],
    fewest: int | None = None,
    most: int | None = None,
) -> tuple[list[float], int, bool]:
    """Call ``measure_round`` (one figure per reference) for at least ``fewest`` (default `DRIFT_ROUNDS`)
    and at most ``most`` (`MAX_DRIFT_ROUNDS`) rounds, until every reference's figures have `settled`.
    Return each reference's minimum, the rounds taken and whether they settled."""
    fewest = DRIFT_ROUNDS if fewest is None else fewest
    most = MAX_DRIFT_ROUNDS if most is None else most
    per_reference: list[list[float]] = []
    for taken in range(1, max(fewest, most) + 1):
        figures = list(measure_round())
        per_reference = per_reference or [[] for _ in figures]
        for values, figure in zip(per_reference, figures, strict=True):
            values.append(figure)
        done = all(settled(values) for values in per_reference)
        if taken >= fewest and done:
            return [min(values) for values in per_reference], taken, True
    return [min(values) for values in per_reference], taken, False


def _time_references(
    table: LookupTable, models: Sequence[torch.nn.Module], shape: tuple[int, ...], batch_size: int,
    timing: TimingOptions,
) -> tuple[list[float], int, bool]:  # fmt: skip
    """The references' latencies now (ms): `minima_over_rounds` of `measure_latency` on ``table``'s device."""
    device, threads = table.device.device, table.device.threads
    return minima_over_rounds(
        lambda: [measure_latency(m, shape, device, batch_size, threads, timing).value for m in models]
    )


def reference_baseline(
    table: LookupTable, input_shape: Sequence[int], batch_size: int, space: str | None
) -> Drift:
    """Time the reference networks of ``space`` now, as `refresh_drift` will, and store their latencies as
    the baseline of the correction they belong to (factor 1: just fitted, no drift yet); return it. Called
    by `calibrate` right after it fits a correction, so the baseline shares the fit's conditions."""
    shape = tuple(input_shape)
    name = table.correction_name(space, (batch_size, *shape))
    with use_threads(table.device.threads):
        models = reference_networks(space, shape)
        now, rounds, steady = _time_references(table, models, shape, batch_size, DRIFT_TIMING)
    table.drift[name] = Drift(
        1.0, load_average(), reference_ms=now, settled=steady, rounds=rounds, baseline_settled=steady
    )
    return table.drift[name]


def refresh_drift(
    table: LookupTable,
    input_shape: Sequence[int],
    batch_size: int = 1,
    space: str | None = None,
    force: bool = True,
    timing: TimingOptions | None = None,
) -> Drift | None:
    """Re-time the reference networks and store the drift factor of the correction networks of ``space``
    on ``input_shape`` (C, H, W) use; return it. Without ``force``, only when the load average moved by
    more than `LOAD_CHANGE` since the last one (and `MIN_INTERVAL_S` passed); else return the stored
    factor. None when the table has no fitted correction for them (nothing to rescale). The factor is the
    median of the references' latency now over their baseline (`reference_baseline`), or over their
    prediction where the table has no baseline (calibrated before baselines were kept)."""
    shape = tuple(input_shape)
    name, correction = table.correction((batch_size, *shape), space)
    if name == "none":
        return None
    known, load = table.drift.get(name), load_average()
    if not force and known is not None and not _load_moved(known, load):
        return known
    own = name == table.correction_name(space, (batch_size, *shape))  # else the one over all spaces
    with use_threads(table.device.threads):
        models = reference_networks(space if own else None, shape)
        baseline = list(known.reference_ms) if known is not None else []
        baseline_settled = known.baseline_settled if known is not None else True
        if len(baseline) != len(models):  # no baseline: the references' predictions stand in
            baseline_settled = True
            traces = [trace(model, shape, batch_size) for model in models]
            table.fill(op for result in traces for op in result.ops)
            baseline = [
                correction.apply(table.table_ms(t.ops), len(t.ops), table.compute_ms(t.ops)) for t in traces
            ]
        now, rounds, steady = _time_references(table, models, shape, batch_size, timing or DRIFT_TIMING)
    previous = known.factor if known is not None else 1.0
    drift = next_drift(previous, baseline, baseline_settled, now, rounds, steady, load)
    table.drift[name] = drift
    table.save()
    where = f"lookup table {table.device.key}, correction {name}"
    loaded = f"load {load:.1f}" if load is not None else "load unknown"
    if drift.settled:
        logger.info("%s: reference networks run %.3fx their baseline (%s)", where, drift.factor, loaded)
    else:
        logger.warning(
            "%s: the drift references' rounds did not settle %s (%s; ratios %s): the drift factor stays %.3f",
            where,
            f"in {rounds} rounds" if not steady else "when their baseline was timed (recalibrate)",
            loaded,
            ", ".join(f"{ratio:.3f}" for ratio in drift.ratios),
            drift.factor,
        )
    return drift


def next_drift(
    previous: float,
    baseline: Sequence[float],
    baseline_settled: bool,
    now: Sequence[float],
    rounds: int,
    steady: bool,
    load: float | None,
) -> Drift:
    """The drift after the references were re-timed (the rule of the module docstring): the median of
    ``now`` over ``baseline`` when the re-timing's rounds settled (``steady``) and the baseline's did too
    and it differs from ``previous`` by more than `DEAD_BAND`; else the ``previous`` factor kept (marked
    ``settled=False`` when the rounds did not settle)."""
    ratios = [n / b for n, b in zip(now, baseline, strict=True)]
    confirmed = steady and baseline_settled
    measured = statistics.median(ratios)
    factor = measured if confirmed and abs(measured / previous - 1) > DEAD_BAND else previous
    return Drift(factor, load, time.time(), ratios, list(baseline), confirmed, rounds, baseline_settled)


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
