"""A pool of candidate architectures scored by free estimators, and how far the trials say to trust each.

The proxy-guided strategy (`proxy_guided`) ranks many candidates before it trains any. `CandidatePool`
holds them: the whole space when it is small enough to enumerate, else a seeded random sample (grown by
the mutations the search asks for), each with the values of every cheap estimator the search knows of it
(`SamplerContext.costs`: parameters, a target device's predicted latency; `SamplerContext.scores`:
zero-cost proxies such as synflow). Estimating the pool is timed, so the search can show what its prior
cost.

`subset_ensemble` is the stronger rule for a few labelled candidates (benchmarks/proxies/ensemble.py):
a harmonic mean of ranks over the subsets of estimators the labels agree with best.

`trust` turns trained trials into one weight per estimator: its Spearman rank correlation with the
trained objective, shrunk towards a prior weight while few trials are trained. `combined_score` is the
weighted mean of the estimators' percentile ranks over the pool (rank aggregation: insensitive to each
estimator's scale, and an estimator the trials contradict gets a weight near zero or below).
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nas_workbench.spaces._base import enumerate_specs

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec

__all__ = [
    "CandidatePool",
    "Estimator",
    "chance_to_beat",
    "combined_score",
    "one_of",
    "percentile_ranks",
    "share_below",
    "subset_ensemble",
    "trust",
]

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
        seed: Seed of the random sample of a larger space, and of the order a lazy pool scores in.
        scored: None to score every candidate now; else how many to score now (at least one), the rest
            in a seeded random order by `score_more`.
    """

    def __init__(
        self,
        space: SearchSpace,
        size: int,
        estimators: Sequence[Estimator],
        seed: int | None = None,
        scored: int | None = None,
    ) -> None:
        self.space = space
        self.estimators = tuple(estimators)
        self.specs: list[ArchSpec] = []
        self._index: dict[tuple[tuple[str, Any], ...], int] = {}
        self._rows: list[dict[str, float]] = []
        self._signature: Callable[[ArchSpec], str] | None = getattr(space, "signature", None)
        self._functions: dict[str, int] = {}
        self._function_of: list[int] = []  # per candidate, the id of the function it computes
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
        if scored is not None and scored < len(specs):  # lazy: scored in a seeded random order
            random.Random(seed).shuffle(specs)
        self.seconds += time.perf_counter() - started
        cut = len(specs) if scored is None else max(scored, 1)
        self._pending = specs[cut:]
        for spec in specs[:cut]:
            self.add(spec)
        self._save()
        self.names: tuple[str, ...]  # every estimator value's name, and the candidates × names matrix
        self.values: np.ndarray
        self._tabulate()
        self._codes = self._encode(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    @property
    def pending(self) -> int:
        """Candidates drawn but not scored yet (a lazy pool, `score_more`)."""
        return len(self._pending)

    def score_more(self, count: int) -> int:
        """Score the next ``count`` drawn candidates (fewer when fewer are left) and add them: a lazy pool
        pays for its estimators as the search goes instead of before the first training; how many were
        added."""
        batch, self._pending = self._pending[:count], self._pending[count:]
        for spec in batch:
            self.add(spec)
        self._save()
        return len(batch)

    def _save(self) -> None:
        """Ask each estimator that caches its values (one with a ``save()`` method) to keep them."""
        for estimate in self.estimators:
            if callable(save := getattr(estimate, "save", None)):
                save()

    def find(self, choices: Mapping[str, Any]) -> int | None:
        """The index of the candidate with these choices, or None."""
        return self._index.get(_key(choices))

    def draw(self, rng: random.Random, wanted: np.ndarray, most: int = 50) -> int:
        """The index of an architecture drawn as random sampling draws it, one decision after another
        (`SearchSpace.random`: in a nested space as many draws take each depth, though most of its
        architectures are the deepest), drawn again while it is not ``wanted`` (a mask of the pool) but
        at most ``most`` times; added to the pool (a new one is not in ``wanted``: the caller judges it)."""
        for _ in range(most):
            index = self.add(self.space.random(rng))
            if index >= len(wanted) or wanted[index]:
                break
        return index

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
        function = self._signature(spec) if self._signature is not None else repr(key)
        self._function_of.append(self._functions.setdefault(function, len(self._functions)))
        if hasattr(self, "values"):  # grown after construction: extend the matrices
            if set(row) <= set(self.names):
                self.values = np.vstack([self.values, [[row.get(n, math.nan) for n in self.names]]])
            else:  # an estimator that gave nothing before gives values now: a column more
                self._tabulate()
            self._codes = np.vstack([self._codes, self._encode([spec])])
        return self._index[key]

    def fill(self, estimate: Estimator) -> int:
        """Ask ``estimate`` for every candidate's values and keep those the candidate lacks (timed, as the
        scoring is): the candidates scored while an estimator gave nothing (`score_cost.PricedScores`
        withholds the zero-cost scores until they are priced) get its values once it gives them, so that
        they rank by every estimator as the later ones do; how many candidates gained a value."""
        started, gained = time.perf_counter(), 0
        for spec, row in zip(self.specs, self._rows, strict=True):
            missing = {n: float(v) for n, v in estimate(spec).items() if n not in row}
            row.update(missing)
            gained += bool(missing)
        self.seconds += time.perf_counter() - started
        self._save()
        self._tabulate()
        return gained

    def _tabulate(self) -> None:
        """Lay the candidates' values out as ``values``, one column per estimator value in ``names``
        (sorted; NaN where a candidate has none)."""
        self.names = tuple(sorted({name for row in self._rows for name in row}))
        self.values = np.array([[row.get(n, math.nan) for n in self.names] for row in self._rows], float)
        self.values = self.values.reshape(len(self._rows), len(self.names))

    def function_twins(self, mask: np.ndarray) -> np.ndarray:
        """Which candidates compute the same function as one of the candidates in ``mask`` (the space's
        ``signature``, e.g. `CellSpace.signature`: cells that differ only in dead ops; in a space without
        one, each candidate is its own function). A twin of a trained candidate teaches the search nothing
        new, so it is tried last."""
        functions = np.asarray(self._function_of)
        return np.isin(functions, functions[mask])

    @property
    def functions(self) -> np.ndarray:
        """Per candidate, the id of the function it computes (equal ids: twins, `function_twins`)."""
        return np.asarray(self._function_of)

    def function_values(self, indices: Sequence[int], values: Sequence[float]) -> np.ndarray:
        """Per candidate, the best of ``values`` (larger is better) measured on candidates ``indices`` that
        compute its function (NaN where none did): what training a twin is expected to give."""
        best: dict[int, float] = {}
        for index, value in zip(indices, values, strict=True):
            function = self._function_of[index]
            best[function] = max(value, best.get(function, -math.inf))
        return np.array([best.get(function, math.nan) for function in self._function_of])

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


def one_of(indices: np.ndarray, rng: random.Random) -> int:
    """One of the candidates ``indices`` at random (drawing only when there is a choice, so that a space
    whose every candidate is its own function draws as before twins were told apart)."""
    return int(indices[0]) if len(indices) == 1 else int(rng.choice(indices.tolist()))


def trust(values: np.ndarray, objective: np.ndarray, prior: np.ndarray, prior_trials: float) -> np.ndarray:
    """One weight per estimator column of ``values`` (trained candidates × estimators): its Spearman
    correlation with ``objective`` (higher is better), shrunk towards ``prior`` as if ``prior_trials``
    trials had agreed with the prior. With fewer than 3 trained candidates, the prior itself."""
    n = len(objective)
    if n < 3:
        return prior.copy()
    observed = np.array(
        [_agreement(column, objective) if np.all(np.isfinite(column)) else 0.0 for column in values.T]
    )
    return (n * observed + prior_trials * prior) / (n + prior_trials)


def percentile_ranks(values: np.ndarray) -> np.ndarray:
    """Each estimator column's percentile rank over the candidates (0: lowest, 1: highest; a missing value
    ranks lowest), the scale-free form in which the estimators are combined and recorded."""
    from scipy.stats import rankdata  # slow to import (a second), and the engine's start-up needs none

    n = max(len(values) - 1, 1)
    if not values.size:
        return np.zeros(values.shape)
    return np.column_stack([(rankdata(np.nan_to_num(column, nan=-np.inf)) - 1) / n for column in values.T])


def share_below(score: np.ndarray, allowed: np.ndarray, index: int) -> float:
    """The share of the ``allowed`` candidates other than ``index`` whose ``score`` is below its score (1:
    the top of the ranking), where the ranking put candidate ``index``."""
    others = int(allowed.sum()) - int(allowed[index])
    if others == 0:
        return 1.0
    return int(np.sum(score[allowed] < score[index])) / others


def chance_to_beat(best: float, peers: Sequence[float], count: int) -> float:
    """The chance that the best of ``count`` untried candidates beats ``best``, taking their objectives as
    draws from a normal fitted to ``peers`` (trained candidates the ranking put as high; 1 with fewer than
    3: too few to say). How the proxy-guided search tells a tie of the prior that is still worth training
    from one whose best trial is far above the rest."""
    if len(peers) < 3:
        return 1.0
    mean, spread = float(np.mean(peers)), float(np.std(peers, ddof=1))
    if spread == 0.0:
        return 0.0 if best > mean else 1.0
    below = 0.5 * (1.0 + math.erf((best - mean) / (spread * math.sqrt(2.0))))  # one draw scores below
    return 1.0 - below**count


def combined_score(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Rank aggregation: per candidate, the ``weights``-weighted sum of each estimator's percentile rank
    in the pool (`percentile_ranks`)."""
    return percentile_ranks(values) @ weights if weights.size else np.zeros(len(values))


#: Most estimators `subset_ensemble` takes (it judges every subset of them).
MAX_ENSEMBLE = 12


def subset_ensemble(
    values: np.ndarray,
    labelled: Sequence[int],
    objective: np.ndarray,
    top: int = 10,
    min_size: int = 2,
    power: float = -1.0,
) -> np.ndarray:
    """A score per candidate from its estimator values, weighed with a few labelled candidates.

    Weighting single estimators by their Spearman with 20 labels is noisy (a weak estimator keeps a weight
    near its chance agreement), so the labels judge whole ensembles instead. Every subset of at least
    ``min_size`` estimators (columns of ``values``) scores each candidate by the ``power`` mean of its
    members' percentile ranks over all candidates (-1, the harmonic mean: one member's low rank pulls a
    candidate down, so it must satisfy every member, as in AZ-NAS's non-linear rank aggregation, Lee & Ham,
    CVPR 2024); each subset is judged by the Spearman of that score with ``objective`` on the labelled
    candidates, and the result is the mean rank over the ``top`` best-judged subsets (averaging several
    rather than taking the best one keeps a lucky draw of labels from choosing for all: with six estimators
    and 20 labels, 10 of the 57 subsets rather than 5 raise the worst of 600 draws by 0.01-0.04 on
    NB201, benchmarks/proxies/README.md).

    Args:
        values: Candidates × estimators (larger is better for each; at most `MAX_ENSEMBLE` columns).
        labelled: Indices of the candidates whose objective is known.
        objective: Their objective (larger is better), in the order of ``labelled``.
        top: How many of the best-judged subsets are averaged.
        min_size: Fewest estimators in a subset.
        power: The exponent of the power mean (1: arithmetic, -1: harmonic).

    Returns:
        The ensemble's score per candidate (its mean rank; larger is better).
    """
    from scipy.stats import rankdata

    n, k = values.shape
    if not 1 <= k <= MAX_ENSEMBLE:
        raise ValueError(f"values has {k} estimator columns; subset_ensemble takes 1 to {MAX_ENSEMBLE}")
    if len(labelled) != len(objective):
        raise ValueError(f"{len(labelled)} labelled candidates but {len(objective)} objective values")
    ranks = np.column_stack([rankdata(np.nan_to_num(c, nan=-np.inf)) / n for c in values.T])  # in (0, 1]
    subsets = [c for size in range(min(min_size, k), k + 1) for c in itertools.combinations(range(k), size)]
    scores = [_power_mean(ranks[:, list(subset)], power) for subset in subsets]
    labels = np.asarray(labelled, dtype=int)
    judged = [_agreement(score[labels], objective) for score in scores]
    best = np.argsort(judged, kind="stable")[::-1][:top]
    return np.mean([rankdata(scores[i]) for i in best], axis=0)


def _power_mean(ranks: np.ndarray, power: float) -> np.ndarray:
    """Per row, the power mean of positive ``ranks`` (0: the geometric mean)."""
    if power == 0:
        return np.exp(np.log(ranks).mean(axis=1))
    return np.power(np.power(ranks, power).mean(axis=1), 1.0 / power)


def _agreement(score: np.ndarray, objective: np.ndarray) -> float:
    """Spearman's correlation, 0 when either side is constant."""
    from scipy.stats import spearmanr

    if np.ptp(score) == 0 or np.ptp(objective) == 0:
        return 0.0
    return float(spearmanr(score, objective).statistic)
