"""A latency budget on a target device judged with its profile's uncertainty: the conformal bound, the
verdict a trial carries, and that the bound holds as often as it says on a device with known noise."""

from __future__ import annotations

import random

import numpy as np
import pytest

import nas_workbench as nw
from nas_workbench.engine.budget import device_judged, over_budget_reason, violations
from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling.device_budget import (
    budget_verdict,
    conformal_bound,
    interval_ratios,
    within_probability,
)
from nas_workbench.profiling.device_model import FeatureModel
from nas_workbench.profiling.targets import DeviceProfile

SMALL_NB201 = {"num_cells": 1, "stem_channels": 4}
#: Ten leave-one-out ratios measured / predicted, sorted: the interval a synthetic profile carries.
RATIOS = [0.8, 0.85, 0.9, 0.95, 1.0, 1.02, 1.05, 1.1, 1.2, 1.3]
#: The cost of each op on the synthetic device (ms), the profile's exact structure.
OP_MS = {"none": 0.0, "skip_connect": 0.1, "avg_pool_3x3": 0.5, "nor_conv_1x1": 1.0, "nor_conv_3x3": 3.0}


@pytest.fixture
def space():
    return nw.spaces.get("nb201", **SMALL_NB201)


def op_ms(spec) -> float:
    return 1.0 + sum(OP_MS[op] for op in spec.choices.values())


def synthetic_profile(space, ratios=RATIOS) -> DeviceProfile:
    """A profile that predicts `op_ms` exactly from the choice counts, with the interval ``ratios``."""
    columns = [f"node.from={op}" for op in OP_MS]
    quality = {"median_rel_error": 0.05, "spearman": 1.0, "within_10pct": 0.8, "ratios": list(ratios),
               "ratio_p10": ratios[0], "ratio_p90": ratios[-1]}  # fmt: skip
    model = FeatureModel(columns, [1.0] * len(columns), 1.0, list(OP_MS.values()), 0.01, quality)
    measured = [(space.format(space.random(random.Random(i))), 1.0) for i in range(10)]
    return DeviceProfile("synthetic", "nb201", SMALL_NB201, (3, 32, 32), 10, model, None, measured)


def test_the_bound_is_the_conformal_rank_of_the_ratios_and_says_how_sure_it_can_be():
    assert conformal_bound(RATIOS, 0.8) == (1.2, 9 / 11)  # the 9th of 10: ceil(0.8 * 11)
    assert conformal_bound(RATIOS, 0.9) == (1.3, 10 / 11)  # the largest
    assert conformal_bound(RATIOS, 0.95) == (1.3, 10 / 11)  # more sure than 10 measurements allow
    assert conformal_bound(RATIOS, 0.5) == (1.02, 6 / 11)
    assert conformal_bound(list(reversed(RATIOS)), 0.8) == (1.2, 9 / 11)  # in any order
    assert conformal_bound(RATIOS, 0) == (1.0, 0.0)  # the prediction alone
    assert within_probability(RATIOS, 10.0, 10.0) == 5 / 11  # ratios up to 1.0 keep 10 ms within 10
    assert within_probability(RATIOS, 10.0, 13.0) == 10 / 11


@pytest.mark.parametrize("bad", [-0.1, 1, 1.5, True, "high", None])
def test_a_confidence_out_of_range_is_refused_naming_the_setting(bad):
    with pytest.raises(ConfigError, match="budget_confidence") as error:
        conformal_bound(RATIOS, bad)
    assert "from 0 (the prediction) to below 1" in str(error.value)
    with pytest.raises(ConfigError, match="budget_confidence"):
        nw.SearchConfig(budget_confidence=bad).validate()


def test_a_profile_saved_before_the_ratios_were_kept_bounds_by_its_80_percent_interval():
    assert interval_ratios({"ratio_p10": 0.9, "ratio_p90": 1.2}) == [0.9, 1.2]
    assert conformal_bound(interval_ratios({"ratio_p10": 0.9, "ratio_p90": 1.2}), 0.8) == (1.2, 2 / 3)


def test_a_profile_judges_a_budget_by_the_bound_and_labels_how_sure(space):
    profile = synthetic_profile(space)
    spec = space.random(random.Random(3))
    predicted = profile.predicted_ms(spec)
    assert predicted == pytest.approx(op_ms(spec))
    assert profile.upper_ms(spec, 0.8) == pytest.approx(1.2 * predicted)
    assert profile.upper_ms(spec, 0) == predicted
    between = profile.judge(spec, 1.1 * predicted, 0.8)  # the prediction within, its bound over
    assert not between["within"] and between["confidence"] == 9 / 11
    assert between["p_within"] == 8 / 11  # 8 of the 10 ratios are at most 1.1
    assert between["verdict"].startswith("predicted over budget (82%-sure bound ")
    assert "from 10 measurements" in between["verdict"]
    assert profile.judge(spec, 1.1 * predicted, 0)["within"]  # judged by the prediction alone
    above = profile.judge(spec, 1.25 * predicted, 0.8)
    assert above["within"] and above["verdict"].startswith("predicted within budget (82%-sure bound")
    assert budget_verdict(10.0, RATIOS, 13.0, 0, 10)["verdict"] == (
        "predicted within budget (the prediction alone; 91% sure from 10 measurements)"
    )


def test_the_engine_records_the_prediction_labelled_and_judges_its_bound(space):
    profile = synthetic_profile(space)
    spec = space.random(random.Random(4))
    predicted = profile.predict(spec)
    limits = {"latency_ms": 1.1 * predicted.value}
    recorded, judged = device_judged(spec, {"latency_ms": predicted}, limits, profile, 0.8)
    assert recorded["latency_ms"].value == predicted.value  # the figure shown stays the prediction
    assert recorded["latency_ms"].detail["budget"]["within"] is False
    assert judged["latency_ms"].value == pytest.approx(1.2 * predicted.value)
    assert violations(judged, limits) == ["latency_ms"] and violations(recorded, limits) == []
    reason = over_budget_reason(judged, limits, ["latency_ms"])
    assert reason.startswith("over budget: latency_ms predicted over budget (82%-sure bound ")
    same = device_judged(spec, {"latency_ms": predicted}, limits, None, 0.8)  # this machine's latency
    assert same == ({"latency_ms": predicted}, {"latency_ms": predicted})


def test_the_bound_of_a_fitted_profile_holds_about_as_often_as_it_says(space):
    """A device whose latency is the ops' costs times noise the profile cannot see (lognormal, 12%): a
    profile fitted from 20 random cells; on 400 other cells, the bound at 0.8 holds for about 80% of them,
    the prediction alone for about half."""
    rng = np.random.default_rng(0)
    cells = list({s.id: s for s in (space.random(random.Random(i)) for i in range(600))}.values())
    truth = {s.id: op_ms(s) * float(np.exp(rng.normal(0.0, 0.12))) for s in cells}
    fitted, held_out = cells[:20], cells[20:420]
    profile = nw.profiling.fit_device(
        "noisy", space, fitted, [truth[s.id] for s in fitted], prior=False, save=False
    )
    bound = np.mean([truth[s.id] <= profile.upper_ms(s, 0.8) for s in held_out])
    point = np.mean([truth[s.id] <= profile.predicted_ms(s) for s in held_out])
    assert 0.7 <= bound <= 0.95, bound
    assert 0.3 <= point <= 0.7, point
    assert len(profile.ratios(held_out[0])) == 20
