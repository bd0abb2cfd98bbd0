"""The best latency knowledge a search can have without a device's exact table: the ceiling model.

Issue #19 sets the quality of a device profile against a *ceiling*: gradient boosting on the 30
edge-operation indicators of a NAS-Bench-201 cell, fitted on 12,000 cells of the same device and scored on
the others (`benchmarks/devices/profile_quality.ceiling`). What is left is the device's measurement noise,
which no model of the decisions predicts (Pixel 2: Spearman 0.904, 48% within ±10%). `ceiling_latencies`
gives every cell such a prediction, cross-fitted: the cells are split into `FOLDS` folds and each fold is
predicted by a model fitted on the others (12,500 cells), so no cell's prediction has seen its own latency.

`nb201_budgeted.py --costs ceiling` tells the samplers this prediction before proposing (as the engine
tells a predicted latency, ``predicted_latency_ms``), while each trial's constraint stays the cell's
published latency: how far a search gets when its latency knowledge is as good as it can be.
`ceiling_greedy` is the matching "free" policy: the best-validation cell among the K cells the ceiling
predicts within budget with the most FLOPs, those the table measures over budget wasted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

import nas_workbench as nw
from nas_workbench.profiling.device_transfer import one_hot

#: Folds of the cross-fit: each model is fitted on 4/5 of the 15,625 cells (12,500; the issue's 12,000).
FOLDS = 5
#: Boosting rounds, as the issue's ceiling (`benchmarks/devices/profile_quality.ceiling`).
ROUNDS = 300


def ceiling_latencies(
    space: nw.spaces.SearchSpace, latency: Mapping[str, float], seed: int = 0
) -> dict[str, float]:
    """Every cell's out-of-fold latency prediction by gradient boosting on its edge-operation indicators.

    Args:
        space: The "nb201" space (its notation keys ``latency``).
        latency: Cell (the space's notation) → its published latency on one device (ms).
        seed: Seed of the split into folds.

    Returns:
        Cell → its predicted latency (ms), from a model that never saw it.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor  # only where the bound is measured
    from threadpoolctl import threadpool_limits  # (scikit-learn's own dependency)

    archs = list(latency)
    x = one_hot([space.parse(arch) for arch in archs])
    y = np.array([latency[arch] for arch in archs])
    folds = np.random.default_rng(seed).permutation(len(archs)) % FOLDS
    predicted = np.empty(len(archs))
    with threadpool_limits(1):  # on shared cores OpenMP's threads wait for each other: minutes, not seconds
        for fold in range(FOLDS):
            held = folds == fold
            model = HistGradientBoostingRegressor(max_iter=ROUNDS, random_state=0).fit(x[~held], y[~held])
            predicted[held] = model.predict(x[held])
    return dict(zip(archs, predicted.tolist(), strict=True))


def cached_ceiling(
    space: nw.spaces.SearchSpace, latency: Mapping[str, float], cache: Path | None
) -> dict[str, float]:
    """`ceiling_latencies` of ``latency``, read from ``cache`` (a JSON file's path without its suffix) when
    it holds them, else fitted and written there (None: fitted, not kept). The fit is seeded: a cached
    prediction is the one a fit gives again."""
    path = None if cache is None else cache.with_suffix(".json")
    if path is not None and path.exists():
        return {arch: float(value) for arch, value in json.loads(path.read_text()).items()}
    predicted = ceiling_latencies(space, latency)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(predicted))
    return predicted


def quality(predicted: Mapping[str, float], latency: Mapping[str, float]) -> dict[str, float]:
    """Spearman of ``predicted`` with the published ``latency``, and the share within ±10% of it."""
    archs = list(latency)
    p = np.array([predicted[a] for a in archs])
    y = np.array([latency[a] for a in archs])
    return {
        "spearman": float(spearmanr(p, y).statistic),
        "within_10pct": float(np.mean(np.abs(p / y - 1.0) <= 0.1)),
    }


def ceiling_greedy(
    table: Mapping[str, Mapping[str, float]],
    predicted: Mapping[str, float],
    latency: Mapping[str, float],
    budget_ms: float,
    cells: int,
) -> float | None:
    """Test accuracy of the best-validation cell among the ``cells`` cells with the most FLOPs that the
    ceiling ``predicted`` within ``budget_ms``, counting only those the published ``latency`` keeps within
    it (a cell measured over budget is a trial spent, not trained); None when none of them is."""
    called = sorted((a for a in table if predicted[a] <= budget_ms), key=lambda a: -table[a]["mflops"])
    kept = [table[a] for a in called[:cells] if latency[a] <= budget_ms]
    return max(kept, key=lambda row: row["valid"])["test"] if kept else None
