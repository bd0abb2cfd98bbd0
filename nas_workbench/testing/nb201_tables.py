"""NAS-Bench-201's published results: the tutorials' tabular benchmark.

NAS-Bench-201 (Dong & Yang, ICLR 2020) trained all 15,625 cells of its space on CIFAR-10 for 200 epochs. Its
table makes a search's trials free (a query is a lookup), so a tutorial can run many seeds and show a
statistical effect in seconds. Only the columns ``arch``, ``c10_valid_val_200ep`` and ``c10_test_200ep`` are
read. The full table (``nb201.csv``) is read where a machine keeps it: the folder named by
``$NAS_WORKBENCH_NB201``, or ``shared/data/nb201`` in a folder above the working directory or this package.
Otherwise the extract a source checkout ships, ``notebooks/data/nb201_cifar10.csv.gz`` (those three columns of
every cell, MIT-licensed like the benchmark; its README names the source), so the tutorials' lessons run on a
clean clone too.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import optuna

from nas_workbench import strategies
from nas_workbench.spaces import SearchSpace

__all__ = ["EXTRACT", "SETTING", "Accuracies", "find_table", "read_accuracies", "tabular_search"]

#: The environment variable naming the folder of the full table.
SETTING = "NAS_WORKBENCH_NB201"
_FULL = Path("shared", "data", "nb201", "nb201.csv")
#: The extract shipped with the tutorials, relative to a checkout's root.
EXTRACT = Path("notebooks", "data", "nb201_cifar10.csv.gz")

#: NB201 string → (validation accuracy, test accuracy), CIFAR-10 after 200 epochs, in percent.
Accuracies = dict[str, tuple[float, float]]


def find_table(starts: Iterable[Path] | None = None) -> Path:
    """The file to read NAS-Bench-201's accuracies from: ``$NAS_WORKBENCH_NB201/nb201.csv``, else the first
    ``shared/data/nb201/nb201.csv`` in a folder above one of ``starts`` (by default the working directory
    and this package), else the first ``notebooks/data/nb201_cifar10.csv.gz`` there (the shipped extract).

    Raises:
        FileNotFoundError: ``$NAS_WORKBENCH_NB201`` is set but names no folder with ``nb201.csv``, or
            neither the full table nor the extract is found (a copy of the package outside its checkout).
    """
    given = os.environ.get(SETTING, "").strip()
    if given:
        table = Path(given).expanduser() / _FULL.name
        if not table.is_file():
            raise FileNotFoundError(
                f"{SETTING}={given!r}: no {_FULL.name} there (a NAS-Bench-201 table folder)"
            )
        return table
    folders = [
        folder
        for start in (starts or (Path.cwd(), Path(__file__).resolve()))
        for folder in (start, *start.parents)
    ]
    for relative in (_FULL, EXTRACT):
        for folder in folders:
            if (folder / relative).is_file():
                return folder / relative
    raise FileNotFoundError(
        f"no NAS-Bench-201 table: set {SETTING} to the folder of {_FULL.name}, or run from a checkout of the "
        f"workbench, which ships {EXTRACT.as_posix()}"
    )


def read_accuracies(table: Path) -> Accuracies:
    """Each cell's CIFAR-10 validation and test accuracy from ``table`` (a ``.csv`` file, or a ``.csv.gz``):
    search on the first, report the second (the benchmark's protocol)."""
    data = table.read_bytes()
    if table.suffix == ".gz":
        data = gzip.decompress(data)
    return {
        row["arch"]: (float(row["c10_valid_val_200ep"]), float(row["c10_test_200ep"]))
        for row in csv.DictReader(io.StringIO(data.decode()))
    }


def tabular_search(
    strategy: str, space: SearchSpace, accuracies: Accuracies, seed: int, queries: int, **options: Any
) -> list[float]:
    """Run ``strategy``'s sampler for ``queries`` trials on the table (a trial is a lookup of the
    validation accuracy) and return, after each trial, the test accuracy of the best-validation cell so
    far: what the search would report.

    ``space`` must format its architectures as NB201 strings (the "nb201" space, or a "cell" space of 4
    nodes over NB201's ops); ``options`` go to the sampler.
    """
    sampler = strategies.make_sampler(strategy, seed=seed, space=space, directions=("maximize",), **options)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    best, curve = (float("-inf"), 0.0), []

    def objective(trial: optuna.Trial) -> float:
        nonlocal best
        valid, test = accuracies[space.format(space.sample(trial))]
        best = max(best, (valid, test))
        curve.append(best[1])
        return valid

    study.optimize(objective, n_trials=queries)
    return curve
