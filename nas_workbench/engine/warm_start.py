"""``SearchConfig.warm_start``: the architectures a new study takes from an earlier one.

The engine enqueues them when it creates the study, after ``initial_architectures``, so they open the
plan and are evaluated first, under the new search's settings (fidelity, budget, data); the strategy then
learns from them as from any trial. Which architectures: `nas_workbench.strategies.prior.best_architectures`.
This module finds the earlier study and says clearly when it cannot: a missing SQLite file, an unknown
study name (with the studies there), or a study with nothing to offer this space.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from nas_workbench._registry import unknown_name_message
from nas_workbench.config import SearchConfig
from nas_workbench.engine.storage import ResilientRDBStorage, open_storage
from nas_workbench.engine.storage_urls import masked_url
from nas_workbench.engine.study_record import record_of
from nas_workbench.exceptions import ConfigError
from nas_workbench.spaces import SearchSpace
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.prior import best_architectures

__all__ = ["warm_start_architectures"]


def warm_start_architectures(
    config: SearchConfig, space: SearchSpace, storage: BaseStorage
) -> list[ArchSpec]:
    """The best architectures of the study ``config.warm_start`` names, best first (empty: no warm start).

    Args:
        config: The new search's settings.
        space: The space it searches (with its options).
        storage: The new search's own storage, used when the earlier study lives there too.

    Raises:
        ConfigError: The storage has no such study (the message lists those it has), a SQLite file is
            missing, or the study has no finished, feasible trial of this space.
    """
    settings = config.resolved_warm_start()
    if settings is None:
        return []
    url, name, top_k = settings["storage"], settings["study_name"], settings["top_k"]
    if url == config.resolved_storage():
        return _best_of(config, space, storage, url, name, top_k)
    other = _open(url)
    try:
        return _best_of(config, space, other, url, name, top_k)
    finally:
        other.engine.dispose()  # its connections would otherwise stay open as long as the kernel


def _best_of(
    config: SearchConfig, space: SearchSpace, storage: BaseStorage, url: str, name: str, top_k: int
) -> list[ArchSpec]:
    """`warm_start_architectures` on the storage that holds the earlier study."""
    names = sorted(study.study_name for study in storage.get_all_studies())
    if name not in names:
        where = f"in {masked_url(url)}"
        allowed = (
            unknown_name_message("study", name, names, where)
            if names
            else f"a study {where}, which holds none"
        )
        raise ConfigError("warm_start.study_name", name, allowed)
    source = optuna.load_study(study_name=name, storage=storage)
    specs = best_architectures(source, space, top_k, config.fixed_choices)
    if not specs:
        finished = len(source.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        searched = record_of(source).space
        raise ConfigError(
            "warm_start.study_name",
            name,
            f"a study with complete, feasible trials of the {space.name!r} space with these space_options"
            + (" and fixed_choices" if config.fixed_choices else "")
            + f"; it has {finished} complete trials"
            + (f" of the {searched!r} space" if searched else "")
            + ", none of them usable here",
        )
    return specs


def _open(url: str) -> ResilientRDBStorage:
    """The earlier study's storage; a SQLite file must exist (opening would create an empty one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").expanduser().is_file():
        raise ConfigError("warm_start.storage", masked_url(url), "an existing storage: there is no such file")
    return open_storage(url)
