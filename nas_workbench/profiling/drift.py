"""Drift: keep a lookup table's predictions true to the machine as it is now, not as it was at calibration.

A machine's speed changes with what else runs on it: one core kept busy by another process slows the other
core's work through shared caches, memory bandwidth and the host's scheduling, so a table calibrated on a
quiet machine predicts too low on a busy one, and the other way round. A few reference networks of the
search space (`REFERENCE_NETWORKS`) have their latency when a correction is fitted kept (`reference_baseline`,
called by `calibrate`: their *baseline*) and are re-timed later; their ratios of now over baseline become the
correction's drift (`correction.Drift`: one factor, or a line in the network's size), by which every later
prediction is multiplied. Comparing the references with themselves, timed the same way,
measures only the machine's change; comparing them with their predictions (as tables calibrated before the
baseline was kept still do) would also carry the fit's own error on those networks into every
prediction (ratios of 0.95, 1.01 and 1.08 on nb201 right after calibration, same load).

Each timing of the references is in rounds over all of them, each one's figure the minimum over the rounds
(`minima_over_rounds`): a burst of load only ever adds time, so it spoils one round, not the minimum. Rounds
go on (from `DRIFT_ROUNDS` up to `MAX_DRIFT_ROUNDS`) until every reference's two fastest rounds agree within
`ROUNDS_AGREE` (the minimum is confirmed).

**The references** are five calibration networks of the space at evenly spaced ranks of their measured
latency, smallest to largest (`spanning_seeds`, chosen by `calibrate` and stored with the drift), so that a
slowdown of large networks only is seen; a table calibrated before they were stored re-times the first five
seeds of the space. For the correction over all spaces, the first network of each space. **Their baseline**
is their calibration figures, the very figures the correction was fitted on, where calibration timed them
as references are re-timed and their rounds settled (else they are timed right after the fit). A baseline
timed apart, after the fit, is not what the fit saw: under other engineers' load (Intel Xeon VM, 2026-12-05
03:10, one core busy throughout, nb201) it ran 0-6% (median 3%) above the calibration figures of the same
networks, so the references' ratios (1.02-1.04) stayed inside the dead band while held-out networks ran
4.8% above their predictions (85% within ±10%); against the calibration figures the same re-timing gave
1.02-1.14 and a factor of 1.05 (97.5%).

**The rule** (`drift_rule.next_drift`, with its evidence). A re-timing changes the drift only when it is
comparable with its baseline (timed with the same options), both are confirmed (their rounds settled), and
the change stands out of the references' own spread: a size-dependent line when the references show a
confirmed trend with their size, else one factor when every reference moved more than
`drift_rule.DEAD_BAND` the same way. Each reference is timed exactly as a network is profiled
(`DRIFT_TIMING` is `TimingOptions()`: at least 0.25 s of the thread's own clock and 100 blocks, the
reference workload read between blocks and an attempt taken in a slow episode dropped), because the
factor rescales predictions checked against latencies measured that way. It used to be taken from a fixed
30 blocks of at least 2 ms without the reference workload: about 60 ms per chain reference, so two rounds
fit inside one of the machine's slow episodes (0.25-2 s at 1.3-2x) and settle there; on the idle VM
(2026-12-04 03:36) such a baseline most likely set 0.733: 0% of 100 held-out chain networks within ±10%,
94% without it. Against the idle VM's runs of 2026-12-04 (three references then), the dead band kept out
chain's 0.992, 0.963, 0.963 at 01:26 (a factor of 0.963 took 97% within ±10% to 71%) and nb201's drift
both ways at 08:49-08:52 (met without a factor), and adopted nb201's 1.029, 1.029, 1.115 at 08:43
(predictions 7% low, 79% within ±10%).

This happens at the start of every search that predicts latency from the table (`prepare_predictor`,
called by the engine) and again, from `lut.predict_latency`, when the load average has moved by more than
`LOAD_CHANGE` since (at most every `MIN_INTERVAL_S` seconds) or when a change seen then waits for its
confirmation (`drift_rule.CONFIRM_S`: the machine's slow spells are not a drift). The factor is saved in
the table file, so worker processes use it too.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace

import torch

from nas_workbench.profiling._device import load_average, use_threads
from nas_workbench.profiling._trace import trace
from nas_workbench.profiling.correction import Drift
from nas_workbench.profiling.drift_rule import CONFIRM_S, next_drift
from nas_workbench.profiling.latency import TimingOptions, measure_latency
from nas_workbench.profiling.lut import LookupTable

__all__ = [
    "LOAD_CHANGE",
    "REFERENCE_NETWORKS",
    "minima_over_rounds",
    "prepare_predictor",
    "reference_baseline",
    "reference_networks",
    "refresh_drift",
    "settled",
    "spanning_seeds",
]

logger = logging.getLogger("nas_workbench")

#: Reference networks re-timed per space (for the correction over all spaces: one per space): their range is
#: the factor's confidence interval (the module docstring).
REFERENCE_NETWORKS = 5
#: A change of the 1-minute load average by more than this re-times the references...
LOAD_CHANGE = 1.0
#: ... at most this often.
MIN_INTERVAL_S = 60.0
#: How each reference network is timed, in rounds over all of them: as a network is profiled, so that the
#: factor follows the statistic of the latencies its predictions are checked against (module docstring).
DRIFT_TIMING = TimingOptions()
#: Fewest and most rounds over the references; rounds stop once each reference's two fastest agree within
#: `ROUNDS_AGREE` (see the module docstring).
DRIFT_ROUNDS = 2
MAX_DRIFT_ROUNDS = 5
ROUNDS_AGREE = 0.05


def spanning_seeds(measured: Sequence[tuple[int, float]], count: int = REFERENCE_NETWORKS) -> list[int]:
    """The seeds of ``count`` of the ``(seed, latency_ms)`` networks at evenly spaced ranks of their latency,
    the smallest and the largest included (all of them, by latency, when there are no more than ``count``):
    references that span the space's latencies."""
    ranked = [seed for seed, _ in sorted(measured, key=lambda pair: pair[1])]
    if len(ranked) <= count:
        return ranked
    return [ranked[round(i * (len(ranked) - 1) / (count - 1))] for i in range(count)]


