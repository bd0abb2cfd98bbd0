"""Checks of a `SearchConfig`: every bad setting reported at once, each naming its field, value and rule.

Independent checks all run and their errors are gathered into one `ConfigErrors`, so that a config file
with two mistakes is fixed in one pass. The checks that build the space, the pruner and the sampler
(`nas_workbench.config_components`) run only once the plain settings are sound. Each check is
robust to a wrongly typed field: the field's own check reports it, the others skip it.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from nas_workbench._registry import unknown_name_message
from nas_workbench.exceptions import ConfigError, ConfigErrors
from nas_workbench.metrics import METRICS
from nas_workbench.relative_budget import RELATIVE_METRICS, parse_relative_budget
from nas_workbench.storage_checks import check_storage_url, check_study_name

if TYPE_CHECKING:
    from nas_workbench.config import Fidelity, SearchConfig

__all__ = [
    "AUTO_STRATEGY",
    "check_number",
    "collect_errors",
    "data_is_a_run_argument",
    "unless_none",
    "validate_config",
    "validate_fidelity",
    "validate_setting",
]

#: The settings of ``SearchConfig.warm_start``, and how many architectures it takes by default.
WARM_START_KEYS = ("study_name", "storage", "top_k")
WARM_START_TOP_K = 5
#: The strategy name that stands for the advisor's recommendation (`SearchConfig.strategy`'s default).
AUTO_STRATEGY = "auto"

_PRUNERS = ("none", "median", "successive_halving", "hyperband")
_MAPPINGS = ("space_options", "strategy_options", "budget", "pruner_options", "fixed_choices", "warm_start")


class _Collector:
    """Runs checks, keeping each one's `ConfigError` instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    @contextlib.contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except ConfigError as error:
            self.errors.append(error)

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ConfigErrors(self.errors)


def collect_errors(*checks: Callable[[], object], found: Sequence[ConfigError] = ()) -> None:
    """Run every check; raise the one `ConfigError`, or a `ConfigErrors` holding all of them and the
    errors already ``found``."""
    collector = _Collector()
    collector.errors.extend(found)
    for check in checks:
        with collector.check():
            check()
    collector.raise_any()


def unless_none(check: Callable[[str, Any], None], name: str, value: Any) -> None:
    """``check(name, value)`` for a setting that is set; None stands for its default."""
    if value is not None:
        check(name, value)


def check_number(name: str, value: Any, low: float, high: float = math.inf, integer: bool = False) -> None:
    """Raise `ConfigError` for ``name`` unless ``value`` is a finite number (an integer) in [low, high]."""
    kind = "an integer" if integer else "a finite number"
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or not math.isfinite(value) or not low <= value <= high:
        upper = "" if high == math.inf else f" and <= {high}"
        raise ConfigError(name, value, f"{kind} >= {low}{upper}")


def validate_fidelity(fidelity: Fidelity) -> None:
    """Every out-of-range training knob of ``fidelity``, at once."""
    checks = [
        ("epochs", 1, 10_000, True),
        ("subset", 1e-6, 1.0, False),
        ("batch_size", 1, 1_000_000, True),
        ("learning_rate", 1e-12, 10.0, False),
        ("weight_decay", 0.0, 1.0, False),
        ("width_multiplier", 0.01, 16.0, False),
    ]
    if fidelity.resolution is not None:
        checks.append(("resolution", 1, 4096, True))
    collect_errors(
        *(
            functools.partial(check_number, f"fidelity.{name}", getattr(fidelity, name), low, high, integer)
            for name, low, high, integer in checks
        )
    )


def validate_config(config: SearchConfig) -> None:
    """Check every field of ``config``; raise `ConfigError` (one bad field) or `ConfigErrors` (several)."""
    from nas_workbench.config_components import validate_components

    collect_errors(*_plain_checks(config))
    validate_components(config)


#: Settings the built components check (the space and the sampler), and those only the pruner checks.
_COMPONENT_SETTINGS = frozenset(
    {
        "space",
        "space_options",
        "initial_architectures",
        "fixed_choices",
        "budget",
        "target_device",
        "strategy",
        "strategy_options",
        "seed",
        "objectives",
    }
)
_PRUNER_SETTINGS = frozenset({"pruner", "pruner_options"})


