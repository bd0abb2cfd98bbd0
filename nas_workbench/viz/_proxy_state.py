"""What a proxy-guided search shows of itself: its pool, the prior's ranking against the trained trials,
and how far it trusted each estimator, read back from its study.

The `proxy_guided` sampler records on every trial it plans (system attributes ``proxy_guided:*``, see
`nas_workbench.strategies.proxy_guided`) the trust it gave each estimator then, where the prior ranked the
proposed candidate and the pool it ranked. Because they live in the study, a resumed search, a study
watched from another process and the report all see the same state the strategy acted on.
`ProxyHistory` turns them into plain columns (no Bokeh here; `nas_workbench.viz.proxy` draws them):

- ``trials``: one row per finished planned trial: its number, source, the prior's percentile for it
  (``score``: 1 = the top of the trusted ranking among the candidates within budget), its objective (NaN
  when it was not trained) and the trust in each estimator when it was planned (``trust_<name>``);
- ``spearman``: one row per trained trial, in the order they finished: the Spearman correlation, over the
  trained trials so far, between the objective (signed: positive means the prior agrees) and the prior with
  equal trust in every estimator (``prior``), and each estimator alone (``rho_<name>``); NaN while fewer
  than `MIN_TRIALS` are trained. Both are computed over the trained trials alone, from the estimators'
  values the sampler recorded (``proxy_guided:prior`` ``values``): each estimator's value as it is, and
  the equal-trust prior as the mean of each estimator's percentile rank among those trials. Not from the
  ranks the sampler recorded, which are over the pool at the time: a lazy pool grows from a few dozen
  scored candidates to thousands, so a rank of 0.9 early and one late do not compare. (A study recorded
  before the values were kept has only those ranks; they are used then.)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from nas_workbench.strategies._history import feasible
from nas_workbench.strategies._proxy_record import recorded_plan
from nas_workbench.trial_attrs import attr, stored_label

__all__ = ["MIN_TRIALS", "SOURCES", "ProxyHistory"]

#: Where a trial came from (`proxy_guided:source`), in legend order.
SOURCES = ("prior", "local", "explore", "uniform")
#: Trained trials before a Spearman correlation is given (with fewer it says nothing).
MIN_TRIALS = 3


class ProxyHistory:
    """The columns of a proxy-guided search's figures, filled trial by trial.

    Args:
        maximize: Whether the search maximises its objective (the sign of "agrees with the prior").
    """

    def __init__(self, maximize: bool = True) -> None:
        self.sign = 1.0 if maximize else -1.0
        #: Estimator names, in the order they were first seen.
        self.estimators: list[str] = []
        self.trials: dict[str, list[Any]] = {n: [] for n in ("number", "source", "score", "value", "arch")}
        self.spearman: dict[str, list[Any]] = {n: [] for n in ("trained", "number", "prior")}
        #: The latest pool summary: size, feasible (predicted within budget), seconds (estimating it).
        self.pool: dict[str, float] = {}
        self._seen: set[int] = set()
        self._measured: list[list[float]] = []  # per trained trial, its estimators' values
        self._values: list[float] = []

    @classmethod
    def from_study(cls, study: optuna.Study) -> ProxyHistory:
        """The history of a stored study (empty when no trial was planned by `proxy_guided`)."""
        history = cls(study.directions[0] == optuna.study.StudyDirection.MAXIMIZE)
        history.update(study)
        return history

    def update(self, study: optuna.Study) -> bool:
        """Add the trials of ``study`` that finished since the last call; whether any was added."""
        finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
        return self.extend(finished)

    def extend(self, trials: Iterable[FrozenTrial]) -> bool:
        """Add finished ``trials`` not seen yet, in the order they finished; whether any was added."""
        new = [(t, plan) for t in trials if t.number not in self._seen and (plan := recorded_plan(t))]
        for trial, plan in sorted(
            new, key=lambda p: (p[0].datetime_complete or p[0].datetime_start, p[0].number)
        ):
            self._add(trial, plan)
        return bool(new)

    def _add(self, trial: FrozenTrial, plan: dict[str, Any]) -> None:
        self._seen.add(trial.number)
        trust: dict[str, float] = plan.get("trust", {})
        prior: dict[str, Any] = plan.get("prior", {})
        ranks: dict[str, float] = prior.get("ranks", {})
        measured: dict[str, float] = prior.get("values", ranks)  # comparable across trials (see above)
        for name in [*trust, *ranks]:
            if name not in self.estimators:
                self._add_estimator(name)
        self.pool = dict(plan.get("pool", self.pool))
        value = _trained_value(trial)
        row = {
            "number": trial.number,
            "source": plan["source"],
            "score": float(prior.get("score", math.nan)),
            "value": math.nan if value is None else value,
            "arch": stored_label(trial),
            **{f"trust_{n}": float(trust.get(n, math.nan)) for n in self.estimators},
        }
        for name, cell in row.items():
            self.trials[name].append(cell)
        if value is not None and ranks:
            self._measured.append([float(measured.get(n, math.nan)) for n in self.estimators])
            self._values.append(self.sign * value)
            self._add_correlations(trial.number)

    def _add_estimator(self, name: str) -> None:
        """A new estimator column (NaN for the rows before it appeared)."""
        self.estimators.append(name)
        self.trials[f"trust_{name}"] = [math.nan] * len(self.trials["number"])
        self.spearman[f"rho_{name}"] = [math.nan] * len(self.spearman["number"])
        for row in self._measured:
            row.append(math.nan)

    def _add_correlations(self, number: int) -> None:
        measured, values = np.array(self._measured, dtype=float), np.array(self._values)
        ranks = np.column_stack([_percentiles(c) for c in measured.T]) if measured.size else measured
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a trial with no known value: NaN, no warning
            equal = np.nanmean(ranks, axis=1) if ranks.size else np.zeros(len(values))
        equal = np.round(equal, 12)  # equal means stay tied whatever the order they were summed in
        self.spearman["trained"].append(len(values))
        self.spearman["number"].append(number)
        self.spearman["prior"].append(_spearman(equal, values))
        for k, name in enumerate(self.estimators):
            self.spearman[f"rho_{name}"].append(_spearman(measured[:, k], values))

    # -- summaries -----------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.trials["number"])

    @property
    def ranked(self) -> int:
        """Trained trials the prior ranked when they were proposed (the rows of ``spearman``)."""
        return len(self.spearman["trained"])

    def summary(self) -> str:
        """One sentence on the pool (its size, how many candidates are predicted within budget, what
        estimating them cost), the estimators, and where the trials came from."""
        if not self.pool:
            return "no trial planned yet."
        size, feasible = int(self.pool.get("size", 0)), int(self.pool.get("feasible", 0))
        sources = ", ".join(
            f"{s} {self.trials['source'].count(s)}" for s in SOURCES if s in self.trials["source"]
        )
        seconds, estimators = float(self.pool.get("seconds", math.nan)), ", ".join(self.estimators) or "none"
        return (
            f"a pool of {size:,} candidates, {feasible:,} predicted within budget; estimating them took "
            f"{seconds:.1f} s. Estimators: {estimators}. Trials by source: {sources}; "
            f"{sum(v == v for v in self.trials['value'])} trained within budget."
        )

    def checkpoints(self, counts: Sequence[int] = (5, 10, 25, 50, 100)) -> list[dict[str, Any]]:
        """The ``spearman`` rows after each of ``counts`` ranked trained trials that were reached, and the
        last one, each with the trust the strategy gave each estimator on the next trial it planned (what that
        agreement had taught it), as dicts: trained, number, prior, rho_<name>, trust_<name>."""
        last = {self.ranked} if self.ranked else set()
        wanted = sorted({c for c in counts if c <= self.ranked} | last)
        rows = []
        for count in wanted:
            index = count - 1
            row = {name: column[index] for name, column in self.spearman.items()}
            later = [i for i, n in enumerate(self.trials["number"]) if n > row["number"]]
            at = min(later, key=lambda i: self.trials["number"][i]) if later else len(self) - 1
            row.update({f"trust_{n}": self.trials[f"trust_{n}"][at] for n in self.estimators})
            rows.append(row)
        return rows


def _trained_value(trial: FrozenTrial) -> float | None:
    """The objective of a trial that was trained and is within budget, else None."""
    if trial.state != TrialState.COMPLETE or trial.values is None or not feasible(trial):
        return None
    if attr(trial, "status", "ok") != "ok":
        return None
    return float(trial.values[0])


def _percentiles(column: np.ndarray) -> np.ndarray:
    """Each known value's percentile rank among the known values of ``column`` (0 lowest, 1 highest; NaN
    stays NaN), so that estimators of different scales average."""
    from scipy.stats import rankdata  # slow to import; a workbench builds this view before any search

    known = np.isfinite(column)
    out = np.full(len(column), math.nan)
    if known.sum() > 1:
        out[known] = (rankdata(column[known]) - 1) / (known.sum() - 1)
    elif known.any():
        out[known] = 0.5
    return out


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's correlation of the pairs where ``x`` is known; NaN with too few or constant values."""
    known = np.isfinite(x)
    x, y = x[known], y[known]
    if len(x) < MIN_TRIALS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    from scipy.stats import spearmanr  # slow to import; a workbench builds this view before any search

    return float(spearmanr(x, y).statistic)
