"""The ``nas-workbench`` command line: run searches from config files, profile, inspect studies.

One module per group of commands (`search`, `studies`, `catalog`, `hardware`), the parser in `_parser`.
Every command turns bad input into one line per bad setting naming it (exit status 2), never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

from nas_workbench.cli._parser import build_parser
from nas_workbench.exceptions import ConfigErrors, NasWorkbenchError

__all__ = ["DEMO_CONFIG", "format_pareto_table", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nas-workbench`` console script; returns the exit status."""
    started = time.monotonic()
    args = build_parser().parse_args(argv)
    args.started = started  # the demo counts its set-up against its time
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    import optuna

    # The progress bar says what Optuna's per-trial INFO lines would, without burying it.
    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.WARNING)
    if os.getcwd() not in sys.path:  # as `python -m` does: "module:name" options may name a module here
        sys.path.insert(0, os.getcwd())  # (--evaluate, --data, a config's space)
    module, _, name = args.function.partition(":")
    shown_before, warnings.showwarning = warnings.showwarning, _show_warning
    try:
        result: Any = getattr(importlib.import_module(module), name)(args)
    except ConfigErrors as errors:
        print("\n".join(f"error: {error}" for error in errors.errors), file=sys.stderr)
        return 2
    except NasWorkbenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = shown_before
    return int(result or 0)


def _show_warning(message: Warning | str, category: type[Warning], *_args: Any, **_kwargs: Any) -> None:
    """A Python warning as the command line's other messages read: ``warning: <message>``, not the file,
    line and source line of the code that raised it; above a progress bar drawn on stderr, not glued to its
    line ("...?trial/s]warning: target_device ...", seen from `run --target-device`)."""
    line = f"warning: {message}"
    tqdm = sys.modules.get("tqdm")  # loaded only when a bar may be drawn
    if tqdm is not None:
        tqdm.tqdm.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr)


def __getattr__(name: str) -> Any:
    """The demo's config and the Pareto table, importable from here without loading them for ``--help``."""
    if name == "DEMO_CONFIG":
        from nas_workbench.cli.search import DEMO_CONFIG

        return DEMO_CONFIG
    if name == "format_pareto_table":
        from nas_workbench.cli._output import format_pareto_table

        return format_pareto_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
