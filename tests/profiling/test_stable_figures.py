"""An unstable latency profile of a network profiled stably a moment ago reports that stable figure
(`nas_workbench.profiling.stable_figures`): on synthetic measurements, and through `profile`."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import pytest
from torch import nn

from nas_workbench.exceptions import ConfigError
from nas_workbench.metrics import Measurement
from nas_workbench.profiling import _profile, profile
from nas_workbench.profiling.stable_figures import CONFIRM_TOLERANCE, KEEP_FIGURES, StableFigures, network_key
from tests.profiling.conftest import QUICK

SLOW = "the machine ran slow: the reference workload took 1.65x its quiet time in the last attempt"


def _measured(ms: float, stable: bool) -> Measurement:
    detail = {"min_ms": ms, "stable": stable, **({} if stable else {"unstable_reason": SLOW})}
    return Measurement(ms, "ms", "measured", "cpu thread time", detail)


def test_an_unstable_profile_reports_the_median_of_the_networks_recent_stable_figures():
    """The idle run's failure, synthetic: 4.9-5.1 ms stable, then a slow episode reads 7.6 ms unstable."""
    figures = StableFigures()
    for at, ms in enumerate([5.0, 4.9, 5.1]):
        assert figures.settle("cell 4", _measured(ms, True), now=at).value == ms  # stable: its own
    episode = figures.settle("cell 4", _measured(7.6, False), now=10.0)
    assert episode.value == 5.0  # the median of the three, not the episode's 7.6 (nor the minimum 4.9)
    assert episode.detail["stable"] is True and "unstable_reason" not in episode.detail
    assert episode.detail["min_ms"] == 7.6 and episode.detail["own_unstable_reason"] == SLOW
    assert episode.detail["earlier_profiles"] == 3 and episode.detail["earlier_age_s"] == 8.0
    assert "reported the median of 3 stable profiles" in episode.detail["note"]


def test_stable_profiles_report_their_own_figure_so_a_machine_that_changed_is_followed():
    figures = StableFigures()
    for at in range(KEEP_FIGURES):
        figures.settle("n", _measured(5.0, True), now=at)
    assert figures.settle("n", _measured(5.6, True), now=10).value == 5.6  # busier now: followed
    assert figures.settle("n", _measured(9.0, False), now=11).value == 5.0  # the median of the last five


def test_without_recent_stable_figures_an_unstable_profile_is_reported_as_it_is():
    figures = StableFigures()
    first = figures.settle("n", _measured(7.6, False), now=0)  # nothing earlier
    assert first.value == 7.6 and first.detail["stable"] is False
    figures.settle("n", _measured(5.0, True), now=1)
    assert figures.settle("other", _measured(7.6, False), now=2).value == 7.6  # another network's
    assert figures.settle("n", _measured(7.6, False), now=200).value == 7.6  # too old (KEEP_S = 120)
    assert figures.settle("n", _measured(7.6, False), now=2, keep_s=0).value == 7.6  # turned off


def _history(figures: StableFigures, values: list[float]) -> None:
    for at, ms in enumerate(values):
        figures.settle("cell 4", _measured(ms, True), now=at)


def _retimer(*values: Measurement) -> tuple[list[int], Callable[[], Measurement]]:
    """A stand-in for a second timing: returns ``values`` in turn and counts its calls."""
    calls: list[int] = []

    def retime() -> Measurement:
        calls.append(1)
        return values[len(calls) - 1]

    return calls, retime


def test_a_stable_figure_far_from_the_networks_recent_ones_is_timed_again_and_the_nearer_reported():
    """The Intel VM's outlier, synthetic: cell seed 4 at 3.60-3.73 ms, then a stable profile at 4.05 ms."""
    figures = StableFigures()
    _history(figures, [3.73, 3.68, 3.69, 3.72, 3.67])
    calls, retime = _retimer(_measured(3.66, True))
    confirmed = figures.confirm("cell 4", _measured(4.05, True), retime, now=10)
    assert calls == [1] and confirmed.value == 3.66  # the second timing, nearer the median 3.69
    assert confirmed.detail["min_ms"] == 3.66 and confirmed.detail["stable"] is True
    assert confirmed.detail["confirmation"] == {
        "recent_median_ms": 3.69,
        "recent_profiles": 5,
        "first_ms": 4.05,
        "second_ms": 3.66,
        "second_stable": True,
        "reported": "second",
    }