def reference_networks(
    space: str | None, input_shape: Sequence[int], num_classes: int = 10, seeds: Sequence[int] = ()
) -> list[torch.nn.Module]:
    """The reference networks for ``space`` (None: one of each registered space), in eval mode: those of
    ``seeds``, or the first `REFERENCE_NETWORKS` seeds of the space."""
    from nas_workbench import spaces as registry

    if space:
        chosen = [(registry.get(space), seed) for seed in (seeds or range(REFERENCE_NETWORKS))]
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
    table: LookupTable, input_shape: Sequence[int], batch_size: int, space: str | None,
    calibration: Sequence[tuple[int, Sequence[float]]] = (), timed: TimingOptions | None = None,
) -> Drift:  # fmt: skip
    """Store the baseline of the drift references of ``space``'s correction (factor 1: just fitted, no drift
    yet) and return it. Called by `calibrate` right after it fits the correction, with its networks'
    figures in ``calibration`` (``(seed, the figure of each round)``, timed with ``timed``): the references
    are `spanning_seeds` of them, and their baseline is their calibration figures (the minimum of their
    rounds, the very figures the correction was fitted on) when those were timed as `refresh_drift` times
    (`DRIFT_TIMING`) and each network's rounds `settled`; otherwise the references are timed now."""
    shape = tuple(input_shape)
    name = table.correction_name(space, (batch_size, *shape))
    figures = dict(calibration)
    seeds = spanning_seeds([(seed, min(values)) for seed, values in calibration])
    if seeds and timed == DRIFT_TIMING and all(settled(figures[seed]) for seed in seeds):
        now, rounds, steady = [min(figures[seed]) for seed in seeds], min(map(len, figures.values())), True
    else:
        with use_threads(table.device.threads):
            models = reference_networks(space, shape, seeds=seeds)
            now, rounds, steady = _time_references(table, models, shape, batch_size, DRIFT_TIMING)
    table.drift[name] = Drift(
        1.0, load_average(), reference_ms=now, settled=steady, rounds=rounds, baseline_settled=steady,
        timing=asdict(DRIFT_TIMING), references=seeds,
    )  # fmt: skip
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
    factor. None when the table has no fitted correction for them (nothing to rescale). The drift follows
    the references' latency now over their baseline (`reference_baseline`) by `drift_rule.next_drift`, or
    over their prediction where the table has no baseline timed with ``timing`` (default `DRIFT_TIMING`; a
    table calibrated before such baselines were kept)."""
    shape = tuple(input_shape)
    timing = timing or DRIFT_TIMING
    name, correction = table.correction((batch_size, *shape), space)
    if name == "none":
        return None
    known, load = table.drift.get(name), load_average()
    if not force and known is not None and not _due(known, load):
        return known
    own = name == table.correction_name(space, (batch_size, *shape))  # else the one over all spaces
    with use_threads(table.device.threads):
        models = reference_networks(space if own else None, shape, seeds=known.references if known else ())
        timed_alike = known is not None and known.timing == asdict(timing)
        baseline = list(known.reference_ms) if known is not None and timed_alike else []
        baseline_settled = known.baseline_settled if known is not None else True
        if len(baseline) != len(models):  # no comparable baseline: the references' predictions stand in
            baseline_settled = True
            traces = [trace(model, shape, batch_size) for model in models]
            table.fill(op for result in traces for op in result.ops)
            baseline = [
                correction.apply(table.table_ms(t.ops), len(t.ops), table.compute_ms(t.ops)) for t in traces
            ]
        now, rounds, steady = _time_references(table, models, shape, batch_size, timing)
    previous = known if known is not None else Drift()
    drift = replace(next_drift(previous, baseline, baseline_settled, now, rounds, steady, load),
                    timing=asdict(timing))  # fmt: skip
    table.drift[name] = drift
    table.save()
    where = f"lookup table {table.device.key}, correction {name}"
    loaded = f"load {load:.1f}" if load is not None else "load unknown"
    if drift.settled and drift.pending_ratios:
        logger.info(
            "%s: reference networks run %.3fx their baseline (%s): a change, adopted if a re-timing in "
            "%.0f s still shows it; the drift stays %s",
            where, statistics.median(drift.pending_ratios), loaded, CONFIRM_S, _factor_text(drift),
        )  # fmt: skip
    elif drift.settled:
        logger.info("%s: reference networks run %s their baseline (%s)", where, _factor_text(drift), loaded)
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


def _factor_text(drift: Drift) -> str:
    """The drift as a log line shows it: ``1.030x``, or the line's range for a size-dependent one."""
    if not drift.slope or len(drift.span_ms) != 2:
        return f"{drift.factor:.3f}x"
    low, high = drift.span_ms
    return f"{drift.at(low):.3f}x ({low:.2f} ms) to {drift.at(high):.3f}x ({high:.2f} ms)"


def _due(drift: Drift, load: float | None) -> bool:
    """Whether the references are due to be re-timed: the load moved by more than `LOAD_CHANGE` since
    ``drift`` was timed, long enough ago, or a change seen then waits for its confirmation
    (`drift_rule.CONFIRM_S`)."""
    now = time.time()
    if drift.pending_at is not None and now - drift.pending_at >= CONFIRM_S:
        return True
    if load is None or drift.load_average is None:
        return False
    return abs(load - drift.load_average) > LOAD_CHANGE and now - drift.timed_at >= MIN_INTERVAL_S


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
