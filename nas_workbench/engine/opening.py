"""Opening a search's study: its budget settled, its sampler made, the study created or resumed, its record.

A new study resolves its relative limits ("p30", "1.5x fastest") on this device and refuses a limit no
architecture meets before the study exists (`nas_workbench.engine.preflight`; a limit met by the networks
it was resolved from is not checked again, `ResolvedBudget.met_when_resolved`); a resumed one keeps the
limits it was resolved to (a limit changed since is checked too), must search the same space for the same
objectives on the same data, and its sampler draws from a stream of its own (`nas_workbench.engine.streams`).
The architectures to try first (given, then a warm start's) open a new study's plan; its record
(`nas_workbench.engine.study_record`) is written last, since workers wait for it before they claim trials.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.storages import BaseStorage

from nas_workbench import __version__, spaces, strategies
from nas_workbench.config import SearchConfig
from nas_workbench.engine.budget import candidate_costs, candidate_scores
from nas_workbench.engine.cancel import Cancelled, check_cancelled
from nas_workbench.engine.feasibility import CHECKED_METRICS, check_device_budget
from nas_workbench.engine.local_costs import local_predictions
from nas_workbench.engine.narration import narrate
from nas_workbench.engine.preflight import Networks, absolute, resolve_limits
from nas_workbench.engine.relative import ResolvedBudget
from nas_workbench.engine.scheduler import FINISHED
from nas_workbench.engine.streams import sampler_seed, stream_position
from nas_workbench.engine.study_record import (
    DataIdentity,
    StudyRecord,
    read_record,
    read_stored_record,
    write_record,
)
from nas_workbench.engine.warm_start import warm_start_architectures
from nas_workbench.exceptions import ConfigError
from nas_workbench.metrics import limit_text
from nas_workbench.profiling.targets import DeviceProfile
from nas_workbench.spaces import SearchSpace
from nas_workbench.task import Task

__all__ = ["OpenedStudy", "open_study"]


@dataclass(frozen=True)
class OpenedStudy:
    """A search's study and the budget it searches under.

    Attributes:
        study: The Optuna study, created or resumed, with the search's sampler.
        config: The config searched, its relative limits replaced by the values they resolved to.
        resolved_budget: Each relative limit and what it resolved to (stored with the study).
    """

    study: optuna.Study
    config: SearchConfig
    resolved_budget: dict[str, ResolvedBudget]


def open_study(
    given: SearchConfig,
    config: SearchConfig,
    space: SearchSpace,
    storage: BaseStorage,
    task: Callable[[], Task],
    target_device: DeviceProfile | None = None,
    cancelled: Cancelled | None = None,
) -> OpenedStudy:
    """Create the study ``given`` names in ``storage``, or resume it (see the module docstring).

    Args:
        given: The validated config, as given (what the record keeps).
        config: The config searched: ``given`` with ``strategy="auto"`` resolved.
        space: Its search space.
        storage: The open storage.
        task: The data, loaded on first call (the budget's networks and the record's data identity).
        target_device: The device latency is predicted for, when not this machine.
        cancelled: Asked before each network profiled and before the study is created
            (`nas_workbench.engine.cancel`: Stop while the run opens).

    Raises:
        InfeasibleBudgetError: No architecture meets a limit.
        OpeningCancelled: ``cancelled`` said so; no study was created.
        ConfigError: The stored study searches another space or other objectives, or other data.
    """
    budget = _Budget(config, space, task, target_device, cancelled)
    name = given.resolved_study_name()  # "auto" names it, not what auto resolved to (printed, reported)
    try:
        study_id: int | None = storage.get_study_id_from_name(name)
    except KeyError:
        study_id = None  # refused outside the handler: a user's error must not trail Optuna's KeyError
    new = study_id is None
    if study_id is None:  # a new study: resolve relative limits on this device and refuse unmeetable ones
        budget.resolve({})
        budget.check()
    else:  # a resumed study keeps the limits it was resolved to; a limit changed now is checked too
        stored = read_stored_record(storage, study_id)
        budget.resolve(stored.budget_resolved if stored is not None else {})
        if stored is not None and dict(stored.budget) != dict(budget.config.budget):
            budget.check()
    config = budget.config
    # a stream of its own per worker and per resume (`nas_workbench.engine.streams`)
    worker, history = stream_position(0 if study_id is None else storage.get_n_trials(study_id, FINISHED))
    # a latency budget on this machine: the lookup table's prediction, when trusted (said either way)
    predicted = local_predictions(config, space, budget.networks, target_device)
    sampler = strategies.make_sampler(
        config.strategy,
        seed=sampler_seed(config.seed, worker, history),
        space=space,
        directions=tuple(config.directions),
        costs=candidate_costs(budget.networks, space, target_device, config.budget_confidence, predicted),
        scores=candidate_scores(budget.networks, space, config.seed),
        limits=config.limits(),
        fixed_choices=config.fixed_choices,
        **config.strategy_options,
    )
    seeds = [space.parse(text) for text in config.initial_architectures]
    if new:  # a bad warm start is refused before the study exists
        seeds += warm_start_architectures(config, space, storage)
    data = DataIdentity.of(task())  # bad data (one class, too few rows) is refused before a study exists
    check_cancelled(cancelled, "creating the study")
    study = optuna.create_study(
        storage=storage, study_name=name, directions=config.directions, sampler=sampler, load_if_exists=True
    )
    resolved = {m: r.to_dict() for m, r in budget.resolved.items()}
    current = StudyRecord.of(given, config, version=__version__, budget_resolved=resolved,
                             data=data,
                             space_reference=spaces.reference(config.space))  # fmt: skip
    stored_record = read_record(study)
    if stored_record is None:
        for spec in seeds:
            study.enqueue_trial(dict(spec.choices), skip_if_exists=True)
        write_record(study, current)
    elif stored_record.objectives != current.objectives or stored_record.space != config.space:
        raise ConfigError(
            "study_name",
            name,
            f"a new name: the stored study searches {stored_record.space!r} for "
            f"{list(stored_record.objectives)}; resume it with the same space and objectives",
        )
    else:
        if stored_record.data is not None and current.data is not None:
            stored_record.data.check_same(current.data, name)
        resumed = stored_record.resumed_as(current)
        if resumed != stored_record:
            write_record(study, resumed)
    return OpenedStudy(study, config, budget.resolved)


class _Budget:
    """A search's limits as they settle: relative ones resolved, then checked against the space."""

    def __init__(
        self,
        config: SearchConfig,
        space: SearchSpace,
        task: Callable[[], Task],
        target: DeviceProfile | None,
        cancelled: Cancelled | None,
    ) -> None:
        self.given, self.space, self.task, self.target = config, space, task, target
        self.config = config
        self.cancelled = cancelled
        self.resolved: dict[str, ResolvedBudget] = {}

    def networks(self) -> Networks:
        """How the search builds and profiles networks (loads the data on first use)."""
        return Networks.of(self.config, self.task())

    def resolve(self, stored: Mapping[str, Mapping[str, Any]]) -> None:
        """Turn relative limits into absolute ones in ``self.config`` (those ``stored`` with a resumed
        study, else resolved on this device). Always from the config as given: resolving an already
        absolute config a second time would forget each relative limit's form and its resolution."""
        self.resolved = resolve_limits(
            self.given, self.space, self.networks, stored, self.target, self.cancelled
        )
        self.config = absolute(self.given, self.resolved)

    def check(self) -> None:
        """Raise `InfeasibleBudgetError` when no architecture meets a limit of ``self.config``
        (`nas_workbench.engine.preflight`); a limit met by the networks it was resolved from is not
        checked again."""
        # This machine's latency says nothing of a target device's: its profile judges latency per trial.
        limits = self.config.limits()
        local = {
            metric: limit
            for metric, limit in limits.items()
            if metric in CHECKED_METRICS
            and not (metric == "latency_ms" and self.target)
            and not (metric in self.resolved and self.resolved[metric].met_when_resolved)
        }
        if local:
            checked = ", ".join(f"{m} <= {limit_text(m, v)}" for m, v in local.items())
            narrate(f"checking that an architecture of the space meets {checked}")
            self.networks().check(self.space, local, self.config.fixed_choices, self.cancelled)
        if self.target is not None and "latency_ms" in limits:
            check_device_budget(
                self.space,
                limits["latency_ms"],
                self.target,
                self.config.fixed_choices,
                self.config.budget_confidence,
            )
