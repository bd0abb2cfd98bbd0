"""What the contract suites share: a rule is a ``check_*`` function, and its test is named after it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["rule_id"]


def rule_id(rule: Callable[..., Any]) -> str:
    """A rule's name in test ids: ``"constraints"`` for ``check_constraints``, so a failure names the rule."""
    return rule.__name__.removeprefix("check_")
