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
from nas_workbench.profiling.device_verify import Finalist, order_finalists, refit_device
from nas_workbench.profiling.targets import DeviceProfile

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
        self._profiles: dict[tuple[str, int], DeviceProfile] = {}

    def _predict_all(self, column: str, profile: DeviceProfile) -> tuple[np.ndarray, list[float]]:
        """Every cell's latency as ``profile`` predicts it (its reference model, for all cells at once)
        and its leave-one-out ratios."""
        assert profile.transfer is not None  # fitted with the reference table: every cell is in it
        _, _, matrix, names = self._inputs[column]
        columns = [names.index(d) for d in profile.transfer.devices]
        return profile.transfer.predict(self.rows, matrix[:, columns]), interval_ratios(profile.quality)

    def _fit(self, column: str, seed: int) -> tuple[np.ndarray, list[float]]:
        """Every cell's predicted latency on device ``column`` by a profile fitted on the ``size`` cells
        `propose` draws with ``seed``, and the profile's leave-one-out ratios (fitted once)."""
        if (column, seed) in self._fitted:
            return self._fitted[column, seed]
        if column not in self._inputs:
            self._inputs[column] = table_inputs(self.data, column, self.table, self.specs, self._smoothed)
        measured, reference, _, _ = self._inputs[column]
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
        self._profiles[column, seed] = profile
        self._fitted[column, seed] = self._predict_all(column, profile)
        return self._fitted[column, seed]

    def measured(self, column: str, seed: int) -> list[str]:
        """The cells the profile of ``column`` and ``seed`` was fitted from (measured on the device)."""
        self._fit(column, seed)
        return [arch for arch, _ in self._profiles[column, seed].measurements]

    def verified(
        self, column: str, seed: int, archs: list[str], latency_ms: list[float], confidence: float = 0.0
    ) -> dict[str, float]:
        """As `predict`, by the profile refitted with ``archs`` measured at ``latency_ms`` too (the
        finalists: `nas_workbench.profiling.device_verify.refit_device`, what `verify` does)."""
        self._fit(column, seed)
        profile = refit_device(self._profiles[column, seed], archs, latency_ms, save=False)
        predicted, ratios = self._predict_all(column, profile)
        factor = conformal_bound(ratios, confidence)[0]
        return dict(zip(self.archs, (float(v) * factor for v in predicted), strict=True))

    def predict(self, column: str, seed: int, confidence: float = 0.0) -> dict[str, float]:
        """Each cell (the space's notation) → the latency (ms) a budget on device ``column`` judges it by:
        the prediction of the profile `propose` and ``seed`` give, times its conformal bound's factor at
        ``confidence`` (`DeviceProfile.upper_ms`, here for all cells at once)."""
        predicted, ratios = self._fit(column, seed)
        factor = conformal_bound(ratios, confidence)[0]
        return dict(zip(self.archs, (float(v) * factor for v in predicted), strict=True))


def verified_choice(
    profiles: FittedLatencies,
    column: str,
    seed: int,
    trained: list[tuple[str, float, float]],
    k: int,
    latency: dict[str, float],
    budget_ms: float,
    confidence: float = 0.0,
) -> tuple[str, float, float] | None:
    """The choice of a search after ``k`` finalists are measured on the device (``latency``, the table's):
    the finalists by the workbench's rule (`device_verify.order_finalists`: the ``k`` best trained cells
    by validation accuracy whose latency is only predicted), the profile refitted with them, and every
    trained cell judged again, a measured one (the profile's own cells too) by its measurement, the rest
    by the refitted profile; the best-validation cell judged within budget (None: none). ``trained``: the
    search's cells judged within budget by the first profile, ``(arch, validation, test)``."""
    if k == 0:
        return max(trained, key=lambda t: t[1], default=None)
    measured = set(profiles.measured(column, seed))
    ranked = sorted({t[0]: t for t in sorted(trained, key=lambda t: t[1])}.values(), key=lambda t: -t[1])
    candidates = [t for t in ranked if t[0] not in measured]
    finalists = order_finalists(
        [Finalist(i, arch, i + 1, 0.0, budget_ms, 0.0) for i, (arch, _, _) in enumerate(candidates)], k
    )
    archs = [f.arch for f in finalists]
    refitted = profiles.verified(column, seed, archs, [latency[a] for a in archs], confidence)
    known = measured | set(archs)
    within = [t for t in ranked if (latency[t[0]] if t[0] in known else refitted[t[0]]) <= budget_ms]
    return within[0] if within else None


def verified_runs(
    profiles: FittedLatencies,
    column: str,
    runs: list[dict],
    k: int,
    latency: dict[str, float],
    budget_ms: float,
    best: float,
    confidence: float = 0.0,
    first_seed: int = 0,
) -> dict[str, object]:
    """Over the seeds' ``runs`` (`nb201_budgeted.run_one`'s, seed = ``first_seed`` + index): the regrets
    against ``best`` after `verified_choice` with ``k`` finalists, the seeds with no choice (``none``) and
    those whose choice the device measures over the budget (``over``)."""
    choices = [
        verified_choice(profiles, column, seed, run["trained"], k, latency, budget_ms, confidence)
        for seed, run in enumerate(runs, first_seed)
    ]
    return {
        "regrets": [best - (c[2] if c is not None else 0.0) for c in choices],
        "none": sum(c is None for c in choices),
        "over": sum(c is not None and latency[c[0]] > budget_ms for c in choices),
    }
