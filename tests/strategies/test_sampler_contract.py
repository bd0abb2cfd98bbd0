"""Every registered sampling strategy keeps the sampler contract (nas_workbench.testing.samplers) on every
space. Gradient-based strategies (``relaxation=True``, "dnas") train a supernet and enqueue their
architectures themselves instead of sampling: tests/strategies/test_dnas*.py cover them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nas_workbench import strategies
from nas_workbench.testing.samplers import (
    RULES,
    SamplerContract,
    ToySpace,
    check_constraints,
    check_strategy,
    rule_id,
)

SAMPLING = [name for name in strategies.list() if not strategies.get(name).relaxation]


class TestEveryStrategy(SamplerContract):
    @pytest.fixture(params=[name for name in SAMPLING if name != "gp"])
    def strategy(self, request: pytest.FixtureRequest) -> str:
        return request.param


class TestGaussianProcess(SamplerContract):
    """GP fits cost about 0.1 s per trial and grow with the history: its longest check is marked slow."""

    @pytest.fixture
    def strategy(self) -> str:
        return "gp"

    @pytest.mark.parametrize(
        "rule",
        [pytest.param(rule, marks=pytest.mark.slow) if rule is check_constraints else rule for rule in RULES],
        ids=rule_id,
    )
    def test_rule(self, strategy: str, rule: Callable[[str], None]) -> None:
        super().test_rule(strategy, rule)


def test_check_strategy_runs_every_rule_outside_pytest_classes() -> None:
    check_strategy("random", {"toy": ToySpace()})
