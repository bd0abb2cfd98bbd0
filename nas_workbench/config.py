"""`SearchConfig`: every setting of a search, in one plain data class.

The widgets, the CLI (a YAML or JSON file) and Python code all produce a `SearchConfig`; nothing else
carries search settings. `validate()` checks every field and raises `ConfigError` naming the field, the
value and what is allowed, so a bad setting never reaches the engine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import InitVar, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from nas_workbench._registry import unknown_name_message
from nas_workbench.config_validation import (
    AUTO_STRATEGY,
    WARM_START_TOP_K,
    collect_errors,
    data_is_a_run_argument,
    validate_config,
    validate_fidelity,
)
from nas_workbench.exceptions import ConfigError, ConfigErrors
from nas_workbench.metrics import METRICS, Direction, ProfilingMethod

__all__ = [
    "AUTO_STRATEGY",
    "DEFAULT_RUNS_DIR",
    "FORM_TABS",
    "OBJECTIVE_METRICS",
    "Fidelity",
    "SearchConfig",
    "default_storage",
]

#: Where searches keep their SQLite storage, reports and logs unless told otherwise.
DEFAULT_RUNS_DIR = "runs"

#: The tabs of a form, in order; each setting's ``metadata["tab"]`` is one of them.
FORM_TABS = ("Search space", "Strategy", "Objectives & budget", "Data & training", "Run")


#: How sure a target device's profile must be that a latency is within budget (`SearchConfig`): 0, the
#: prediction alone. At 0.8, on NAS-Bench-201 with profiles from 10 cells, the choices measured over the
#: budget were no fewer on the Pixel 3 (4 / 0 / 3 of 10 seeds against 4 / 0 / 2) and the regret higher
#: (README, "With the latency a fitted profile predicts"): a bound from the profile's leave-one-out ratios
#: holds for architectures like the measured ones, not for the one a search picks at the budget's edge.
BUDGET_CONFIDENCE = 0.0


def _shown(tab: str, label: str, help: str = "") -> dict[str, str]:
    """The metadata of a setting that a form is generated from: the tab it belongs to (one of
    `FORM_TABS`), its label and a one-line help."""
    return {"tab": tab, "label": label, "help": help}


#: Metrics a search can optimise, with their direction: accuracy and the hardware metrics.
OBJECTIVE_METRICS: Mapping[str, Direction] = {
    "accuracy": "maximize",
    **{k: v.direction for k, v in METRICS.items()},
}


def default_storage(runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> str:
    """The default Optuna storage: a SQLite file in the project-local runs folder."""
    return f"sqlite:///{Path(runs_dir) / 'nas_workbench.db'}"


def _unknown_keys(cls: type, data: Mapping[str, Any], prefix: str) -> list[ConfigError]:
    """One error per key of ``data`` that is not a field of dataclass ``cls``, each with a suggestion."""
    names = [f.name for f in fields(cls)]
    return [
        ConfigError(f"{prefix}{key}", value, unknown_name_message("setting", str(key), names))
        for key, value in data.items()
        if not isinstance(key, str) or key not in names
    ]


@dataclass
class Fidelity:
    """How much training each candidate gets: the low-fidelity knobs of performance estimation.

    Attributes:
        epochs: Training epochs per trial.
        subset: Fraction of the training split used (stratification is not kept; 1.0 = all).
        batch_size: Training mini-batch size (smaller for a small training split, so that an epoch takes
            at least 20 steps; see `nas_workbench.estimation.trainer`).
        learning_rate: Peak learning rate of AdamW (one-cycle: a short warm-up, then cosine annealing).
        weight_decay: AdamW weight decay.
        width_multiplier: Scales every channel count of the built network (< 1 trains faster).
        resolution: Resize inputs to this square side (None keeps the data's own).
    """

    epochs: int = field(default=8, metadata=_shown("Data & training", "epochs"))
    subset: float = field(
        default=1.0, metadata=_shown("Data & training", "training subset", "fraction of the training split")
    )
    batch_size: int = field(default=64, metadata=_shown("Data & training", "batch size"))
    learning_rate: float = field(default=0.01, metadata=_shown("Data & training", "learning rate"))
    weight_decay: float = field(default=1e-4, metadata=_shown("Data & training", "weight decay"))
    width_multiplier: float = field(
        default=1.0, metadata=_shown("Data & training", "width multiplier", "< 1 trains faster")
    )
    resolution: int | None = field(
        default=None, metadata=_shown("Data & training", "resolution", "resize inputs to this side; 0: keep")
    )

    def validate(self) -> None:
        """Raise `ConfigError` for an out-of-range knob."""
        validate_fidelity(self)


@dataclass
class SearchConfig:
    """Everything a search needs. Defaults give a quick accuracy-vs-latency search on digits.

    Attributes:
        space: Registered search space name (see `nas_workbench.spaces.list()`), or ``"module:Class"`` of
            a user-defined space, imported when the config is validated (the field then holds its name).
        space_options: Options of the space (e.g. ``{"num_cells": 3}`` for "nb201").
        strategy: Registered strategy name (see `nas_workbench.strategies.list()`), or ``"auto"`` (the
            default): the strategy the advisor recommends for this config
            (`nas_workbench.strategies.auto_advice`: e.g. one objective under a latency budget on a
            ``target_device`` goes to "proxy_guided", several objectives to "tpe"), resolved when the
            search starts, printed, and stored with the study as the strategy it ran.
        strategy_options: Options of the strategy (e.g. ``{"population_size": 20}`` for "evolution").
        objectives: Metrics to optimise; accuracy is maximised, hardware metrics minimised.
        budget: Upper limits per hardware metric, in the metric's unit (``{"latency_ms": 1.0}``); latency
            and peak memory also take a limit relative to this device, resolved when the study is created
            and stored with it: ``"p30"``, ``"1.5x fastest"``, ``"2x <arch>"``
            (see `nas_workbench.relative_budget`).
        fidelity: Training per trial (epochs, subset, ...), see `Fidelity`.
        pruner: Early stopping on the per-epoch accuracy: "none", "median", "successive_halving", "hyperband".
        pruner_options: Options of the pruner.
        n_trials: Trials the study should hold when the search ends (a resumed study runs the remainder).
        timeout: Wall-clock limit in seconds for this run (None: no limit).
        seed: Seed of the sampler, the data split and every network's initialisation.
        device: Where networks train and are measured: "cpu", "cuda", "cuda:1", "mps".
        latency_batch_size: Batch size at which latency, memory and energy are profiled.
        profiling_method: "measured" (run on the device) or "proxy" (estimate latency without running).
        target_device: The saved device profile latency comes from (``"pixel2"``; see
            `nas_workbench.profiling.fit_device`), for a device the workbench cannot run on: latency in
            the objectives and the budget is then predicted for it, labelled ``predicted``, not measured
            here. None: this machine.
        budget_confidence: With a ``target_device`` and a latency budget: how sure its profile must be
            that an architecture's latency is within the budget for it to count as within (the budget
            judges the prediction times the profile's leave-one-out ratio at this quantile, a conformal
            upper bound; see `nas_workbench.profiling.device_budget`). 0 (the default): the prediction
            alone; every trial's latency still says how sure the profile is that it is within.
        threads: Torch CPU threads for training and measurement. 1 by default: one thread's latency is
            timed on its own CPU time, which other processes cannot move, and a notebook's small networks
            gain little from more; on threads that outnumber the idle cores (a browser, another kernel)
            every operator waits for the slowest thread (a default search in JupyterLab on 2 busy cores
            took 60-80 s a trial on torch's 2 threads, 10 s on 1). None: torch's setting (every core).
        profile_metrics: Hardware metrics recorded for every trial besides the objectives and the budget's;
            None records params, FLOPs, MACs, latency and peak memory.
        initial_architectures: Architectures to try first, in the space's notation (prior knowledge).
        fixed_choices: Decisions fixed to a value for the whole search (``{"stage1.depth": 2}``).
        warm_start: Start from the best architectures of an earlier study (prior knowledge):
            ``{"study_name": "chain-tpe-seed0", "storage": ..., "top_k": 5}``. Its ``top_k`` best distinct
            architectures of this space (default 5; ranked by its own objectives, feasible trials only) are
            tried first, after ``initial_architectures``, and evaluated again under this search's settings;
            ``storage`` defaults to this search's. Applied when the study is created; empty: none.
        storage: Optuna storage URL; None puts a SQLite file in ``runs/``.
        study_name: Name of the study; reuse it with the same storage to resume. None: derived from
            space, strategy and seed.
        trial_timeout: Seconds one trial's training or user ``evaluate`` may run: at the deadline the trial
            is recorded as failed and the search goes on, even when the work hangs (it is abandoned in a
            background thread; training stops at its next epoch; `nas_workbench.engine.deadline`).
        retries: How many times a trial whose process died (killed, crashed, cut off from the storage)
            is re-run with the same architecture; 0 records it as failed. A retry replaces the dead
            attempt in the count of ``n_trials``.
        heartbeat_interval: Seconds between a running trial's heartbeats; a trial silent for four
            intervals belongs to a dead process and is failed (then retried) by any process of the study.
        repeats: Train an architecture the study already holds when the sampler proposes it again (to
            measure noise). False: the repeat reuses the stored result, with no profiling or training
            (`nas_workbench.engine.repeats`).
    """

    space: str = field(default="chain", metadata=_shown("Search space", "space"))
    space_options: dict[str, Any] = field(
        default_factory=dict, metadata=_shown("Search space", "space options")
    )
    strategy: str = field(default=AUTO_STRATEGY, metadata=_shown("Strategy", "strategy"))
    strategy_options: dict[str, Any] = field(
        default_factory=dict, metadata=_shown("Strategy", "strategy options")
    )
    objectives: list[str] = field(
        default_factory=lambda: ["accuracy", "latency_ms"],
        metadata=_shown("Objectives & budget", "objectives"),
    )
    budget: dict[str, float | str] = field(
        default_factory=dict, metadata=_shown("Objectives & budget", "budget")
    )
    fidelity: Fidelity = field(default_factory=Fidelity, metadata=_shown("Data & training", "fidelity"))
    pruner: str = field(
        default="none",
        metadata=_shown("Strategy", "pruner", "early stopping of trials on their per-epoch accuracy"),
    )
    pruner_options: dict[str, Any] = field(
        default_factory=dict, metadata=_shown("Strategy", "pruner options")
    )
    n_trials: int = field(default=30, metadata=_shown("Run", "trials"))
    timeout: float | None = field(
        default=None, metadata=_shown("Run", "timeout (s)", "wall-clock limit of a run; 0: none")
    )
    seed: int = field(default=0, metadata=_shown("Data & training", "seed"))
    device: str = field(
        default="cpu",
        metadata=_shown("Objectives & budget", "device", "where networks train and are measured"),
    )
    latency_batch_size: int = field(default=1, metadata=_shown("Objectives & budget", "latency batch size"))
    profiling_method: ProfilingMethod = field(
        default="measured", metadata=_shown("Objectives & budget", "profiling")
    )
    target_device: str | None = field(
        default=None,
        metadata=_shown("Objectives & budget", "latency for", "a device profile, or this machine"),
    )
    budget_confidence: float = field(
        default=BUDGET_CONFIDENCE,
        metadata=_shown(
            "Objectives & budget",
            "budget confidence",
            "with a target device: how sure within budget must be (0: the prediction alone)",
        ),
    )
    threads: int | None = field(
        default=1, metadata=_shown("Objectives & budget", "CPU threads", "0: torch's default")
    )
    profile_metrics: list[str] | None = field(
        default=None, metadata=_shown("Objectives & budget", "metrics recorded")
    )
    initial_architectures: list[str] = field(
        default_factory=list,
        metadata=_shown("Search space", "initial architectures", "one per line, in the space's notation"),
    )
    fixed_choices: dict[str, Any] = field(
        default_factory=dict,
        metadata=_shown("Search space", "fixed choices", "decisions fixed for the whole search"),
    )
    warm_start: dict[str, Any] = field(
        default_factory=dict,
        metadata=_shown(
            "Search space", "warm start", "an earlier study's best first: study_name, storage, top_k"
        ),
    )
    storage: str | None = field(default=None, metadata=_shown("Run", "storage"))
    study_name: str | None = field(default=None, metadata=_shown("Run", "study name"))
    trial_timeout: float | None = field(
        default=None,
        metadata=_shown("Run", "trial timeout (s)", "training or evaluate limit per trial; 0: none"),
    )
    retries: int = field(
        default=1, metadata=_shown("Run", "retries", "re-runs of a trial whose process died")
    )
    heartbeat_interval: float = field(
        default=5.0, metadata=_shown("Run", "heartbeat (s)", "a trial silent for 4 of these is dead")
    )
    repeats: bool = field(
        default=False, metadata=_shown("Run", "repeats", "train a repeated architecture again")
    )

    #: Not a setting: data is a run argument (``nw.search(config, data=...)``); given here, it is refused
    #: with a message saying so, and never kept (a config stays plain, JSON-able settings).
    dataset: InitVar[Any] = None

    def __post_init__(self, dataset: Any) -> None:
        if dataset is not None:
            raise data_is_a_run_argument(dataset)
        if isinstance(self.fidelity, Mapping):  # SearchConfig(fidelity={"epochs": 2}), as a file gives it
            unknown = _unknown_keys(Fidelity, self.fidelity, "fidelity.")
            if unknown:
                raise ConfigErrors(unknown)
            self.fidelity = Fidelity(**self.fidelity)

    # -- construction ----------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchConfig:
        """Build and validate a config from plain data (as read from YAML/JSON).

        Unknown keys and bad values are all reported together (`ConfigErrors` when there are several).
        """
        if not isinstance(data, Mapping):
            raise ConfigError("config", data, "a mapping of settings (field: value)")
        unknown = [data_is_a_run_argument(data["dataset"])] if "dataset" in data else []
        unknown += _unknown_keys(cls, {k: v for k, v in data.items() if k != "dataset"}, "")
        values = {k: v for k, v in data.items() if isinstance(k, str) and k not in {e.field for e in unknown}}
        if isinstance(values.get("fidelity"), Mapping):
            unknown += _unknown_keys(Fidelity, values["fidelity"], "fidelity.")
            known = {f.name for f in fields(Fidelity)}
            values["fidelity"] = Fidelity(**{k: v for k, v in values["fidelity"].items() if k in known})
        config = cls(**values)
        collect_errors(config.validate, found=unknown)
        return config

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> SearchConfig:
        """Read and validate a YAML (.yaml/.yml) or JSON config file (see `read_config_file`)."""
        from nas_workbench.config_file import read_config_file

        return cls.from_dict(read_config_file(Path(path)))

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able settings."""
        return asdict(self)

    def replace(self, **changes: Any) -> SearchConfig:
        """A copy with ``changes`` applied (validated)."""
        return replace(self, **changes).validate()

    # -- derived ---------------------------------------------------------------------------------------
    @property
    def directions(self) -> list[Direction]:
        """Optuna study directions, one per objective."""
        return [OBJECTIVE_METRICS[name] for name in self.objectives]

    def limits(self) -> dict[str, float]:
        """The budget in each metric's unit, once its relative limits are resolved
        (`nas_workbench.engine.preflight.absolute`); a limit still relative is a `ConfigError`."""
        relative = {metric: limit for metric, limit in self.budget.items() if isinstance(limit, str)}
        if relative:
            metric, limit = next(iter(relative.items()))
            raise ConfigError(f"budget.{metric}", limit, "a limit resolved on this machine first")
        return {metric: float(limit) for metric, limit in self.budget.items()}

    def resolved_storage(self) -> str:
        """The storage URL, the default SQLite file when none was given."""
        return self.storage or default_storage()

    def resolved_study_name(self) -> str:
        """The study name, derived from space, strategy and seed when none was given."""
        return self.study_name or f"{self.space}-{self.strategy}-seed{self.seed}"

    def resolved_warm_start(self) -> dict[str, Any] | None:
        """The warm start with its defaults filled in (``storage``: this search's, ``top_k``: 5), or None."""
        if not self.warm_start:
            return None
        return {
            "study_name": self.warm_start["study_name"],
            "storage": self.warm_start.get("storage") or self.resolved_storage(),
            "top_k": self.warm_start.get("top_k", WARM_START_TOP_K),
        }

    # -- validation ------------------------------------------------------------------------------------
    def validate(self) -> SearchConfig:
        """Check every field; return self, or raise `ConfigError` naming the bad field (`ConfigErrors`
        listing every bad field when there are several)."""
        validate_config(self)
        return self
