"""The latency a fitted device profile predicts for every NAS-Bench-201 cell: what the engine really knows.

`nb201_budgeted.py --costs latency` tells the samplers each cell's *measured* latency, as if the user's
device profile were exact. A real search on a ``target_device`` has a profile fitted from a few cells
measured on the device (`nw.profiling.fit_device`), and the engine both tells the samplers its latency
and judges each trial's budget by it: the prediction's upper bound at the config's ``budget_confidence``
(`DeviceProfile.upper_ms`; 0: the prediction). `FittedLatencies` gives that latency for every cell: the
device's cells to measure are the ones the workbench proposes (`nw.profiling.propose`, with the reference
table, one draw per seed), their latencies are read off ``nb201_latency.csv``, and the profile is fitted
with the other devices of that table as the reference, never the target's own hardware (the setting of
``benchmarks/devices/profile_quality.py``, whose helpers this uses).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import nas_workbench as nw
from nas_workbench.profiling.device_budget import conformal_bound, interval_ratios

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "devices"))
from profile_quality import features, read_latency_table, table_inputs  # the devices' benchmark's setting


class FittedLatencies:
    """Per device column and seed, every cell's latency as a profile fitted from ``size`` cells judges it.

    Args:
        nb201_dir: The folder holding ``nb201_latency.csv``.
        space: The "nb201" space.
        size: Cells measured per profile (the workbench proposes which).
    """

    def __init__(self, nb201_dir: Path, space: nw.spaces.SearchSpace, size: int) -> None:
        data = read_latency_table(nb201_dir)
        if data is None:
            raise FileNotFoundError(nb201_dir / "nb201_latency.csv")
        self.data, self.space, self.size = data, space, size
        self.table = nb201_dir / "nb201_latency.csv"
        self.specs = [space.parse(r["arch"]) for r in data]
        self.archs = [space.format(s) for s in self.specs]
        self.rows = features(space, self.specs)  # the product's features, FLOPs traced per conv count
        self._smoothed: dict[str, np.ndarray] = {}
        self._inputs: dict[str, tuple] = {}
        self._fitted: dict[tuple[str, int], tuple[np.ndarray, list[float]]] = {}

    def _fit(self, column: str, seed: int) -> tuple[np.ndarray, list[float]]:
        """Every cell's predicted latency on device ``column`` by a profile fitted on the ``size`` cells
        `propose` draws with ``seed``, and the profile's leave-one-out ratios (fitted once)."""
        if (column, seed) in self._fitted:
            return self._fitted[column, seed]
        if column not in self._inputs:
            self._inputs[column] = table_inputs(self.data, column, self.table, self.specs, self._smoothed)
        measured, reference, matrix, names = self._inputs[column]
        chosen = nw.profiling.propose(self.space, self.size, seed, reference=reference)
        index = {arch: i for i, arch in enumerate(self.archs)}
        picked = [index[self.space.format(self.space.parse(arch))] for arch in chosen]
        profile = nw.profiling.fit_device(
            f"nb201-{column}",
            self.space,
            [self.archs[i] for i in picked],
            [float(measured[i]) for i in picked],
            reference=reference,
            save=False,
        )
        assert profile.transfer is not None  # fitted with the reference table: every cell is in it
        columns = [names.index(d) for d in profile.transfer.devices]
        predicted = profile.transfer.predict(self.rows, matrix[:, columns])
        self._fitted[column, seed] = predicted, interval_ratios(profile.quality)
        return self._fitted[column, seed]

    def predict(self, column: str, seed: int, confidence: float = 0.0) -> dict[str, float]:
        """Each cell (the space's notation) → the latency (ms) a budget on device ``column`` judges it by:
        the prediction of the profile `propose` and ``seed`` give, times its conformal bound's factor at
        ``confidence`` (`DeviceProfile.upper_ms`, here for all cells at once)."""
        predicted, ratios = self._fit(column, seed)
        factor = conformal_bound(ratios, confidence)[0]
        return dict(zip(self.archs, (float(v) * factor for v in predicted), strict=True))
