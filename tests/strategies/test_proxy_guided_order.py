"""The proxy-guided strategy's order of proposals: ties drawn by function, and the ranking per expected
second of training (``per_second``)."""

from __future__ import annotations

import datetime

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from nas_workbench import strategies
from nas_workbench.exceptions import ConfigError
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.train_time import expected_seconds, per_second, trained_seconds
from tests.strategies.test_proxy_guided import GridSpace


class OneBigFunctionSpace(GridSpace):
    """The grid where, among the 64 candidates with ``d0`` = 3, 63 compute one function and the 64th
    (``d1`` = ``d2`` = ``d3`` = 0) another: two functions tied by an estimator that sees only ``d0``."""

    name = "grid4_one_big_function"

    def signature(self, spec: ArchSpec) -> str:
        c = spec.choices
        if c["d0"] == 3:
            return "alone" if c["d1"] == c["d2"] == c["d3"] == 0 else "big"
        return repr(sorted(c.items()))


def test_a_tie_is_drawn_by_function_not_by_candidate() -> None:
    """Two functions tie at the top of the ranking, one with 63 twins and one alone: the first proposal is
    each about half the time (by candidate, the lone function would come first once in 64)."""
    space = OneBigFunctionSpace()
    firsts = []
    for seed in range(20):
        sampler = strategies.make_sampler(
            "proxy_guided", seed=seed, space=space, scores=lambda s: {"d0": s.choices["d0"]}, score_batch=0
        )
        study = optuna.create_study(direction="maximize", sampler=sampler, study_name=f"tie-{seed}")
        firsts.append(space.signature(space.sample(study.ask())))
    assert set(firsts) == {"alone", "big"}
    assert 4 <= firsts.count("alone") <= 16, firsts


def test_expected_seconds_fit_a_line_that_never_falls_with_cost() -> None:
    cost = np.array([0.0, 1.0, 2.0, 4.0])
    line = expected_seconds(cost, np.array([1.0, 2.0]), np.array([1.5, 2.5]))  # 0.5 + cost
    assert np.allclose(line, [0.5, 1.5, 2.5, 4.5])
    flat = expected_seconds(cost, np.array([1.0, 2.0]), np.array([3.0, 1.0]))  # falls: noise, the mean
    assert np.allclose(flat, 2.0)
    through = expected_seconds(cost, np.array([1.0, 2.0]), np.array([1.0, 3.0]))  # a = -1: held at 0.2
    assert through[0] == pytest.approx(0.2) and np.all(np.diff(through) > 0)
    before = expected_seconds(cost, np.array([1.0]), np.array([9.0]))  # one cost known: 1 + cost / median
    assert np.allclose(before, 1.0 + cost / 1.5)


def test_per_second_prefers_the_cheaper_of_equally_ranked_candidates() -> None:
    score = np.array([1.0, 1.0, 2.0, 0.5])
    allowed = np.array([True, True, True, False])
    rate = per_second(score, allowed, np.array([2.0, 1.0, 4.0, 1.0]))
    assert rate[3] == 0.0 and rate[1] > rate[0] and rate[1] > rate[2]


def test_trained_seconds_read_the_engines_timings_else_the_duration() -> None:
    study = optuna.create_study()
    trial = study.ask()
    trial.set_user_attr("timings", {"profile_s": 9.0, "evaluate_s": 1.25})
    study.tell(trial, 1.0)
    assert trained_seconds(study.trials[0]) == 1.25
    start = datetime.datetime(2026, 1, 1)
    frozen = optuna.trial.create_trial(state=TrialState.COMPLETE, value=1.0)
    frozen.datetime_start, frozen.datetime_complete = start, start + datetime.timedelta(seconds=3)
    assert trained_seconds(frozen) == 3.0


def test_per_second_trains_a_cheaper_network_of_the_top_first() -> None:
    """The quality estimator ties every candidate with ``d0`` = 3; the parameter count (also an estimator,
    and the training's cost) grows with ``d1`` and ``d2``. Ranked plainly the first trial is the largest
    of the tie; per expected second it is a cheaper one."""
    space = GridSpace()

    def first(per: bool) -> dict[str, int]:
        sampler = strategies.make_sampler(
            "proxy_guided",
            seed=0,
            space=space,
            costs=lambda s: {"params": float(s.choices["d1"] + s.choices["d2"])},
            scores=lambda s: {"quality": float(s.choices["d0"])},
            score_batch=0,
            per_second=per,
        )
        study = optuna.create_study(direction="maximize", sampler=sampler)
        return dict(space.sample(study.ask()).choices)

    plain, cheap = first(False), first(True)
    assert plain["d0"] == 3 and plain["d1"] + plain["d2"] == 6
    assert cheap["d1"] + cheap["d2"] < 6
    with pytest.raises(ConfigError, match="per_second"):
        strategies.make_sampler("proxy_guided", seed=0, space=space, per_second="yes")
