"""Which function's twins a settled proxy-guided search trains (`twin_choice.twin_function`): the FPGA 10th
percentile case of issue #20, where the optimum's function (many twins) first drew a twin below one of a
function with few."""

from __future__ import annotations

import numpy as np

from nas_workbench.strategies.twin_choice import expected_max, twin_function

# candidates 0-9 compute function 0 (ten twins), 10-12 function 1 (three), 13 function 2 (one)
FUNCTIONS = np.array([0] * 10 + [1] * 3 + [2])


def _untried(trained: list[tuple[int, float]]) -> np.ndarray:
    mask = np.ones(len(FUNCTIONS), dtype=bool)
    mask[[i for i, _ in trained]] = False
    return mask


def test_expected_max_grows_with_the_draws() -> None:
    assert expected_max(1) == 0.0
    values = [expected_max(n) for n in (2, 5, 17, 100)]
    assert values == sorted(values) and 0.5 < values[0] < 0.6 and 1.7 < values[2] < 1.9


def test_without_a_measured_spread_the_best_trial_s_function() -> None:
    trained = [(0, 87.56), (10, 87.58)]
    assert twin_function(trained, FUNCTIONS, _untried(trained), best=10) == 1


def test_many_untried_twins_beat_a_function_with_a_slightly_better_trial() -> None:
    trained = [(0, 87.56), (10, 87.58), (11, 87.61), (12, 87.44)]  # function 1 has no twin left
    assert twin_function(trained, FUNCTIONS, _untried(trained), best=11) == 0
    trained = [(0, 87.56), (10, 87.58), (11, 87.61)]  # twins measured to differ by 0.02 only: function 1
    assert twin_function(trained, FUNCTIONS, _untried(trained), best=11) == 1


def test_a_function_not_expected_to_beat_the_best_is_not_mined() -> None:
    trained = [(13, 87.15), (10, 86.34), (11, 86.35)]  # function 2 best, without twins; 0 and 1 far below
    trained.append((0, 86.0))
    assert twin_function(trained, FUNCTIONS, _untried(trained), best=13) == 2
