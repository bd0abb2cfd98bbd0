"""Which function's untried twins a settled proxy-guided search trains.

Twins (candidates computing one function: `CellSpace.signature`) train to accuracies that differ only by
noise, and on NAS-Bench-201 the best of a function's many twins is often the budget's optimum. Training
twins of the function whose *best trial* is highest follows one draw of that noise: under the FPGA's
10th-percentile budget the optimum's function (17 twins, validation 87.56-88.23) loses on seed 4 when its
first twin draws 87.56 against 87.58 for a function of 5 twins (87.44-87.61), whose twins the search then
trains instead. What a function's twins are worth is the best of those still untried: `twin_function`
takes the one whose untried twins are expected to give the highest best, from the mean of its trained
twins and the spread of twins of one function measured on the trials (the expected maximum of that many
normal draws). Until some function has two trained twins, no spread is measured and the best trial's
function is taken, as before. Also here: the best trials of the best functions (`best_of_functions`) and
every candidate computing one of them (`spellings`), which the settled search moves from.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = ["best_of_functions", "expected_max", "spellings", "twin_function"]


def expected_max(count: int) -> float:
    """The expected maximum of ``count`` standard normal draws (Blom's approximation; 0 for one draw)."""
    from scipy.stats import norm  # slow to import; a workbench imports the strategies at start

    return float(norm.ppf((count - 0.375) / (count + 0.25))) if count > 1 else 0.0


def twin_function(
    trained: list[tuple[int, float]], functions: np.ndarray, untried: np.ndarray, best: int
) -> int:
    """The function whose untried twins to train.

    Args:
        trained: (pool index, objective, larger is better) of each trained trial.
        functions: Per pool candidate, the id of the function it computes.
        untried: Mask of the pool candidates that may be proposed (within budget, not tried).
        best: The pool index of the best trained trial.

    Returns:
        The id of the trained function whose untried twins have the highest expected best (the mean of its
        trained twins plus the measured spread of twins times `expected_max` of their number), when that
        beats the best trial; else (and when no function has two trained twins, or none has an untried
        twin) the best trial's function.
    """
    values: dict[int, list[float]] = {}
    for index, value in trained:
        values.setdefault(int(functions[index]), []).append(value)
    deviations = [v - np.mean(vs) for vs in values.values() if len(vs) > 1 for v in vs]
    replicated = sum(len(vs) - 1 for vs in values.values() if len(vs) > 1)
    open_twins = Counter(functions[untried].tolist())
    candidates = [f for f in values if open_twins[f]]
    if not replicated or not candidates:
        return int(functions[best])
    spread = float(np.sqrt(np.sum(np.square(deviations)) / replicated))  # pooled within-function deviation
    worth = {f: float(np.mean(values[f])) + spread * expected_max(open_twins[f]) for f in candidates}
    chosen = max(worth, key=worth.__getitem__)
    best_value = max(value for _, value in trained)
    return chosen if worth[chosen] > best_value else int(functions[best])


def spellings(tops: list[int], functions: np.ndarray, allowed: np.ndarray, turn: int = 0) -> list[int]:
    """``tops``, then the other candidates ``allowed`` (within budget) that compute one of their functions,
    from the ``turn``-th on, round (a climb's mutations may be fewer than they: each trial takes its turn)."""
    mask = allowed & np.isin(functions, functions[tops])
    rest = [int(i) for i in np.flatnonzero(mask) if i not in tops]
    turn %= max(len(rest), 1)
    return tops + rest[turn:] + rest[:turn]


def best_of_functions(trained: list[tuple[int, float]], functions: np.ndarray, count: int) -> list[int]:
    """The pool indices of the best trained candidates of the ``count`` best trained functions, best first."""
    tops: dict[int, int] = {}
    for index, _ in sorted(trained, key=lambda pair: -pair[1]):
        if len(tops) < count:
            tops.setdefault(int(functions[index]), index)
    return list(tops.values())
