"""`SearchConfig`: every setting of a search, in one plain data class.

The widgets, the CLI (a YAML or JSON file) and Python code all produce a `SearchConfig`; nothing else
carries search settings. `validate()` checks every field and raises `ConfigError` naming the field, the
value and what is allowed, so a bad setting never reaches the engine.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from nas_workbench._registry import unknown_name_message
from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling._base import METRICS
from nas_workbench.relative_budget import GRAMMAR, RELATIVE_METRICS, parse_relative_budget

__all__ = ["DEFAULT_RUNS_DIR", "OBJECTIVE_METRICS", "Fidelity", "SearchConfig", "default_storage"]

#: Storage URL schemes the engine opens (SQLAlchemy driver names).
_STORAGE_DRIVERS = (
    "sqlite",
    "postgresql",
    "postgresql+psycopg2",
    "postgresql+psycopg",
    "mysql",
    "mysql+pymysql",
    "mysql+mysqldb",
)
T = TypeVar("T")

#: Optuna keeps study names in a VARCHAR(512) column.
_MAX_STUDY_NAME = 512

#: The settings of ``SearchConfig.warm_start``, and how many architectures it takes by default.
_WARM_START_KEYS = ("study_name", "storage", "top_k")
_WARM_START_TOP_K = 5

#: Where searches keep their SQLite storage, reports and logs unless told otherwise.
DEFAULT_RUNS_DIR = "runs"

#: Metrics a search can optimise, with their direction: accuracy and the hardware metrics.
OBJECTIVE_METRICS: Mapping[str, str] = {
    "accuracy": "maximize",
    **{k: v.direction for k, v in METRICS.items()},
}


def default_storage(runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> str:
    """The default Optuna storage: a SQLite file in the project-local runs folder."""
    return f"sqlite:///{Path(runs_dir) / 'nas_workbench.db'}"


def _check_number(name: str, value: Any, low: float, high: float = math.inf, integer: bool = False) -> None:
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or not (low <= value <= high) or value != value:
        upper = "" if high == math.inf else f" and <= {high}"
        raise ConfigError(name, value, f"{kind} >= {low}{upper}")


def _built(name: str, value: Any, build: Callable[[], T], allowed: str = "valid options") -> T:
    """``build()``, turning a component's unexpected complaint about its options into a `ConfigError`."""
    try:
        return build()
    except ConfigError:
        raise
    except Exception as error:
        raise ConfigError(name, value, f"{allowed} ({type(error).__name__}: {error})") from None


class _Recorder:
    """A suggester that answers fixed decisions as fixed, others with choice ``pick``, and records each
    question's choices in ``questions``."""

    def __init__(self, fixed: Mapping[str, Any], pick: int, questions: dict[str, tuple[Any, ...]]) -> None:
        self.fixed, self.pick, self.questions = fixed, pick, questions

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        options = tuple(choices)
        self.questions[name] = options
        value = self.fixed.get(name)
        return value if value in options else options[self.pick]


def _from_mapping(cls: type, data: Mapping[str, Any], prefix: str) -> Any:
    """Build dataclass ``cls`` from ``data``, rejecting unknown keys with a suggestion."""
    if not isinstance(data, Mapping):
        raise ConfigError(prefix.rstrip(".") or "config", data, "a mapping of settings")
    names = [f.name for f in fields(cls)]
    for key in data:
        if not isinstance(key, str) or key not in names:
            raise ConfigError(f"{prefix}{key}", data[key], unknown_name_message("setting", key, names))
    return cls(**data)


