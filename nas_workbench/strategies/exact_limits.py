"""Budget limits a strategy knows exactly: a constraint named like a counted cost.

The engine tells a strategy each candidate's counted costs before training it (`SamplerContext.costs`: the
parameter count, a target device's predicted latency) and the budget's absolute limits
(`SamplerContext.limits`). A constraint named like a counted cost is then exact: whether a candidate fits
needs no trial, and no candidate over the limit need ever be proposed. A sampler used alone with Optuna is
not given the limits; the first profiled trial gives them, since the engine's constraint is relative
(``(cost - limit) / limit``, so ``limit = cost / (1 + constraint)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["exact_limits"]


def exact_limits(
    cost_names: Iterable[str],
    given: Mapping[str, float] | None,
    observed: Iterable[tuple[Mapping[str, float], Mapping[str, float]]],
) -> dict[str, float]:
    """The limit of every constraint named like a counted cost: the one ``given`` (the engine's), else the
    median of those the ``observed`` trials imply (each a trial's constraints and its counted costs).

    Args:
        cost_names: The counted costs' names.
        given: The budget's absolute limits (metric → limit), or None.
        observed: Per profiled trial, (its constraints, its counted costs).

    Returns:
        Metric → limit, for the constraints named like a counted cost whose limit is known.
    """
    names = set(cost_names)
    limits = {name: float(limit) for name, limit in (given or {}).items() if name in names}
    implied: dict[str, list[float]] = {}
    for constraints, costs in observed:
        for name, value in constraints.items():
            if name in names and name not in limits and value > -1.0 and name in costs:
                implied.setdefault(name, []).append(float(costs[name]) / (1.0 + float(value)))
    limits.update({name: float(np.median(values)) for name, values in implied.items()})
    return limits
