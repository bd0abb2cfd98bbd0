"""Lookup-table corrections cannot degenerate: fits that ignore the table or predict worse than the plain
sum out of sample are refused, with a log line, for a simpler fit; the quality of the fit used is kept."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from nas_workbench.exceptions import ProfilingError
from nas_workbench.profiling import Correction
from nas_workbench.profiling.correction import MIN_SCALE, _simplest_within_one_standard_error


def test_a_fit_that_ignores_the_table_is_refused(caplog):
    # what a busy calibration once fitted: latency follows the operator count, the table sums are noise
    sums = np.random.default_rng(0).uniform(1.0, 2.0, 8)
    ops = np.arange(10, 90, 10)
    with caplog.at_level(logging.INFO, logger="nas_workbench"):
        fit = Correction.fit(sums, ops, 0.04 * ops, name="chain@1x3x8x8")
    assert fit.kind in ("scale", "plain") and fit.scale >= MIN_SCALE
    assert "linear fit refused: it ignores the table" in fit.note
    assert any("chain@1x3x8x8" in r.message and "refused" in r.message for r in caplog.records)


def test_fits_worse_than_the_plain_sum_out_of_sample_fall_back_to_it(caplog):
    sums = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    measured = [s * f for s, f in zip(sums, [1.2, 0.8] * 3, strict=True)]  # unbiased, 20% noise
    with caplog.at_level(logging.WARNING, logger="nas_workbench"):
        fit = Correction.fit(sums, [10, 30, 20, 60, 40, 50], measured)
    assert (fit.kind, fit.scale, fit.per_op_ms, fit.offset_ms) == ("plain", 1.0, 0.0, 0.0)
    assert fit.note.count("worse than the plain sum out of sample") == 2
    assert len(caplog.records) == 2


def test_a_scale_alone_is_used_when_it_predicts_best():
    sums = np.array([1.0, 2.0, 3.0, 5.0, 8.0, 13.0])
    measured = 1.1 * sums * np.array([1.01, 0.99, 1.0, 1.02, 0.98, 1.0])
    fit = Correction.fit(sums, [40, 10, 30, 20, 60, 50], measured)
    assert fit.kind in ("scale", "linear") and fit.scale == pytest.approx(1.1, rel=0.03)
    quality = fit.quality
    assert quality["within_10pct"] == 1.0 and quality["loo_within_10pct"] == 1.0
    assert quality["loo_median_error_pct"] < quality["plain_loo_median_error_pct"]


def test_a_fit_needs_three_networks():
    with pytest.raises(ProfilingError, match="at least 3"):
        Correction.fit([1.0, 2.0], [1, 2], [1.0, 2.0])


def test_a_scale_per_kind_is_used_when_the_kinds_deviate_apart():
    # convolutions 1.45x their isolated timings inside the network, the rest 0.95x: one scale cannot fit
    rng = np.random.default_rng(1)
    compute, other = rng.uniform(1.0, 4.0, 12), rng.uniform(1.0, 4.0, 12)
    ops = rng.integers(50, 300, 12)
    measured = (1.45 * compute + 0.95 * other) * rng.uniform(0.99, 1.01, 12)
    fit = Correction.fit(compute + other, ops, measured, compute_ms=compute)
    assert fit.kind == "kinds"
    assert (fit.compute_scale, fit.scale) == pytest.approx((1.45, 0.95), rel=0.05)
    assert fit.quality["kinds_loo_mean_error_pct"] < fit.quality["linear_loo_mean_error_pct"] / 3
    assert f"{fit.compute_scale:.3f} x table (compute-bound)" in fit.formula()
    assert fit.apply(5.0, 100, compute_ms=2.0) == pytest.approx(
        fit.compute_scale * 2.0 + fit.scale * 3.0 + fit.per_op_ms * 100 + fit.offset_ms
    )


def test_one_scale_stays_when_the_kinds_agree():
    rng = np.random.default_rng(2)
    compute, other = rng.uniform(1.0, 4.0, 12), rng.uniform(1.0, 4.0, 12)
    measured = 1.2 * (compute + other) * rng.uniform(0.97, 1.03, 12)
    fit = Correction.fit(compute + other, rng.integers(50, 300, 12), measured, compute_ms=compute)
    assert fit.scale == pytest.approx(1.2, rel=0.05)
    if fit.kind == "kinds":  # chosen only by a hair of leave-one-out error: then the scales agree
        assert fit.compute_scale == pytest.approx(fit.scale, rel=0.1)
    else:
        assert fit.compute_scale is None


def test_a_fit_that_ignores_one_kind_of_operator_is_refused():
    # the convolutions' table time carries no information (measured follows the rest alone)
    rng = np.random.default_rng(3)
    compute, other = rng.uniform(1.0, 4.0, 10), rng.uniform(1.0, 4.0, 10)
    fit = Correction.fit(compute + other, rng.integers(50, 300, 10), 1.1 * other, compute_ms=compute)
    assert fit.kind != "kinds" and "kinds fit refused: it ignores the table (compute scale" in fit.note


def test_without_compute_sums_no_scale_per_kind_is_tried():
    sums = np.array([1.0, 2.0, 3.0, 5.0, 8.0, 13.0])
    fit = Correction.fit(sums, [40, 10, 30, 20, 60, 50], 1.1 * sums)
    assert fit.kind != "kinds" and "kinds_loo_mean_error_pct" not in fit.quality
    assert fit.apply(2.0, 10, compute_ms=1.0) == pytest.approx(fit.apply(2.0, 10))  # one scale for all


def test_a_richer_fit_must_beat_a_simpler_one_by_more_than_a_standard_error():
    rng = np.random.default_rng(4)
    errors = rng.uniform(0.0, 10.0, 20)  # mean 5, standard error about 0.65
    relative = {"plain": errors + 10, "scale": errors, "linear": errors - 0.3, "kinds": errors - 0.5}
    assert _simplest_within_one_standard_error(list(relative), relative) == "scale"
    relative["kinds"] = errors - 3.0  # clearly better
    assert _simplest_within_one_standard_error(list(relative), relative) == "kinds"


def test_a_fit_is_tried_only_on_two_networks_more_than_its_coefficients():
    rng = np.random.default_rng(5)
    compute, other = rng.uniform(1.0, 4.0, 5), rng.uniform(1.0, 4.0, 5)
    fit = Correction.fit(
        compute + other, [50, 90, 70, 60, 80], 1.45 * compute + 0.95 * other, compute_ms=compute
    )
    assert fit.kind != "kinds" and "kinds_loo_mean_error_pct" not in fit.quality  # 4 coefficients, 5 networks
    assert "linear_loo_mean_error_pct" in fit.quality
