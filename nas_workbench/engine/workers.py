"""Workers: processes, on this machine or any other, that run trials of one shared study.

A worker needs only the storage URL and the study name: the study's record holds the config it was created
with (`nas_workbench.engine.study_record`), and the worker rebuilds the `SearchConfig` from it::

    nas-workbench worker --storage postgresql://user@db/nas --study chain-tpe-seed0

Trials are claimed from the study's plan (`nas_workbench.engine.scheduler`), so any number of workers,
started and killed in any order, finish the study with exactly ``n_trials`` trials. Studies on data given
from Python (not "digits") need the data in each worker too: ``--data module:function`` (a function
returning what `nas_workbench.load_task` accepts) or ``--data task.pt`` (a `Task` saved with
``torch.save``); ``--evaluate module:function`` replaces the built-in training, as ``evaluate=`` does. The
data must be the study's own: the record keeps its identity, and other data is refused.

From Python, ``run.start(workers=4)`` starts four local worker processes
(`nas_workbench.engine.producers.LocalProcesses`) and turns every trial they finish into the run's events;
``run.start(workers=0)`` only watches, while workers started elsewhere do the work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna

from nas_workbench.config import SearchConfig
from nas_workbench.engine.callables import callable_name, load_callable, load_dataset
from nas_workbench.engine.local_workers import LocalWorkers
from nas_workbench.engine.runner import SearchRun
from nas_workbench.engine.scorers import Evaluate
from nas_workbench.engine.storage import open_storage
from nas_workbench.engine.storage_urls import masked_url
from nas_workbench.engine.study_record import RECORD_WAIT_S, wait_for_record
from nas_workbench.engine.study_space import import_space
from nas_workbench.exceptions import NasWorkbenchError

__all__ = [
    "LocalWorkers",
    "callable_name",
    "config_from_study",
    "load_callable",
    "load_dataset",
    "run_worker",
]


def config_from_study(storage: str, study_name: str, wait_s: float = RECORD_WAIT_S) -> SearchConfig:
    """Rebuild the `SearchConfig` of a stored study, to run more of its trials in this process.

    Args:
        storage: The storage URL as this process reaches it (the record keeps it with the password masked).
        study_name: The study.
        wait_s: How long to wait for a study that exists but is still being set up.

    Raises:
        NasWorkbenchError: No such study, or a study the workbench did not create.
    """
    opened = open_storage(storage)
    try:
        study = optuna.load_study(study_name=study_name, storage=opened)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(opened)]
        raise NasWorkbenchError(
            f"no study {study_name!r} in {masked_url(storage)}; studies there: {names or 'none'}. Create it "
            "first (nw.search(config) in a notebook, or pass --config to the worker)"
        ) from None
    record = wait_for_record(study, wait_s)
    import_space(record)
    return record.search_config(storage, study_name)


def run_worker(
    storage: str,
    study_name: str,
    *,
    config: SearchConfig | None = None,
    evaluate: Evaluate | None = None,
    dataset: Any = None,
    subscribe: Callable[[Any], None] | None = None,
    started: Callable[[SearchRun], None] | None = None,
) -> SearchRun:
    """Run trials of study ``study_name`` in this process until its plan is done (or `stop()`).

    Args:
        storage: The storage URL.
        study_name: The study.
        config: Create the study from this config when it does not exist yet (several workers may race
            to: one creates it, the others join); None: join an existing study with its stored config.
        evaluate: The user's evaluation, as ``nw.search(config, evaluate=...)`` takes it.
        dataset: The data for a study on data given from Python (refused unless it is the study's).
        subscribe: Called with every event of this worker.
        started: Called with the run before it starts (to install a signal handler that stops it).

    Returns:
        The finished run.
    """
    if config is not None:
        config = config.replace(storage=storage, study_name=study_name)
    else:
        config = config_from_study(storage, study_name)
    run = SearchRun(config, evaluate=evaluate, data=dataset)
    if subscribe is not None:
        run.subscribe(subscribe)
    if started is not None:
        started(run)
    return run.run()
