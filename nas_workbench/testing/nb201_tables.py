"""NAS-Bench-201's published results, read where a machine keeps them: the tutorials' tabular benchmark.

NAS-Bench-201 (Dong & Yang, ICLR 2020) trained all 15,625 cells of its space on CIFAR-10 for 200 epochs. Its
table makes a search's trials free (a query is a lookup), so a tutorial can run many seeds and show a
statistical effect in seconds. The table is not shipped with the workbench (it is third-party data): it is
read from a folder holding ``nb201.csv`` (columns ``arch``, ``c10_valid_val_200ep``, ``c10_test_200ep``),
named by ``$NAS_WORKBENCH_NB201`` or found as ``shared/data/nb201`` in a folder above the working directory
or this package; ``NAS_WORKBENCH_NB201=off`` ignores it (to run as on a machine without it, as CI is).
The workbench's own tabular benchmark, which ships, is `nas_workbench.testing.digits_cells`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna

from nas_workbench import strategies
from nas_workbench.spaces import SearchSpace

__all__ = ["SETTING", "Accuracies", "find_tables", "read_accuracies", "tabular_search"]

#: The environment variable naming the folder of the tables.
SETTING = "NAS_WORKBENCH_NB201"
_RELATIVE = Path("shared", "data", "nb201")
_TABLE = "nb201.csv"

#: NB201 string → (validation accuracy, test accuracy), CIFAR-10 after 200 epochs, in percent.
Accuracies = dict[str, tuple[float, float]]


def find_tables() -> Path | None:
    """The folder holding ``nb201.csv``: ``$NAS_WORKBENCH_NB201``, else the first ``shared/data/nb201``
    above the working directory or this package; None when there is none, or the setting is ``off``.

    Raises:
        FileNotFoundError: ``$NAS_WORKBENCH_NB201`` is set but names no folder with ``nb201.csv``.
    """
    given = os.environ.get(SETTING, "").strip()
    if given == "off":
        return None
    if given:
        folder = Path(given).expanduser()
        if not (folder / _TABLE).is_file():
            raise FileNotFoundError(f"{SETTING}={given!r}: no {_TABLE} there (a NAS-Bench-201 table folder)")
        return folder
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / _RELATIVE / _TABLE).is_file():
                return folder / _RELATIVE
    return None


def read_accuracies(folder: Path) -> Accuracies:
    """Each cell's CIFAR-10 validation and test accuracy: search on the first, report the second (the
    benchmark's protocol)."""
    with (folder / _TABLE).open(newline="") as f:
        return {
            row["arch"]: (float(row["c10_valid_val_200ep"]), float(row["c10_test_200ep"]))
            for row in csv.DictReader(f)
        }


def tabular_search(
    strategy: str,
    space: SearchSpace,
    accuracies: Accuracies,
    seed: int,
    queries: int,
    *,
    fixed_choices: Mapping[str, Any] | None = None,
    initial_architectures: Sequence[str] = (),
    **options: Any,
) -> list[float]:
    """Run ``strategy``'s sampler for ``queries`` trials on the table (a trial is a lookup of the
    validation accuracy) and return, after each trial, the test accuracy of the best-validation cell so
    far: what the search would report.

    ``space`` must format its architectures as NB201 strings (the "nb201" space, or a "cell" space of 4
    nodes over NB201's ops); ``options`` go to the sampler. Prior knowledge enters as in a search
    (`SearchConfig`): ``fixed_choices`` fixes decisions for every trial, ``initial_architectures`` (in the
    space's notation) are tried first.
    """
    sampler = strategies.make_sampler(
        strategy, seed=seed, space=space, directions=("maximize",), fixed_choices=fixed_choices, **options
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for text in initial_architectures:
        study.enqueue_trial(dict(space.parse(text).choices))
    best, curve = (float("-inf"), 0.0), []

    def objective(trial: optuna.Trial) -> float:
        nonlocal best
        valid, test = accuracies[space.format(space.sample(trial))]
        best = max(best, (valid, test))
        curve.append(best[1])
        return valid

    study.optimize(objective, n_trials=queries)
    return curve
