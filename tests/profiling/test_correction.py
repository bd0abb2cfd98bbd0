"""Lookup-table corrections cannot degenerate: fits that ignore the table or predict worse than the plain
sum out of sample are refused, with a log line, for a simpler fit; the quality of the fit used is kept."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from nas_workbench.exceptions import ProfilingError
from nas_workbench.profiling import Correction
from nas_workbench.profiling.correction import MIN_SCALE


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