@dataclass
class Fidelity:
    """How much training each candidate gets: the low-fidelity knobs of performance estimation.

    Attributes:
        epochs: Training epochs per trial.
        subset: Fraction of the training split used (stratification is not kept; 1.0 = all).
        batch_size: Training mini-batch size.
        learning_rate: Peak learning rate of AdamW, annealed by a cosine schedule.
        weight_decay: AdamW weight decay.
        width_multiplier: Scales every channel count of the built network (< 1 trains faster).
        resolution: Resize inputs to this square side (None keeps the data's own).
    """

    epochs: int = 8
    subset: float = 1.0
    batch_size: int = 64
    learning_rate: float = 0.01
    weight_decay: float = 1e-4
    width_multiplier: float = 1.0
    resolution: int | None = None

    def validate(self) -> None:
        """Raise `ConfigError` for an out-of-range knob."""
        _check_number("fidelity.epochs", self.epochs, 1, 10_000, integer=True)
        _check_number("fidelity.subset", self.subset, 1e-6, 1.0)
        _check_number("fidelity.batch_size", self.batch_size, 1, 1_000_000, integer=True)
        _check_number("fidelity.learning_rate", self.learning_rate, 1e-12, 10.0)
        _check_number("fidelity.weight_decay", self.weight_decay, 0.0, 1.0)
        _check_number("fidelity.width_multiplier", self.width_multiplier, 0.01, 16.0)
        if self.resolution is not None:
            _check_number("fidelity.resolution", self.resolution, 1, 4096, integer=True)


