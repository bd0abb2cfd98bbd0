"""What each `proxy_guided` trial records, so the workbench and the report show the search from its study.

The sampler stores, per trial, system attributes under the prefix `ATTR`: what proposed it (``source``),
the trust in each estimator then (``trust``), the pool's size, feasible count and the seconds its
estimators took (``pool``), and where the prior ranked the proposed candidate (``prior``).
`recorded_plan` reads them back (for `nas_workbench.viz.ProxyHistory`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nas_workbench import _compat

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from nas_workbench.strategies.pool import CandidatePool

__all__ = ["ATTR", "record_plan", "record_prior", "recorded_plan"]

#: Prefix of the system attributes each trial records.
ATTR = "proxy_guided"


def record_plan(
    study: optuna.Study,
    trial: FrozenTrial,
    pool: CandidatePool,
    source: str,
    weights: np.ndarray,
    allowed: np.ndarray,
) -> None:
    """Record the trial's ``source``, the trust ``weights`` per estimator, and the pool's summary."""
    storage, trial_id = _compat.storage_of(study), _compat.trial_id(trial)
    storage.set_trial_system_attr(trial_id, f"{ATTR}:source", source)
    storage.set_trial_system_attr(
        trial_id,
        f"{ATTR}:trust",
        {n: round(float(w), 4) for n, w in zip(pool.names, weights, strict=True)},
    )
    summary = {
        "size": len(pool),
        "feasible": int(allowed.sum()),
        "seconds": round(pool.seconds, 3),
        "unscored": pool.pending,
    }
    storage.set_trial_system_attr(trial_id, f"{ATTR}:pool", summary)


def record_prior(
    study: optuna.Study, trial: FrozenTrial, pool: CandidatePool, index: int, ranks: np.ndarray, score: float
) -> None:
    """Where the prior put the proposed candidate ``index``: its percentile rank among the candidates
    predicted within budget by each estimator (1: the highest value), and by the trust-weighted ranking
    (1: the top), so its trained value can be set against the prior's ranking; and its estimators' own
    values, which, unlike the ranks (over a pool that a lazy pool grows), compare from one trial to the
    next."""
    names = pool.names
    rounded = {n: round(float(r), 5) for n, r in zip(names, ranks, strict=True)}
    values = {n: float(v) for n, v in zip(names, pool.values[index], strict=True) if np.isfinite(v)}
    prior: dict[str, Any] = {"ranks": rounded, "values": values, "score": round(score, 5)}
    _compat.storage_of(study).set_trial_system_attr(_compat.trial_id(trial), f"{ATTR}:prior", prior)


def recorded_plan(trial: FrozenTrial) -> dict[str, Any] | None:
    """What `record_plan` and `record_prior` stored on ``trial``, by part: ``source``, and ``trust``,
    ``pool`` and ``prior`` where recorded; None for a trial the sampler did not plan."""
    attrs = trial.system_attrs
    if f"{ATTR}:source" not in attrs:
        return None
    parts = ("source", "trust", "pool", "prior")
    return {part: attrs[f"{ATTR}:{part}"] for part in parts if f"{ATTR}:{part}" in attrs}
