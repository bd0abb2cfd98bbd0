"""No silent uncalibrated predictions (auto-calibration or a warning, once), and the drift rescale that keeps
a table's predictions true to the machine's current load."""

from __future__ import annotations

import importlib
import math
import statistics
import time
import warnings
from dataclasses import asdict, replace

import pytest

import nas_workbench as nw
from nas_workbench.profiling import Correction, LookupTable, TimingOptions, lut, predict_latency
from nas_workbench.profiling._device import load_average
from nas_workbench.profiling.calibration import calibrate
from nas_workbench.profiling.correction import Drift
from nas_workbench.profiling.drift import (
    DRIFT_TIMING,
    REFERENCE_NETWORKS,
    minima_over_rounds,
    prepare_predictor,
    refresh_drift,
    settled,
)
from nas_workbench.profiling.drift_rule import CONFIRM_S, DEAD_BAND, next_drift

SHAPE = (3, 8, 8)
QUICK = TimingOptions(warmup_s=0.0, min_repeats=3, max_repeats=5, max_time_s=0.02)
#: Operators timed in one call each: these tests check what happens to the timings, not their precision.
ONE_CALL = TimingOptions(warmup_s=0.0, min_repeats=1, max_repeats=1, min_block_s=0.0)


@pytest.fixture(autouse=True)
def _rounds_always_agree(monkeypatch):
    """The tests of the rescale take whatever the references measured (the rule is tested on its own)."""
    monkeypatch.setattr("nas_workbench.profiling.drift.ROUNDS_AGREE", math.inf)


@pytest.fixture(autouse=True)
def _one_factor(monkeypatch):
    """These tests check the one-factor rule and its plumbing; the size-dependent line is tested apart
    (test_drift_rule.py): the quick timings of tiny networks here can show a trend by chance."""
    monkeypatch.setattr("nas_workbench.profiling.drift_rule.TREND_REFERENCES", 1_000)


@pytest.fixture(autouse=True)
def _small_auto_calibration(monkeypatch):
    """Automatic calibrations of 3 networks, timed briefly: these tests check that they happen."""
    module = importlib.import_module("nas_workbench.profiling.calibration")
    monkeypatch.setattr(module, "AUTO_NETWORKS", 3)
    monkeypatch.setattr(module, "AUTO_TIMING", QUICK)


def _chain(seed: int = 5):
    space = nw.spaces.get("chain")
    return space.build(space.random(seed), SHAPE, 10).eval()


def test_the_first_uncalibrated_prediction_calibrates(tmp_path):
    table = LookupTable.for_device("cpu", 1, tmp_path)
    stages: set[str] = set()
    prediction = predict_latency(
        _chain(), SHAPE, table, space="chain", progress=lambda s, d, t: stages.add(s)
    )
    assert stages == {"operators", "networks"}
    assert prediction.source == "lookup table" and prediction.detail["calibrated"] is True
    assert prediction.detail["correction"] == "chain@1x3x8x8"
    stored = LookupTable.for_device("cpu", 1, tmp_path).corrections["chain@1x3x8x8"]
    assert stored.kind in ("linear", "scale", "plain") and stored.samples == 3 and stored.quality


