"""A pool of candidate architectures scored by free estimators, and how far the trials say to trust each.

The proxy-guided strategy (`proxy_guided`) ranks many candidates before it trains any. `CandidatePool`
holds them: the whole space when it is small enough to enumerate, else a seeded random sample (grown by
the mutations the search asks for), each with the values of every cheap estimator the search knows of it
(`SamplerContext.costs`: parameters, a target device's predicted latency; `SamplerContext.scores`:
zero-cost proxies such as synflow). Estimating the pool is timed, so the search can show what its prior
cost.

`trust` turns trained trials into one weight per estimator: its Spearman rank correlation with the
trained objective, shrunk towards a prior weight while few trials are trained. `combined_score` is the
weighted mean of the estimators' percentile ranks over the pool (rank aggregation: insensitive to each
estimator's scale, and an estimator the trials contradict gets a weight near zero or below).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import rankdata, spearmanr

from nas_workbench.spaces._base import enumerate_specs

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec

__all__ = ["CandidatePool", "Estimator", "combined_score", "percentile_ranks", "trust"]

#: An estimator of candidates before training: architecture → named values. One with a ``save()`` method
#: (a cache, as the engine's `CandidateScores`) is asked to keep its values once the pool is scored.
Estimator = Callable[["ArchSpec"], Mapping[str, float]]


def _key(choices: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(choices.items()))


class CandidatePool:
    """Candidate architectures and each one's estimator values.

    Args:
        space: The search space.
        size: Most candidates; a space of at most this many architectures is enumerated whole.
        estimators: The sources of values (`SamplerContext.costs`, `SamplerContext.scores`), in order;
            a name given by two sources keeps the first.
        seed: Seed of the random sample of a larger space.
    """

    def __init__(
        self, space: SearchSpace, size: int, estimators: Sequence[Estimator], seed: int | None = None
    ) -> None:
        self.space = space
        self.estimators = tuple(estimators)
        self.specs: list[ArchSpec] = []
        self._index: dict[tuple[tuple[str, Any], ...], int] = {}
        self._rows: list[dict[str, float]] = []
        #: Seconds spent computing estimator values (building networks, scoring proxies).
        self.seconds = 0.0
        started = time.perf_counter()
        if space.size() <= size:
            specs = list(enumerate_specs(space, limit=size + 1))
        else:
            rng, specs, seen = random.Random(seed), [], set()
            for _ in range(3 * size):
                spec = space.random(rng)
                if (key := _key(spec.choices)) not in seen:
                    seen.add(key)
                    specs.append(spec)
                if len(specs) == size:
                    break
        self.seconds += time.perf_counter() - started
        for spec in specs:
            self.add(spec)
        for estimate in self.estimators:
            if callable(save := getattr(estimate, "save", None)):
                save()
        self.names = tuple(sorted({name for row in self._rows for name in row}))
        self.values = np.array([[row.get(n, math.nan) for n in self.names] for row in self._rows], float)
        self._codes = self._encode(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def find(self, choices: Mapping[str, Any]) -> int | None:
        """The index of the candidate with these choices, or None."""
        return self._index.get(_key(choices))

    def add(self, spec: ArchSpec) -> int:
        """The index of ``spec``, adding it (with its estimator values) when it is not in the pool."""
        key = _key(spec.choices)
        if key in self._index:
            return self._index[key]
        started = time.perf_counter()
        row: dict[str, float] = {}
        for estimate in self.estimators:
            for name, value in estimate(spec).items():
                row.setdefault(name, float(value))
        self.seconds += time.perf_counter() - started
        self._index[key] = len(self.specs)
        self.specs.append(spec)
        self._rows.append(row)
        if hasattr(self, "values"):  # grown after construction: extend the matrices
            self.values = np.vstack([self.values, [[row.get(n, math.nan) for n in self.names]]])
            self._codes = np.vstack([self._codes, self._encode([spec])])
        return self._index[key]

    def column(self, name: str) -> np.ndarray:
        """Every candidate's value of estimator ``name``."""
        return self.values[:, self.names.index(name)]

    def neighbours(self, index: int) -> np.ndarray:
        """Indices of the candidates that differ from candidate ``index`` in exactly one decision."""
        differ = np.sum(self._codes != self._codes[index], axis=1)
        return np.flatnonzero(differ == 1)

    def one_hot(self, decisions: Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Per candidate, for each decision in turn, the indicator of each of its ``choices`` (all zero
        where the candidate does not have the decision), as `FeasibilityModel` features are laid out."""
        parts = [np.zeros((len(self), 0))]
        for name, choices in decisions.items():
            if name not in self._vocab:
                parts.append(np.zeros((len(self), len(choices))))
                continue
            codes = self._codes[:, self._decisions.index(name)]
            vocab = self._vocab[name]
            parts.append(np.column_stack([codes == vocab.get(c, -2) for c in choices]).astype(float))
        return np.hstack(parts)

    def _encode(self, specs: Sequence[ArchSpec]) -> np.ndarray:
        """Each spec's choices as a row of codes, one column per decision of the space (-1: not asked)."""
        if not hasattr(self, "_decisions"):
            self._decisions = sorted({name for spec in self.specs for name in spec.choices})
            self._vocab: dict[str, dict[Any, int]] = {name: {} for name in self._decisions}
        rows = []
        for spec in specs:
            row = []
            for name in self._decisions:
                if name not in spec.choices:
                    row.append(-1)
                    continue
                vocab = self._vocab[name]
                row.append(vocab.setdefault(spec.choices[name], len(vocab)))
            rows.append(row)
        return np.array(rows, dtype=np.int64).reshape(len(specs), len(self._decisions))


def trust(values: np.ndarray, objective: np.ndarray, prior: np.ndarray, prior_trials: float) -> np.ndarray:
    """One weight per estimator column of ``values`` (trained candidates × estimators): its Spearman
    correlation with ``objective`` (higher is better), shrunk towards ``prior`` as if ``prior_trials``
    trials had agreed with the prior. With fewer than 3 trained candidates, the prior itself."""
    n = len(objective)
    if n < 3:
        return prior.copy()
    observed = np.zeros(values.shape[1])
    for k in range(values.shape[1]):
        column = values[:, k]
        if np.ptp(objective) > 0 and np.ptp(column) > 0 and np.all(np.isfinite(column)):
            observed[k] = float(spearmanr(column, objective).statistic)
    return (n * observed + prior_trials * prior) / (n + prior_trials)


def percentile_ranks(values: np.ndarray) -> np.ndarray:
    """Each estimator column's percentile rank over the candidates (0: lowest, 1: highest; a missing value
    ranks lowest), the scale-free form in which the estimators are combined and recorded."""
    n = max(len(values) - 1, 1)
    if not values.size:
        return np.zeros(values.shape)
    return np.column_stack([(rankdata(np.nan_to_num(column, nan=-np.inf)) - 1) / n for column in values.T])


def combined_score(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Rank aggregation: per candidate, the ``weights``-weighted sum of each estimator's percentile rank
    in the pool (`percentile_ranks`)."""
    return percentile_ranks(values) @ weights if weights.size else np.zeros(len(values))
