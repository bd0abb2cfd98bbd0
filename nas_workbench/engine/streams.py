"""Distinct, reproducible sampler streams for every process and every resume of a search.

Every process of a search builds its own sampler, and Optuna's samplers draw their start-up trials from
their own random state, not from the study: seeded alike, two workers propose the same architectures, and
a resumed search proposes again the ones it began with. A process's stream is therefore derived from the
search's seed, its index among the search's workers and the study's history (the trials done when the run
began): distinct per worker and per resume, the same for the same seed, worker count and history.

Local workers get their index and the run's history from the run that starts them (environment variables
below), so they agree on the history however late each one starts. A worker started by hand or by a
scheduler should set ``NAS_WORKBENCH_WORKER_INDEX`` (e.g. to ``$SLURM_ARRAY_TASK_ID``): without it, it counts
as worker 0, and workers started together on one history share a stream (`nas_workbench.engine.repeats`
then keeps them from training the same architecture twice, but their trials are repeats, not new ones).
"""

from __future__ import annotations

import hashlib
import os

__all__ = ["HISTORY_ENV", "WORKER_INDEX_ENV", "sampler_seed", "stream_position"]

#: The worker's index among the search's workers (0, 1, ...), set by the run that starts local workers.
WORKER_INDEX_ENV = "NAS_WORKBENCH_WORKER_INDEX"

#: The trials done when the run that started the workers began.
HISTORY_ENV = "NAS_WORKBENCH_TRIALS_BEFORE"


def sampler_seed(seed: int, worker: int = 0, history: int = 0) -> int:
    """The seed of one process's sampler: ``seed`` itself for the first process of a new search (so a
    single-process search draws what it always drew), otherwise a 32-bit hash of all three."""
    if worker == 0 and history == 0:
        return seed
    digest = hashlib.sha256(f"{seed}/{worker}/{history}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def stream_position(history: int) -> tuple[int, int]:
    """This process's (worker index, history): those its launcher set in the environment, else worker 0
    and ``history`` as this process saw it when it opened the study."""
    index = os.environ.get(WORKER_INDEX_ENV, "")
    before = os.environ.get(HISTORY_ENV, "")
    return (int(index) if index.isdigit() else 0, int(before) if before.isdigit() else history)
