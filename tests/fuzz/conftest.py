"""Fuzzing of every front door (the Python API, YAML config files, the command line) with hypothesis.

Each fuzz test runs twice: a fast profile in the default suite and a long one under the ``slow`` marker.
The property is the same for both: user input ends in a result or in a `NasWorkbenchError` (on the
command line: one ``error:`` line per problem and exit status 2), never a traceback and never a hang
(each test carries a ``timeout`` mark: a hung call fails it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

#: Examples per fuzz test in each profile.
EXAMPLES = {"fast": 20, "slow": 300}


@pytest.fixture(params=[pytest.param("fast"), pytest.param("slow", marks=pytest.mark.slow)])
def fuzz(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``fuzz(test, scale=1.0)`` runs the hypothesis test ``test`` with this profile's number of examples
    (times ``scale``). A hang is caught by the test's ``pytest.mark.timeout``."""

    def run(test: Callable[..., Any], scale: float = 1.0) -> None:
        _settings(request.param, scale)(test)()

    return run


def _settings(profile: str, scale: float) -> settings:
    return settings(
        max_examples=max(3, int(EXAMPLES[profile] * scale)),
        deadline=None,
        database=None,  # every run explores afresh; a found failure is printed with its example
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
