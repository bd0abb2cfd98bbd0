"""The exception hierarchy: every error the library raises on purpose derives from `NasWorkbenchError`.

Callers (the CLI, the widgets) catch `NasWorkbenchError` to show a clear message instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "CompatibilityError",
    "ConfigError",
    "ConfigErrors",
    "InfeasibleBudgetError",
    "MissingDependencyError",
    "NasWorkbenchError",
    "ProfilingError",
    "SpaceError",
    "UnknownNameError",
]


class NasWorkbenchError(Exception):
    """Base class of every error raised on purpose by nas_workbench."""


class ConfigError(NasWorkbenchError, ValueError):
    """A configuration value is invalid. The message names the field, the value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: {value!r} is not allowed; {allowed}")


class ConfigErrors(ConfigError):
    """Several configuration values are invalid: every one is reported at once, one per line, so that a
    user fixes a config file in one pass. ``field``, ``value`` and ``allowed`` are the first error's."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = [e for error in errors for e in getattr(error, "errors", [error])]
        first = self.errors[0]
        self.field, self.value, self.allowed = first.field, first.value, first.allowed
        Exception.__init__(self, "\n".join(str(error) for error in self.errors))


class UnknownNameError(NasWorkbenchError, KeyError):
    """A registry was asked for a name it does not hold (a space, strategy, proxy, op...)."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class SpaceError(NasWorkbenchError, ValueError):
    """An architecture does not belong to its search space, or a space's options are invalid."""


class ProfilingError(NasWorkbenchError, RuntimeError):
    """A hardware measurement cannot be made (unknown or unavailable device, failed run)."""


class InfeasibleBudgetError(NasWorkbenchError, ValueError):
    """No architecture of the space can meet the budget; the message names the tightest achievable value."""


class MissingDependencyError(NasWorkbenchError, ImportError):
    """An optional dependency is missing; the message names the extra that installs it."""


class CompatibilityError(NasWorkbenchError, RuntimeError):
    """An installed library is outside the versions whose private API the workbench was checked on
    (`nas_workbench._compat`); the message names the library, its version and the range that works."""
