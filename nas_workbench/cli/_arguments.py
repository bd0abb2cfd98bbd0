"""Checks of command-line values, made where the value is read so that a bad one stops the command before
it does any work: numbers in range (0 is never silently "unset"), shapes, output paths that can be written."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nas_workbench.exceptions import ConfigError

if TYPE_CHECKING:
    from nas_workbench.config import SearchConfig

__all__ = [
    "budget_option",
    "check_study_options",
    "check_writable",
    "integer_at_least",
    "parse_shape",
    "read_run_config",
    "search_data",
    "with_options",
]


def integer_at_least(low: int, high: int = 2**32 - 1) -> Callable[[str], int]:
    """An argparse ``type``: an integer in [low, high], refused by argparse (exit 2, one line) otherwise.

    The upper bound keeps a slip of the keyboard (a batch of 10**20) from allocating the machine away.
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not allowed; an integer >= {low} and <= {high}")
        return value

    parse.__name__ = f"integer in [{low}, {high}]"  # argparse names the type in its own messages
    return parse


#: The largest side or channel count of an input shape given on the command line.
MAX_SIDE = 4096


def parse_shape(text: str, option: str = "--input-shape") -> tuple[int, int, int]:
    """``"C,H,W"`` as three positive integers."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(option, text, "comma-separated positive integers such as 3,32,32") from None
    if len(shape) != 3 or min(shape) < 1 or max(shape) > MAX_SIDE:
        raise ConfigError(option, text, f"three integers C,H,W from 1 to {MAX_SIDE} such as 3,32,32")
    return shape[0], shape[1], shape[2]


def check_writable(option: str, path: Path | None) -> None:
    """Refuse an output path that cannot be written, before a search or a training spends time on it.

    Missing folders are fine when they can be created (the writer creates them).
    """
    if path is None:
        return
    if path.is_dir():
        raise ConfigError(option, str(path), "a file path (this is a folder)")
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:  # a real probe: permission bits do not tell for root, /proc or a read-only mount
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ConfigError(
            option, str(path), f"a file in a folder this user can write ({folder}: {error.strerror})"
        ) from None
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(option, str(path), "a file this user can write")


def check_study_options(storage: str | None, study: str) -> None:
    """``--storage`` (when given) and the study's name, both reported when both are wrong: a name with
    control characters would otherwise reach the database's own error."""
    from nas_workbench.config_validation import collect_errors, unless_none
    from nas_workbench.storage_checks import check_storage_url, check_study_name

    collect_errors(
        functools.partial(unless_none, check_storage_url, "--storage", storage),
        functools.partial(check_study_name, "study", study),
    )


def budget_option(texts: list[str] | None) -> dict[str, float | str]:
    """The limits ``--budget`` gives, each ``METRIC=LIMIT`` (``latency_ms=p40``, ``params=100000``) or a
    bare latency limit (``p40``, ``0.4``); the config's checks then judge the metrics and the limits."""
    from nas_workbench.relative_budget import budget_value

    budget: dict[str, float | str] = {}
    for text in texts or []:
        metric, _, limit = text.partition("=") if "=" in text else ("latency_ms", "", text)
        if not metric.strip() or not limit.strip():
            raise ConfigError("--budget", text, "METRIC=LIMIT such as latency_ms=p40 or params=100000, or a "
                              "latency limit alone (p40, 0.4)")  # fmt: skip
        budget[metric.strip()] = budget_value(limit)
    return budget


def read_run_config(path: Path | None) -> tuple[SearchConfig, Any]:
    """A config file's settings (every default without one) and the data its ``dataset:`` names (None
    when it names none): on the command line the file names the data too, while a `SearchConfig` itself
    holds settings only (data is a run argument)."""
    from nas_workbench.config import SearchConfig
    from nas_workbench.config_file import read_config_file

    if path is None:
        return SearchConfig(), None
    settings = read_config_file(path)
    dataset = settings.pop("dataset", None) if isinstance(settings, dict) else None
    return SearchConfig.from_dict(settings), dataset


def with_options(
    config: SearchConfig,
    trials: int | None,
    budget: list[str] | None,
    space: str | None = None,
    strategy: str | None = None,
    target_device: str | None = None,
) -> SearchConfig:
    """``config`` with the ``--trials``, ``--budget``, ``--space``, ``--strategy`` and ``--target-device``
    given (limits added to the config's own)."""
    if space is not None:
        config = config.replace(space=space)
    if strategy is not None:
        config = config.replace(strategy=strategy)
    if target_device is not None:
        config = config.replace(target_device=target_device)
    if trials is not None:  # 0 too: refused by the config's checks, never silently dropped
        config = config.replace(n_trials=trials)
    if budget:
        config = config.replace(budget={**config.budget, **budget_option(budget)})
    return config


def search_data(data: str | None, label: str | None, from_file: Any = None) -> Any:
    """The data a command searches, advises on, works on or exports with, the same for every command:
    ``--data`` (a data file with its ``--label``, a saved `Task`, ``module:function``; `DATA_OPTION`), else
    what the config file's ``dataset:`` names; None for scikit-learn's digits. Read here, so that bad data
    stops the command before any work; a data file is described on stderr (rows, features, classes)."""
    from nas_workbench.data_files import DataFile, read_data_settings
    from nas_workbench.engine.callables import load_dataset

    if label is not None and data in (None, "digits"):
        raise ConfigError("--label", label, "the label column of the CSV file --data names (it names none)")
    if data is not None:
        found = None if data == "digits" else load_dataset(data, label)
    else:
        found = None if from_file in (None, "digits") else read_data_settings(from_file)
    if isinstance(found, DataFile):
        print(f"Data {found.describe()}", file=sys.stderr)
    return found