def validate_setting(config: SearchConfig, name: str) -> None:
    """Check the one setting ``name`` of ``config`` ("n_trials", "fidelity.epochs", "budget.latency_ms"),
    as a form does after each edit: its own checks, and the components it affects only (the pruner for
    the pruner's settings, the space and the sampler for theirs; nothing for a timeout or a study name),
    so a keystroke never builds what it cannot change. Raises the errors about ``name``; errors about
    other settings are left to their own edits (and to `validate_config` at Start)."""
    from nas_workbench.config_components import check_pruner, validate_components

    def about(error: ConfigError) -> bool:
        field = error.field
        return field == name or field.startswith(f"{name}.") or name.startswith(f"{field}.")

    def errors_of(*checks: Callable[[], object]) -> list[ConfigError]:
        collector = _Collector()
        for check in checks:
            with collector.check():
                check()
        return [e for error in collector.errors for e in getattr(error, "errors", [error])]

    errors = errors_of(*_plain_checks(config))
    root = name.split(".")[0]
    if not errors and root in _PRUNER_SETTINGS:
        errors = errors_of(functools.partial(check_pruner, config))
    elif not errors and root in _COMPONENT_SETTINGS:
        errors = errors_of(functools.partial(validate_components, config))
    collect_errors(found=[error for error in errors if about(error)])


def _plain_checks(config: SearchConfig) -> list[Callable[[], object]]:
    """The checks that need no component built, each independent of the others."""
    optional_numbers: list[tuple[str, float, float, bool]] = [
        ("timeout", 1e-3, math.inf, False),
        ("trial_timeout", 1e-3, math.inf, False),
        ("threads", 1, 1024, True),
    ]
    numbers: list[tuple[str, float, float, bool]] = [
        ("n_trials", 1, 10_000_000, True),
        ("retries", 0, 100, True),
        ("heartbeat_interval", 0.1, 3600.0, False),
        ("seed", 0, 2**32 - 1, True),
        ("latency_batch_size", 1, 65_536, True),
        ("budget_confidence", 0, 0.99, False),
        *(rule for rule in optional_numbers if getattr(config, rule[0]) is not None),
    ]
    return [
        functools.partial(_check_space, config),
        functools.partial(_check_registered, "strategy", config.strategy, "strategy"),
        functools.partial(_check_choice, "pruner", config.pruner, _PRUNERS, "pruner"),
        functools.partial(
            _check_choice, "profiling_method", config.profiling_method, ("measured", "proxy"), "method"
        ),
        *(functools.partial(_check_mapping, name, getattr(config, name)) for name in _MAPPINGS),
        functools.partial(_check_objectives, config.objectives),
        functools.partial(_check_budget, config.budget),
        functools.partial(_check_fidelity, config.fidelity),
        *(
            functools.partial(check_number, name, getattr(config, name), low, high, integer)
            for name, low, high, integer in numbers
        ),
        functools.partial(_check_profile_metrics, config.profile_metrics),
        functools.partial(_check_device, config.device),
        functools.partial(_check_initial_architectures, config.initial_architectures),
        functools.partial(unless_none, check_storage_url, "storage", config.storage),
        functools.partial(unless_none, check_study_name, "study_name", config.study_name),
        functools.partial(_check_warm_start, config),
        functools.partial(_check_flag, "repeats", config.repeats),
    ]


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(name, value, "true or false")


def _check_space(config: SearchConfig) -> None:
    """The space is registered; one named by where it lives (``"module:Class"``) is imported, and the field
    set to the name it registered under: the name its architectures carry and its study records (with
    where the class lives, for other processes: `nas_workbench.spaces.reference`)."""
    if isinstance(config.space, str) and ":" in config.space:
        from nas_workbench import spaces

        config.space = spaces.resolve(config.space).name
    _check_registered("space", config.space, "search space")


def _check_registered(name: str, value: Any, kind: str) -> None:
    from nas_workbench import spaces, strategies

    registry = spaces if name == "space" else strategies
    names = registry.list() if name == "space" else [AUTO_STRATEGY, *registry.list()]
    if not isinstance(value, str):
        raise ConfigError(name, value, f"the name of a {kind}, one of {names}")
    if value not in names:
        known = spaces.unknown_message(value) if name == "space" else unknown_name_message(kind, value, names)
        raise ConfigError(name, value, known)


def _check_choice(name: str, value: Any, allowed: tuple[str, ...], kind: str) -> None:
    if not isinstance(value, str) or value not in allowed:
        shown = value if isinstance(value, str) else repr(value)
        raise ConfigError(name, value, unknown_name_message(kind, shown, list(allowed)))


def _check_mapping(name: str, value: Any) -> None:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise ConfigError(name, value, "a mapping with string keys")