def test_a_machine_that_changed_is_still_followed_and_agreeing_figures_time_once():
    figures = StableFigures()
    _history(figures, [5.0, 5.0, 5.0])
    calls, retime = _retimer(_measured(5.7, True), _measured(5.0, False))
    busier = figures.confirm("cell 4", _measured(5.6, True), retime, now=10)
    assert busier.value == 5.6 and busier.detail["confirmation"]["reported"] == "first"  # both slower: 5.6
    assert figures.settle("cell 4", busier, now=10).value == 5.6  # and it joins the recent figures
    near = _measured(5.0 * (1 + CONFIRM_TOLERANCE) - 1e-9, True)
    assert figures.confirm("cell 4", near, retime, now=11) is near and calls == [1]  # within: no timing
    unstable_second = figures.confirm("cell 4", _measured(9.0, True), retime, now=12)
    assert unstable_second.value == 9.0 and unstable_second.detail["confirmation"]["second_stable"] is False


def test_a_first_an_unstable_or_a_switched_off_profile_is_not_timed_again():
    figures = StableFigures()
    calls, retime = _retimer(_measured(1.0, True))
    assert figures.confirm("n", _measured(9.0, True), retime, now=0).value == 9.0  # nothing earlier
    _history(figures, [5.0])
    assert figures.confirm("cell 4", _measured(9.0, False), retime, now=1).value == 9.0  # settle's rule
    assert figures.confirm("cell 4", _measured(9.0, True), retime, now=1, keep_s=0).value == 9.0
    assert figures.confirm("cell 4", _measured(9.0, True), retime, now=500).value == 9.0  # too old
    assert calls == []


def test_a_network_is_its_operators_on_a_device_and_clock():
    ops = ["aten.convolution.default(T[1,3,32,32], ...)", "aten.relu.default(T[1,8,32,32])"]
    assert network_key("cpu|x|t1", "auto", ops) == network_key("cpu|x|t1", "auto", list(ops))
    assert network_key("cpu|x|t1", "auto", ops) != network_key("cpu|x|t2", "auto", ops)
    assert network_key("cpu|x|t1", "auto", ops) != network_key("cpu|x|t1", "wall", ops)
    assert network_key("cpu|x|t1", "auto", ops) != network_key("cpu|x|t1", "auto", ops[:1])


def test_profile_reports_an_earlier_stable_figure_for_an_unstable_timing_of_the_same_network():
    """Through `profile`: a network with other weights but the same operators counts as the same; a
    timing whose halves must agree exactly (``rel_ci=0``) stays unstable and gets the earlier figure."""

    def build() -> nn.Module:
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, 4))

    quick = {**QUICK, "reference": False}
    stable = [profile(build(), (1, 8, 8), metrics=["latency_ms"], threads=1, rel_ci=1.0, **quick)
              for _ in range(3)]  # fmt: skip
    assert all(p["latency_ms"].detail["stable"] for p in stable)
    again = profile(build(), (1, 8, 8), metrics=["latency_ms"], threads=1, rel_ci=0.0, **quick)["latency_ms"]
    assert again.detail["reported_from"] == "earlier stable profiles" and again.detail["stable"] is True
    assert again.value == statistics.median(p.latency_ms for p in stable)
    off = profile(build(), (1, 8, 8), metrics=["latency_ms"], threads=1, rel_ci=0.0, keep_stable_s=0, **quick)
    assert off["latency_ms"].detail["stable"] is False and "reported_from" not in off["latency_ms"].detail


@pytest.mark.parametrize("bad", [-1, "120", True, float("nan")])
def test_profile_refuses_a_bad_keep_stable_s_before_timing_anything(bad: object) -> None:
    """A wrong ``keep_stable_s`` is a `ConfigError` naming the option, raised before the network is timed
    (it was read, and failed with a bare ValueError, only after the timing)."""
    with pytest.raises(ConfigError, match="keep_stable_s"):
        profile(nn.Linear(4, 2), (4,), metrics=["latency_ms"], threads=1, keep_stable_s=bad)


def test_profile_times_again_a_stable_figure_far_from_the_networks_recent_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through `profile`: with the network's recent figures far below any timing, a second timing is taken
    and both are in the reported figure's detail."""
    figures = StableFigures()
    monkeypatch.setattr(figures, "recent", lambda *args, **kwargs: [1e-9])
    monkeypatch.setattr(_profile, "STABLE_FIGURES", figures)
    quick = {**QUICK, "reference": False}
    measured = profile(nn.Linear(4, 2), (4,), metrics=["latency_ms"], threads=1, rel_ci=1.0, **quick)
    confirmation = measured["latency_ms"].detail["confirmation"]
    assert confirmation["first_ms"] > 0 and confirmation["second_ms"] > 0
    assert measured["latency_ms"].value in (confirmation["first_ms"], confirmation["second_ms"])