def test_without_auto_calibration_it_warns_once_and_labels_the_figure(tmp_path, monkeypatch):
    monkeypatch.setattr(lut, "_warned", set())
    table = LookupTable.for_device("cpu", 1, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = (
            predict_latency(_chain(seed), SHAPE, table=table, space="chain", auto_calibrate=False)
            for seed in (1, 2)
        )
    [warning] = caught
    command = (
        "nas-workbench calibrate --device cpu --threads 1 --input-shape 3,8,8 --batch-size 1 --spaces chain"
    )
    assert command in str(warning.message)
    for figure in (first, second):
        assert figure.source == "uncalibrated lookup table" and figure.detail["calibrated"] is False
    assert table.corrections == {}


def test_the_uncalibrated_warning_names_the_callers_line_not_the_workbenchs(tmp_path, monkeypatch):
    """Through `nw.profile`, a fixed stacklevel named the workbench's own line under the message
    (``out["latency_ms"] = predict_latency(``, tutorial 06 in JupyterLab); it names the caller's."""
    monkeypatch.setattr(lut, "_warned", set())
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nw.profile(
            _chain(), SHAPE, metrics=["latency_ms"], method="proxy", space="chain", auto_calibrate=False
        )
    [warning] = [w for w in caught if "no fitted correction" in str(w.message)]
    assert warning.filename == __file__, warning.filename


def _table_with_a_halving_correction(tmp_path, operators: dict[str, float]) -> tuple[LookupTable, str]:
    """A table whose correction predicts half the table sum: as if calibrated on a machine twice as fast;
    it starts with the ``operators`` timed once for the module (`_operators`)."""
    table = LookupTable.for_device("cpu", 1, tmp_path)
    table.entries.update(operators)
    name = table.correction_name("chain", (1, *SHAPE))
    table.corrections[name] = Correction(scale=0.5)
    return table, name


@pytest.fixture(scope="module")
def _operators(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """The table entries of the operators of `_chain` and of the drift references, timed once: a fresh
    table cost each test that used one 2 s to time them for its first prediction and 2 s for its first
    re-timing (CPU time, load 11); those tests check what the drift does with the timings."""
    table, _ = _table_with_a_halving_correction(tmp_path_factory.mktemp("operators"), {})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("nas_workbench.profiling.drift.MAX_DRIFT_ROUNDS", 1)
        predict_latency(_chain(), SHAPE, table=table, space="chain")
        refresh_drift(table, SHAPE, space="chain", timing=QUICK)
    return dict(table.entries)


def test_drift_rescales_predictions_by_the_references_measured_over_predicted(tmp_path, _operators):
    table, name = _table_with_a_halving_correction(tmp_path, _operators)
    before = predict_latency(_chain(), SHAPE, table=table, space="chain")
    table.drift[name] = _slowdown_seen_long_ago()  # a lasting slowdown: adopted (`drift_rule`)
    drift = refresh_drift(table, SHAPE, space="chain", timing=QUICK)
    assert drift is not None and drift.factor == statistics.median(drift.ratios)
    assert len(drift.ratios) == REFERENCE_NETWORKS
    assert drift.factor > 1  # the references run slower than half their table sum
    after = predict_latency(_chain(), SHAPE, table=table, space="chain")
    assert after.value == pytest.approx(drift.factor * before.value)
    assert after.detail["drift_factor"] == drift.factor and before.detail["drift_factor"] == 1.0
    assert LookupTable.for_device("cpu", 1, tmp_path).drift[name].factor == drift.factor  # other workers


def test_drift_is_retimed_when_the_load_moves_not_otherwise(tmp_path, _operators):
    table, name = _table_with_a_halving_correction(tmp_path, _operators)
    load = load_average()
    steady = table.drift[name] = Drift(1.5, load, time.time() - 3600)
    assert refresh_drift(table, SHAPE, space="chain", force=False, timing=QUICK) is steady
    table.drift[name] = Drift(1.5, load + 3, time.time() - 3600)  # the load moved a lot, long ago
    moved = refresh_drift(table, SHAPE, space="chain", force=False, timing=QUICK)
    assert moved is not None and moved.timed_at > time.time() - 60
    assert moved.factor == 1.5 and moved.pending_ratios  # a slowdown seen once waits for a second look
    assert refresh_drift(table, SHAPE, space="chain", force=False, timing=QUICK) is moved  # not yet
    table.drift[name] = replace(moved, pending_at=time.time() - CONFIRM_S - 1)
    confirmed = refresh_drift(table, SHAPE, space="chain", force=False, timing=QUICK)  # load steady
    assert confirmed is not None and confirmed.factor > 1.5 and not confirmed.pending_ratios


def _slowdown_seen_long_ago() -> Drift:
    """A drift whose references ran far slower `CONFIRM_S` ago: the next re-timing's slowdown, the smaller
    of the two, is adopted at once."""
    return Drift(pending_ratios=[1e6] * REFERENCE_NETWORKS, pending_at=time.time() - 2 * CONFIRM_S)


def test_no_drift_without_a_fitted_correction(tmp_path):
    assert refresh_drift(LookupTable.for_device("cpu", 1, tmp_path), SHAPE, space="chain") is None


def test_a_search_start_calibrates_then_retimes(monkeypatch):
    first = prepare_predictor("cpu", 1, SHAPE, space="chain")
    name = first.correction_name("chain", (1, *SHAPE))
    assert name in first.corrections and first.drift[name].factor == 1.0  # calibrated just now
    monkeypatch.setattr("nas_workbench.profiling.drift.DRIFT_TIMING", QUICK)
    second = prepare_predictor("cpu", 1, SHAPE, space="chain")
    assert second.drift[name].timed_at > first.drift[name].timed_at


def test_saving_keeps_the_drift_timed_last(tmp_path):
    stale, fresh = (LookupTable.for_device("cpu", 1, tmp_path) for _ in range(2))
    stale.drift["chain@1x3x8x8"] = Drift(1.1, 2.0, timed_at=100.0)
    fresh.drift["chain@1x3x8x8"] = Drift(1.4, 5.0, timed_at=200.0)
    fresh.save()
    stale.save()  # a worker that loaded the table earlier saves new operator entries
    assert LookupTable.for_device("cpu", 1, tmp_path).drift["chain@1x3x8x8"].factor == 1.4


@pytest.fixture
def _rule(monkeypatch):
    """The rounds' rule as shipped (the other tests take whatever the references measured)."""
    monkeypatch.setattr("nas_workbench.profiling.drift.ROUNDS_AGREE", 0.05)


@pytest.mark.usefixtures("_rule")
def test_the_minimum_counts_once_seen_twice():
    assert settled([1.00, 1.30, 1.04]) and settled([2.0, 2.0])
    assert not settled([1.00, 1.20, 1.30]) and not settled([1.0])
    assert settled([1.00, 1.20], tolerance=0.25)


@pytest.mark.usefixtures("_rule")
def test_rounds_go_on_past_a_burst_until_each_minimum_is_confirmed():
    rounds = iter([[1.0, 2.0, 3.0], [1.6, 2.1, 3.1], [1.02, 2.9, 4.0], [9.0, 9.0, 9.0]])
    minima, taken, steady = minima_over_rounds(lambda: next(rounds), fewest=2, most=5)
    assert (minima, taken, steady) == ([1.0, 2.0, 3.0], 3, True)  # round 2's burst spoilt nothing


@pytest.mark.usefixtures("_rule")
def test_rounds_that_never_settle_still_give_their_minima_flagged():
    rounds = iter([[1.0, 2.0], [1.5, 2.0], [2.0, 2.0], [3.0, 2.0]])
    assert minima_over_rounds(lambda: next(rounds), fewest=2, most=4) == ([1.0, 2.0], 4, False)


def test_a_table_calibrated_on_a_slower_machine_rescales_down(tmp_path):
    """The references are timed when the correction is fitted, and re-timed against that baseline. A table
    calibrated while the machine ran 4x slower (its baseline 4x today's) must predict 4x lower today: the
    busy-then-quiet case, whose factor used to stay 1.000."""
    calibrate(threads=1, spaces=["chain"], input_shape=SHAPE, networks=3, rounds=1, directory=tmp_path,
              timing=QUICK, op_timing=ONE_CALL)  # fmt: skip
    table = LookupTable.for_device("cpu", 1, tmp_path)
    name = "chain@1x3x8x8"
    own, over_all = table.drift[name], table.drift["all@1x3x8x8"]
    assert own.factor == 1.0 and own.ratios == [] and own.rounds >= 2
    assert sorted(own.references) == [0, 1, 2]  # all three calibration networks (`spanning_seeds`)
    assert len(own.reference_ms) == 3 and own.timing == asdict(QUICK)  # conftest's
    assert len(over_all.reference_ms) == len(nw.spaces.list())  # one reference network of each space
    assert all(ms > 0 for ms in [*own.reference_ms, *over_all.reference_ms])

    slow = [4 * ms for ms in own.reference_ms]
    table.drift[name] = Drift(
        1.0, load_average(), reference_ms=slow, timing=own.timing, references=own.references
    )
    before = predict_latency(_chain(), SHAPE, table=table, space="chain")
    seen_at = time.time() - 2 * CONFIRM_S  # a lasting speed-up: seen a minute before too (`drift_rule`)
    table.drift[name] = replace(table.drift[name], pending_ratios=[1e-6] * len(slow), pending_at=seen_at)
    drift = refresh_drift(table, SHAPE, space="chain")
    assert drift is not None and drift.reference_ms == slow  # the baseline is kept for the next re-timing
    assert drift.factor == pytest.approx(statistics.median(drift.ratios)) and drift.factor < 0.7
    after = predict_latency(_chain(), SHAPE, table=table, space="chain")
    assert after.value == pytest.approx(drift.factor * before.value)


def test_an_unsettled_drift_keeps_the_previous_factor_and_is_marked(tmp_path, monkeypatch, _operators):
    table, name = _table_with_a_halving_correction(tmp_path, _operators)
    monkeypatch.setattr("nas_workbench.profiling.drift.ROUNDS_AGREE", -1.0)  # no two rounds ever agree
    monkeypatch.setattr("nas_workbench.profiling.drift.MAX_DRIFT_ROUNDS", 3)
    table.drift[name] = Drift(
        1.3, load_average(), time.time() - 3600, reference_ms=[1e3] * REFERENCE_NETWORKS, timing=asdict(QUICK)
    )
    drift = refresh_drift(table, SHAPE, space="chain", timing=QUICK)
    assert drift is not None and drift.settled is False and drift.rounds == 3
    assert drift.factor == 1.3 and statistics.median(drift.ratios) < 0.01  # measured, not used
    assert LookupTable.for_device("cpu", 1, tmp_path).drift[name] == drift  # saved for the workers


def _drift_of(rounds: list[list[float]], previous: float, baseline: Drift) -> Drift:
    """`next_drift` after re-timing rounds (one figure per reference each) against ``baseline``, where a
    re-timing `CONFIRM_S` earlier saw the same (a slowdown is adopted; `drift_rule`)."""
    now, taken, steady = minima_over_rounds(iter(rounds).__next__, fewest=2, most=len(rounds))
    seen = [n / b for n, b in zip(now, baseline.reference_ms, strict=True)]
    before = Drift(previous, pending_ratios=seen, pending_at=time.time() - 2 * CONFIRM_S)
    return next_drift(before, baseline.reference_ms, baseline.baseline_settled, now, taken, steady, load=1.0)


@pytest.mark.usefixtures("_rule")
def test_busy_then_quiet_a_factor_changes_only_on_confirmed_minima():
    """The idle VM's regression (2026-12-03): a table calibrated with a core busy, its references re-timed
    quiet in rounds that never settled, whose minima ran 1.12x the busy baseline; that factor was used and
    every prediction ran 12% high. Unconfirmed, the previous factor stays; confirmed, it is the median."""
    steady_rounds = [[10.0, 20.0, 30.0], [10.3, 20.4, 30.9]]
    baseline_ms, _, baseline_steady = minima_over_rounds(iter(steady_rounds).__next__, fewest=2, most=2)
    busy = Drift(1.0, 2.0, reference_ms=baseline_ms, settled=True, baseline_settled=baseline_steady)
    quiet_unsettled = [[11.2, 22.4, 33.6], [12.9, 25.0, 35.9], [12.0, 23.9, 37.0]]
    kept = _drift_of(quiet_unsettled, 1.0, busy)
    assert kept.factor == 1.0 and kept.settled is False and kept.ratios == pytest.approx([1.12] * 3)
    assert _drift_of(quiet_unsettled, 0.95, busy).factor == 0.95  # the previous factor, whatever it was
    quiet_settled = [[9.0, 18.2, 27.0], [9.2, 18.0, 27.3]]
    confirmed = _drift_of(quiet_settled, 1.0, busy)
    assert confirmed.settled and confirmed.factor == pytest.approx(0.9) and confirmed.baseline_settled
    assert confirmed.reference_ms == baseline_ms  # the baseline stays for the next re-timing


@pytest.mark.usefixtures("_rule")
def test_a_confirmed_change_within_the_references_precision_keeps_the_factor():
    """The idle VM's chain run (2026-12-04): settled ratios 0.992, 0.963, 0.963 set 0.963 and put every
    prediction 3.7% low while the machine had not sped up; a change under `DEAD_BAND` is not told apart."""
    baseline = Drift(1.0, 2.0, reference_ms=[0.6595, 0.3863, 0.4787], settled=True, baseline_settled=True)
    small = [[0.6543, 0.3722, 0.4612], [0.6601, 0.3730, 0.4640]]
    kept = _drift_of(small, 1.0, baseline)
    assert kept.factor == 1.0 and kept.settled
    assert statistics.median(kept.ratios) == pytest.approx(0.963, 1e-3)  # measured, recorded, not used
    assert _drift_of(small, 0.9, baseline).factor == pytest.approx(0.963, 1e-3)  # 7% from 0.9: adopted
    assert _drift_of([[0.59, 0.35, 0.43], [0.60, 0.35, 0.44]], 1.0, baseline).factor < 1 - DEAD_BAND


@pytest.mark.usefixtures("_rule")
def test_a_baseline_that_never_settled_lets_no_retiming_change_the_factor():
    unsettled = Drift(1.0, 2.0, reference_ms=[10.0, 20.0, 30.0], settled=False, baseline_settled=False)
    drift = _drift_of([[8.0, 16.0, 24.0], [8.1, 16.1, 24.2]], 1.0, unsettled)
    assert drift.factor == 1.0 and drift.settled is False and drift.ratios == pytest.approx([0.8] * 3)


@pytest.mark.usefixtures("_rule")
def test_references_that_disagree_keep_the_factor_though_their_median_moved():
    """The factor's confidence interval is the references' range: one reference that did not move says the
    median's shift may be noise, and a wrong factor moves every prediction."""
    baseline = Drift(1.0, 2.0, reference_ms=[1.0] * 5, settled=True, baseline_settled=True)
    apart = [[0.85, 0.88, 0.90, 0.93, 1.00], [0.86, 0.88, 0.91, 0.93, 1.01]]
    kept = _drift_of(apart, 1.0, baseline)
    assert kept.settled and kept.factor == 1.0 and statistics.median(kept.ratios) == pytest.approx(0.90)
    together = [[0.88, 0.89, 0.90, 0.92, 0.93], [0.89, 0.90, 0.91, 0.92, 0.93]]
    assert _drift_of(together, 1.0, baseline).factor == pytest.approx(0.90)
    assert _drift_of(together, 0.92, baseline).factor == 0.92  # within the band of the previous factor
    back = [[1.00, 1.01, 1.02, 0.99, 1.03], [1.01, 1.00, 1.02, 1.00, 1.04]]
    assert _drift_of(back, 0.90, baseline).factor == pytest.approx(1.00)  # back from a busy spell


def test_references_are_timed_as_networks_are_profiled():
    """The factor rescales predictions checked against profiled latencies: the same statistic, a window of
    the thread's own clock and slow episodes retried, not 30 blocks that one slow episode can hold."""
    assert TimingOptions() == DRIFT_TIMING and DRIFT_TIMING.min_time_s > 0 and DRIFT_TIMING.reference


def test_a_baseline_timed_otherwise_is_not_compared(tmp_path, _operators):
    table, name = _table_with_a_halving_correction(tmp_path, _operators)
    other = asdict(TimingOptions(min_time_s=0.0, max_repeats=30))
    table.drift[name] = Drift(1.0, load_average(), reference_ms=[1e3] * REFERENCE_NETWORKS, timing=other)
    drift = refresh_drift(table, SHAPE, space="chain", timing=QUICK)
    assert drift is not None and drift.reference_ms != [1e3] * REFERENCE_NETWORKS  # predictions stood in
    assert drift.timing == asdict(QUICK) and max(drift.ratios) < 100
    again = refresh_drift(table, SHAPE, space="chain", timing=QUICK)
    assert again is not None and again.reference_ms == drift.reference_ms  # timed alike: kept as baseline


def test_the_baseline_is_the_calibration_figures_the_fit_saw(tmp_path):
    """A baseline timed apart after the fit ran 0-6% above the figures the fit saw (nb201, 2026-12-05), so
    the references' ratios missed the whole machine's drift: references timed as they will be re-timed, in
    rounds that settled, keep their calibration figures, spanning the space's latencies."""
    result = calibrate(threads=1, spaces=["chain"], input_shape=SHAPE, networks=7, rounds=2,
                       directory=tmp_path, timing=QUICK, op_timing=ONE_CALL)  # fmt: skip
    own, figures = result.table.drift["chain@1x3x8x8"], dict(result.measured["chain"])
    assert len(own.references) == REFERENCE_NETWORKS and own.rounds == 2 and own.baseline_settled
    assert own.reference_ms == [figures[seed] for seed in own.references] == sorted(own.reference_ms)
    assert own.reference_ms[0] == min(figures.values()) and own.reference_ms[-1] == max(figures.values())
    longer = TimingOptions(warmup_s=0.0, min_repeats=3, max_repeats=6, max_time_s=0.02)
    apart = calibrate(threads=1, spaces=["chain"], input_shape=SHAPE, networks=7, rounds=2,
                      directory=tmp_path / "other", timing=longer, op_timing=ONE_CALL)  # fmt: skip
    timed = apart.table.drift["chain@1x3x8x8"]
    assert timed.timing == asdict(QUICK) and not set(timed.reference_ms) & set(
        dict(apart.measured["chain"]).values()
    )