def _check_objectives(objectives: Any) -> None:
    from nas_workbench.config import OBJECTIVE_METRICS

    allowed = list(OBJECTIVE_METRICS)
    if not isinstance(objectives, list) or not objectives:
        raise ConfigError("objectives", objectives, f"a non-empty list of metrics from {allowed}")
    for name in objectives:
        if not isinstance(name, str) or name not in OBJECTIVE_METRICS:
            raise ConfigError("objectives", name, unknown_name_message("objective", str(name), allowed))
    if len(set(objectives)) != len(objectives):
        raise ConfigError("objectives", objectives, "each metric at most once")


def _check_budget(budget: Any) -> None:
    if not isinstance(budget, dict):
        return  # reported by the mapping check
    for name, limit in budget.items():
        if name not in METRICS:
            raise ConfigError("budget", name, unknown_name_message("budget metric", str(name), list(METRICS)))
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
        number = isinstance(limit, int | float) and not isinstance(limit, bool)
        if not number or not math.isfinite(limit) or limit <= 0:  # -1 was told ">= 0.0", then 0 "positive"
            raise ConfigError(f"budget.{name}", limit, f"a positive limit in {METRICS[name].unit}")


def _check_fidelity(fidelity: Any) -> None:
    from nas_workbench.config import Fidelity

    if not isinstance(fidelity, Fidelity):
        raise ConfigError("fidelity", fidelity, "a Fidelity or a mapping of its settings")
    validate_fidelity(fidelity)


def _check_profile_metrics(metrics: Any) -> None:
    if metrics is None:
        return
    if not isinstance(metrics, list):
        raise ConfigError("profile_metrics", metrics, f"a list of metrics from {list(METRICS)}")
    for name in metrics:
        if not isinstance(name, str) or name not in METRICS:
            raise ConfigError(
                "profile_metrics", name, unknown_name_message("metric", str(name), list(METRICS))
            )


def _check_device(device: Any) -> None:
    """The device's form; whether this machine has it is checked where trials run (its workers')."""
    kind, _, index = device.partition(":") if isinstance(device, str) else ("", "", "")
    if kind not in ("cpu", "cuda", "mps") or (index and not index.isdigit()) or (kind != "cuda" and index):
        raise ConfigError("device", device, "'cpu', 'cuda', 'cuda:N' or 'mps'")


def _check_initial_architectures(architectures: Any) -> None:
    if not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures):
        raise ConfigError("initial_architectures", architectures, "a list of strings")


def data_is_a_run_argument(dataset: Any) -> ConfigError:
    """The error for data given as a setting: data is a run argument, like ``evaluate``, so that a config
    stays plain settings and a study records its data by identity (name, shape, content hash)."""
    shown = dataset if isinstance(dataset, str) else f"<{type(dataset).__name__}>"
    return ConfigError(
        "dataset",
        shown,
        "no such setting: data is a run argument, scikit-learn's digits when none is given. Pass your "
        "data as nw.search(config, data=task) or nw.Workbench(config, data=task) (data='my.csv' reads a "
        "data file; a worker: --data); `nas-workbench run` reads a config file's dataset: itself",
    )


def _check_warm_start(config: SearchConfig) -> None:
    """The warm start's form. Whether its study exists is checked when a search creates its own study,
    which opens the storage anyway (`nas_workbench.engine.warm_start`)."""
    from nas_workbench import strategies

    settings = config.warm_start
    if not settings or not isinstance(settings, dict):
        return
    for key, value in settings.items():
        if key not in WARM_START_KEYS:
            raise ConfigError(
                f"warm_start.{key}", value, unknown_name_message("setting", str(key), list(WARM_START_KEYS))
            )
    name = settings.get("study_name")
    check_study_name("warm_start.study_name", name, "the name of the earlier study")
    if settings.get("storage") is not None:
        check_storage_url("warm_start.storage", settings["storage"])
    check_number("warm_start.top_k", settings.get("top_k", WARM_START_TOP_K), 1, 100_000, integer=True)
    if config.strategy in strategies.list() and strategies.get(config.strategy).relaxation:
        raise ConfigError(
            "warm_start",
            settings,
            f"no warm start with strategy {config.strategy!r}, which derives every architecture from its "
            "supernet; use a sampling strategy",
        )
    own = (config.resolved_storage(), config.resolved_study_name())
    if (settings.get("storage") or config.resolved_storage(), name) == own:
        raise ConfigError("warm_start.study_name", name, "an earlier study, not this search's own")
