"""The commands that describe what the workbench offers: ``spaces``, ``strategies`` and ``advise``."""

from __future__ import annotations

import argparse
import inspect
from typing import cast

from nas_workbench.cli._arguments import read_run_config

__all__ = ["cmd_advise", "cmd_spaces", "cmd_strategies"]


def cmd_spaces(args: argparse.Namespace) -> int:
    """``nas-workbench spaces``: every registered search space with its size at its default options."""
    from nas_workbench import spaces

    for name in spaces.list():
        space = spaces.get(name)
        summary = (inspect.getdoc(type(space)) or "").split("\n\n")[0].replace("\n", " ").replace("``", "")
        print(f"{name}: {space.size():,} architectures at the default options. {summary}")
    return 0


def cmd_strategies(args: argparse.Namespace) -> int:
    """``nas-workbench strategies``: every search strategy with its options."""
    from nas_workbench import strategies

    print("\n\n".join(strategies.describe(name) for name in strategies.list()))
    return 0


def cmd_advise(args: argparse.Namespace) -> int:
    """``nas-workbench advise CONFIG``: the strategy recommended for a config's search, with a reason."""
    from nas_workbench import spaces
    from nas_workbench.strategies.advisor import advise

    config = read_run_config(args.config)[0]  # the data a run file names does not change the advice
    space = spaces.get(config.space, **config.space_options)
    limits = cast("dict[str, float]", config.budget)  # the advice reads which metrics are limited, not how
    print(advise(space, config.objectives, limits, config.n_trials, config.timeout, config.target_device))
    return 0
