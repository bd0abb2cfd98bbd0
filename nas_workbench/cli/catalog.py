"""The commands that describe what the workbench offers: ``spaces``, ``strategies`` and ``advise``."""

from __future__ import annotations

import argparse
import inspect
from typing import cast

from nas_workbench.cli._arguments import read_run_config, search_data, with_options

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
    """``nas-workbench advise [CONFIG] [--data FILE] [--budget ...]``: the strategy recommended, with a
    reason, for the search ``run`` would run with the same arguments; the data does not change the advice,
    but is read and checked as ``run`` reads it, so that a fault of the file shows before a search."""
    from nas_workbench import spaces
    from nas_workbench.strategies.advisor import advise

    config, from_file = read_run_config(args.config)
    config = with_options(config, args.trials, args.budget, args.space, target_device=args.target_device)
    search_data(args.data, args.label, from_file)  # read as run reads it: a fault shows before the run
    space = spaces.get(config.space, **config.space_options)
    limits = cast("dict[str, float]", config.budget)  # the advice reads which metrics are limited, not how
    print(advise(space, config.objectives, limits, config.n_trials, config.timeout, config.target_device))
    return 0