@dataclass
class SearchConfig:
    """Everything a search needs. Defaults give a quick accuracy-vs-latency search on digits.

    Attributes:
        space: Registered search space name (see `nas_workbench.spaces.list()`).
        space_options: Options of the space (e.g. ``{"num_cells": 3}`` for "nb201").
        strategy: Registered strategy name (see `nas_workbench.strategies.list()`).
        strategy_options: Options of the strategy (e.g. ``{"population_size": 20}`` for "evolution").
        objectives: Metrics to optimise; accuracy is maximised, hardware metrics minimised.
        budget: Upper limits per hardware metric, in the metric's unit (``{"latency_ms": 1.0}``); latency
            and peak memory also take a limit relative to this device, resolved when the study is created
            and stored with it: ``"p30"``, ``"1.5x fastest"``, ``"2x <arch>"``
            (see `nas_workbench.relative_budget`).
        dataset: "digits" (default), or data from Python: ``(x, y)`` arrays, a torch Dataset/DataLoader,
            a `Task`. Only the name "digits" can come from a config file.
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
        threads: Torch CPU threads for training and measurement (None: torch's default).
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
        trial_timeout: Seconds one trial may train before it is stopped and recorded as failed (training
            stops at the next epoch; a user ``evaluate`` that runs longer is recorded as failed).
        retries: How many times a trial whose process died (killed, crashed, cut off from the storage)
            is re-run with the same architecture; 0 records it as failed. A retry replaces the dead
            attempt in the count of ``n_trials``.
        heartbeat_interval: Seconds between a running trial's heartbeats; a trial silent for four
            intervals belongs to a dead process and is failed (then retried) by any process of the study.
        repeats: Train an architecture the study already holds when the sampler proposes it again (to
            measure noise). False: the repeat reuses the stored result, with no profiling or training
            (`nas_workbench.engine.repeats`).
    """

    space: str = "chain"
    space_options: dict[str, Any] = field(default_factory=dict)
    strategy: str = "tpe"
    strategy_options: dict[str, Any] = field(default_factory=dict)
    objectives: list[str] = field(default_factory=lambda: ["accuracy", "latency_ms"])
    budget: dict[str, float | str] = field(default_factory=dict)
    dataset: Any = "digits"
    fidelity: Fidelity = field(default_factory=Fidelity)
    pruner: str = "none"
    pruner_options: dict[str, Any] = field(default_factory=dict)
    n_trials: int = 30
    timeout: float | None = None
    seed: int = 0
    device: str = "cpu"
    latency_batch_size: int = 1
    profiling_method: str = "measured"
    target_device: str | None = None
    threads: int | None = None
    profile_metrics: list[str] | None = None
    initial_architectures: list[str] = field(default_factory=list)
    fixed_choices: dict[str, Any] = field(default_factory=dict)
    warm_start: dict[str, Any] = field(default_factory=dict)
    storage: str | None = None
    study_name: str | None = None
    trial_timeout: float | None = None
    retries: int = 1
    heartbeat_interval: float = 5.0
    repeats: bool = False

    # -- construction ----------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchConfig:
        """Build and validate a config from plain data (as read from YAML/JSON); unknown keys are errors."""
        values = dict(data) if isinstance(data, Mapping) else data
        if isinstance(values, dict) and isinstance(values.get("fidelity"), Mapping):
            values["fidelity"] = _from_mapping(Fidelity, values["fidelity"], "fidelity.")
        config: SearchConfig = _from_mapping(cls, values, "")
        if not isinstance(config.dataset, str):  # data comes from Python, never from a file
            raise ConfigError(
                "dataset", config.dataset, "'digits' (other data can only be passed from Python)"
            )
        return config.validate()

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> SearchConfig:
        """Read a YAML (.yaml/.yml) or JSON config file."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as error:
            raise ConfigError(
                "config file", str(path), f"a readable YAML or JSON file ({error.strerror})"
            ) from None
        if path.suffix in {".yaml", ".yml"}:
            import yaml

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as error:
                raise ConfigError("config file", str(path), f"valid YAML ({error})") from None
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as error:
                raise ConfigError("config file", str(path), f"valid JSON ({error})") from None
        return cls.from_dict(data or {})

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able settings (a dataset given as data is recorded by its description)."""
        data = asdict(replace(self, dataset="digits"))
        data["dataset"] = (
            self.dataset if isinstance(self.dataset, str) else f"<{type(self.dataset).__name__}>"
        )
        return data

    def replace(self, **changes: Any) -> SearchConfig:
        """A copy with ``changes`` applied (validated)."""
        return replace(self, **changes).validate()

    # -- derived ---------------------------------------------------------------------------------------
    @property
    def directions(self) -> list[str]:
        """Optuna study directions, one per objective."""
        return [OBJECTIVE_METRICS[name] for name in self.objectives]

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
            "top_k": self.warm_start.get("top_k", _WARM_START_TOP_K),
        }

    # -- validation ------------------------------------------------------------------------------------
    def validate(self) -> SearchConfig:
        """Check every field; return self, or raise `ConfigError` naming the first bad field."""
        from nas_workbench import spaces, strategies

        for name in ("space", "strategy", "pruner", "device", "profiling_method"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(name, getattr(self, name), "a string")
        if self.space not in spaces.list():
            raise ConfigError(
                "space", self.space, unknown_name_message("search space", self.space, spaces.list())
            )
        if self.strategy not in strategies.list():
            raise ConfigError(
                "strategy", self.strategy, unknown_name_message("strategy", self.strategy, strategies.list())
            )
        mappings = (
            "space_options",
            "strategy_options",
            "budget",
            "pruner_options",
            "fixed_choices",
            "warm_start",
        )
        for name in mappings:
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
                raise ConfigError(name, value, "a mapping with string keys")
        self._validate_objectives()
        self._validate_budget()
        if not isinstance(self.fidelity, Fidelity):
            raise ConfigError("fidelity", self.fidelity, "a Fidelity or a mapping of its settings")
        self.fidelity.validate()
        pruners = ["none", "median", "successive_halving", "hyperband"]
        if self.pruner not in pruners:
            raise ConfigError("pruner", self.pruner, unknown_name_message("pruner", self.pruner, pruners))
        _check_number("n_trials", self.n_trials, 1, 10_000_000, integer=True)
        _check_number("retries", self.retries, 0, 100, integer=True)
        _check_number("heartbeat_interval", self.heartbeat_interval, 0.1, 3600.0)
        if not isinstance(self.repeats, bool):
            raise ConfigError("repeats", self.repeats, "true or false")
        if self.timeout is not None:
            _check_number("timeout", self.timeout, 1e-3)
        if self.trial_timeout is not None:
            _check_number("trial_timeout", self.trial_timeout, 1e-3)
        _check_number("seed", self.seed, 0, 2**32 - 1, integer=True)
        _check_number("latency_batch_size", self.latency_batch_size, 1, 65_536, integer=True)
        if self.threads is not None:
            _check_number("threads", self.threads, 1, 1024, integer=True)
        if self.profiling_method not in ("measured", "proxy"):
            raise ConfigError("profiling_method", self.profiling_method, "'measured' or 'proxy'")
        if self.profile_metrics is not None:
            if not isinstance(self.profile_metrics, list):
                raise ConfigError(
                    "profile_metrics", self.profile_metrics, f"a list of metrics from {list(METRICS)}"
                )
            for name in self.profile_metrics:
                if not isinstance(name, str) or name not in METRICS:
                    raise ConfigError(
                        "profile_metrics", name, unknown_name_message("metric", name, list(METRICS))
                    )
        self._validate_device()
        if not isinstance(self.initial_architectures, list) or not all(
            isinstance(a, str) for a in self.initial_architectures
        ):
            raise ConfigError("initial_architectures", self.initial_architectures, "a list of strings")
        if self.storage is not None:
            self._validate_storage("storage", self.storage)
        if self.study_name is not None and (
            not isinstance(self.study_name, str)
            or not self.study_name.strip()
            or len(self.study_name) > _MAX_STUDY_NAME
        ):
            raise ConfigError(
                "study_name", self.study_name, f"a non-empty string of at most {_MAX_STUDY_NAME} characters"
            )
        if isinstance(self.dataset, str) and self.dataset != "digits":
            raise ConfigError("dataset", self.dataset, "'digits', or data passed from Python")
        self._validate_warm_start()
        self._validate_components()
        return self

    def _validate_components(self) -> None:
        """Build the space, the pruner and the sampler once, so that their own checks of their options
        run now (an empty space, an unknown strategy option) rather than when the search starts."""
        from nas_workbench import spaces, strategies
        from nas_workbench.engine.pruning import make_pruner

        space = _built(
            "space_options", self.space_options, lambda: spaces.get(self.space, **self.space_options)
        )
        if space.size() < 1:
            raise ConfigError(
                "space_options", self.space_options, "options that leave at least one architecture"
            )
        for text in self.initial_architectures:
            _built(
                "initial_architectures",
                text,
                functools.partial(space.parse, text),
                "an architecture of the space",
            )
        self._validate_fixed_choices(space)
        for metric, limit in self.budget.items():
            reference = parse_relative_budget(metric, limit).reference if isinstance(limit, str) else None
            if reference is not None:
                _built(
                    f"budget.{metric}",
                    limit,
                    functools.partial(space.parse, reference),
                    f"a reference architecture of the space; {GRAMMAR}",
                )
        self._validate_target_device(space)
        _built("pruner_options", self.pruner_options, lambda: make_pruner(self.pruner, **self.pruner_options))
        _built(
            "strategy_options",
            self.strategy_options,
            lambda: strategies.make_sampler(
                self.strategy,
                seed=self.seed,
                space=space,
                directions=tuple(self.directions),
                **self.strategy_options,
            ),
        )

    def _validate_fixed_choices(self, space: Any) -> None:
        """Each fixed decision must be one the space asks, fixed to one of its choices. Decisions asked only
        in some architectures (a deeper stage's blocks) are found by walking the space twice: once taking
        every first choice, once every last."""
        questions: dict[str, tuple[Any, ...]] = {}
        for pick in (0, -1):
            space.define(_Recorder(self.fixed_choices, pick, questions))
        for name, value in self.fixed_choices.items():
            if name not in questions:
                raise ConfigError(
                    f"fixed_choices.{name}", value, unknown_name_message("decision", name, sorted(questions))
                )
            if value not in questions[name]:
                raise ConfigError(f"fixed_choices.{name}", value, f"one of {list(questions[name])}")

    def _validate_warm_start(self) -> None:
        """The warm start's form. Whether its study exists is checked when a search creates its own study,
        which opens the storage anyway (`nas_workbench.engine.warm_start`)."""
        from nas_workbench import strategies

        settings = self.warm_start
        if not settings:
            return
        for key, value in settings.items():
            if key not in _WARM_START_KEYS:
                raise ConfigError(
                    f"warm_start.{key}", value, unknown_name_message("setting", key, list(_WARM_START_KEYS))
                )
        name = settings.get("study_name")
        if not isinstance(name, str) or not name.strip() or len(name) > _MAX_STUDY_NAME:
            raise ConfigError(
                "warm_start.study_name", name, "the name of the earlier study (a non-empty string)"
            )
        if settings.get("storage") is not None:
            self._validate_storage("warm_start.storage", settings["storage"])
        _check_number("warm_start.top_k", settings.get("top_k", _WARM_START_TOP_K), 1, 100_000, integer=True)
        if strategies.get(self.strategy).relaxation:
            raise ConfigError(
                "warm_start",
                settings,
                f"no warm start with strategy {self.strategy!r}, which derives every architecture from its "
                "supernet; use a sampling strategy",
            )
        own = (self.resolved_storage(), self.resolved_study_name())
        if (settings.get("storage") or self.resolved_storage(), name) == own:
            raise ConfigError("warm_start.study_name", name, "an earlier study, not this search's own")

    def _validate_objectives(self) -> None:
        allowed = list(OBJECTIVE_METRICS)
        if not isinstance(self.objectives, list) or not self.objectives:
            raise ConfigError("objectives", self.objectives, f"a non-empty list of metrics from {allowed}")
        for name in self.objectives:
            if not isinstance(name, str) or name not in OBJECTIVE_METRICS:
                raise ConfigError("objectives", name, unknown_name_message("objective", name, allowed))
        if len(set(self.objectives)) != len(self.objectives):
            raise ConfigError("objectives", self.objectives, "each metric at most once")

    def _validate_budget(self) -> None:
        allowed = list(METRICS)
        for name, limit in self.budget.items():
            if name not in METRICS:
                raise ConfigError("budget", name, unknown_name_message("budget metric", name, allowed))
            if isinstance(limit, str):
                if name not in RELATIVE_METRICS:
                    raise ConfigError(
                        f"budget.{name}",
                        limit,
                        f"a number in {METRICS[name].unit} (counted metrics are the "
                        f"same on every machine; relative limits are for {', '.join(RELATIVE_METRICS)})",
                    )
                parse_relative_budget(f"budget.{name}", limit)
                continue
            _check_number(f"budget.{name}", limit, 0.0)
            if limit == 0:
                raise ConfigError(f"budget.{name}", limit, f"a positive limit in {METRICS[name].unit}")

    def _validate_device(self) -> None:
        """The device's form; whether this machine has it is checked where trials run (a study may be
        created on a machine without the GPU its workers use)."""
        device = self.device
        kind, _, index = device.partition(":")
        if (
            kind not in ("cpu", "cuda", "mps")
            or (index and not index.isdigit())
            or (kind != "cuda" and index)
        ):
            raise ConfigError("device", device, "'cpu', 'cuda', 'cuda:N' or 'mps'")

    def _validate_target_device(self, space: Any) -> None:
        """A saved device profile of this search's space and options (its name suggested when misspelt)."""
        from nas_workbench.profiling.targets import load_device
        from nas_workbench.spec import FrozenDict

        if self.target_device is None:
            return
        if not isinstance(self.target_device, str):
            raise ConfigError("target_device", self.target_device, "the name of a saved device profile")
        try:
            profile = load_device(self.target_device)
        except ConfigError as error:  # a malformed name is reported on this setting too
            raise ConfigError("target_device", self.target_device, error.allowed) from None
        if profile.space != space.name or FrozenDict(profile.space_options) != FrozenDict(space.options):
            raise ConfigError(
                "target_device",
                self.target_device,
                f"a profile fitted on this search's space {space.name!r} with options {space.options} "
                f"(it was fitted on {profile.space!r} with {profile.space_options})",
            )

    @staticmethod
    def _validate_storage(name: str, url: Any) -> None:
        """Raise `ConfigError` for setting ``name`` unless ``url`` is a storage URL the engine opens."""
        from sqlalchemy.engine import make_url

        example = "an Optuna storage URL such as 'sqlite:///runs/nas.db' or 'postgresql://user@host/db'"
        if not isinstance(url, str):
            raise ConfigError(name, url, example)
        try:
            parsed = make_url(url)
            port = parsed.port  # parsing the port is lazy: a malformed one raises here
        except Exception:
            raise ConfigError(name, url, example) from None
        shown = parsed.render_as_string(hide_password=True)  # errors end up in logs: no passwords
        if parsed.drivername not in _STORAGE_DRIVERS:
            raise ConfigError(name, shown, f"{example}; drivers: {', '.join(_STORAGE_DRIVERS)}")
        if parsed.get_backend_name() == "sqlite":
            if not parsed.database or parsed.database == ":memory:" or parsed.host:
                raise ConfigError(
                    name, shown, "a SQLite file shared by every process, 'sqlite:///path/to/file.db'"
                )
        elif not parsed.database or (port is not None and not 0 < port < 65536):
            raise ConfigError(name, shown, f"{example}, with a database name and a valid port")
