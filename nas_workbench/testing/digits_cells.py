"""A tabular benchmark the workbench computes itself: every cell of a small cell space, trained on digits.

NAS-Bench-201's table makes a search's trials free, but it is third-party data and not shipped. This table
is the workbench's own, small enough to compute on a laptop and to ship (``digits_cells.csv`` beside this
module): all 125 cells of a 3-node cell space over NAS-Bench-201's five ops, in NAS-Bench-201's skeleton
(one cell per stage, 8 stem channels), each trained at a low fidelity (2 epochs on the digits training
split) with two fixed seeds, their validation and test accuracies averaged. A search on it chooses by
validation accuracy and reports its choice's test accuracy, NAS-Bench-201's protocol, so the tutorials'
statistical lessons (a space's size against a fixed budget, strategies against random search over many
seeds) run anywhere, in seconds.

Its sub-spaces are the same space with fewer ops (``space(ops)``): every cell of one is a row of the table.

Regenerate (writes the CSV, a header of comment lines stating how it was made)::

    nice -n 10 python -m nas_workbench.testing.digits_cells --jobs 2
"""

from __future__ import annotations

import argparse
import csv
import platform
import resource
import statistics
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from nas_workbench.config import Fidelity
from nas_workbench.estimation.trainer import train
from nas_workbench.spaces import enumerate_specs, get
from nas_workbench.spaces.cell import NB201_OPS, CellSpace
from nas_workbench.task import load_task
from nas_workbench.testing.nb201_tables import Accuracies

__all__ = ["FIDELITY", "SEEDS", "SPACE_OPTIONS", "TABLE", "read_table", "space"]

#: The space of the table: NAS-Bench-201's cell skeleton sized for 8x8 digits, a cell of 3 nodes (3 edges).
SPACE_OPTIONS: dict[str, Any] = {"num_nodes": 3, "num_cells": 1, "stem_channels": 8, "ops": list(NB201_OPS)}
#: The low fidelity every cell is trained at (about 2 CPU seconds a training).
FIDELITY = Fidelity(epochs=2, subset=1.0, batch_size=32)
#: Training seeds (weight initialisation and data order); the table holds their mean.
SEEDS = (0, 1)
#: The shipped table.
TABLE = Path(__file__).with_name("digits_cells.csv")
_DATA_SEED = 0  # the digits split: nw.load_task("digits", seed=0), as the tutorials use


def space(ops: Sequence[str] = NB201_OPS) -> CellSpace:
    """The table's space, or its sub-space over ``ops`` (a subset of NAS-Bench-201's five ops)."""
    built = get("cell", **{**SPACE_OPTIONS, "ops": list(ops)})
    assert isinstance(built, CellSpace)
    return built


def read_table(path: Path = TABLE) -> Accuracies:
    """Each cell's validation and test accuracy in percent (the mean over `SEEDS`), by its NB201 string:
    the same shape as NAS-Bench-201's table, for `nas_workbench.testing.nb201_tables.tabular_search`."""
    with path.open(newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {row["arch"]: (float(row["valid_acc"]), float(row["test_acc"])) for row in rows}


def _train_cell(arch: str) -> dict[str, Any]:
    """One row: ``arch`` trained once per seed at `FIDELITY`, accuracies in percent."""
    torch.set_num_threads(1)
    cells, task = space(), load_task("digits", seed=_DATA_SEED)
    valid, test = [], []
    for seed in SEEDS:
        torch.manual_seed(seed)
        model = cells.build(cells.parse(arch), task.input_shape, task.num_classes)
        result = train(model, task, FIDELITY, seed=seed)
        valid.append(100 * result.accuracy)
        test.append(100 * result.test_accuracy)
    params = sum(p.numel() for p in model.parameters())
    row: dict[str, Any] = {"arch": arch}
    row |= {"valid_acc": statistics.fmean(valid), "test_acc": statistics.fmean(test)}
    for seed, v, t in zip(SEEDS, valid, test, strict=True):
        row |= {f"valid_seed{seed}": v, f"test_seed{seed}": t}
    return row | {"params": params}


def _header(cpu_s: float, wall_s: float, jobs: int) -> Iterator[str]:
    task = load_task("digits", seed=_DATA_SEED)
    size = space().size()
    yield f"NAS Workbench's digits cell table: all {size} cells of the space below, trained on digits."
    yield f"space: cell {SPACE_OPTIONS}"
    yield f"fidelity: {FIDELITY}"
    seeds = ", ".join(map(str, SEEDS))
    yield f"seeds: {seeds} (weights and data order); *_acc columns: their mean, in percent"
    yield (
        f"data: scikit-learn digits, nw.load_task('digits', seed={_DATA_SEED}): {len(task.y_train)} train / "
        f"{len(task.y_valid)} valid / {len(task.y_test)} test images; params for 1x8x8 inputs, 10 classes"
    )
    yield "regenerate: nice -n 10 python -m nas_workbench.testing.digits_cells --jobs 2"
    yield (
        f"made {datetime.now(timezone.utc):%Y-%m-%d} with torch {torch.__version__} on {platform.machine()}, "
        f"one thread per training, {jobs} process(es): {cpu_s:.0f} CPU s, {wall_s:.0f} s wall"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="training processes (default 1)")
    parser.add_argument("--out", type=Path, default=TABLE, help=f"the CSV to write (default {TABLE.name})")
    args = parser.parse_args()
    archs = [space().format(spec) for spec in enumerate_specs(space())]
    started, cpu_started = time.perf_counter(), time.process_time()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = []
        for done, row in enumerate(pool.map(_train_cell, archs), 1):
            rows.append(row)
            accuracies = f"valid {row['valid_acc']:.2f} test {row['test_acc']:.2f}"
            print(f"{done:4}/{len(archs)} {row['arch']} {accuracies}")
    # the workers have exited and been waited for: their CPU time is this process's children's
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = children.ru_utime + children.ru_stime + time.process_time() - cpu_started
    with args.out.open("w", newline="") as f:
        f.writelines(f"# {line}\n" for line in _header(cpu_s, time.perf_counter() - started, args.jobs))
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{v:.4f}" if isinstance(v, float) else v for k, v in row.items()})
    print(f"wrote {args.out}: {len(rows)} cells, {cpu_s:.0f} CPU s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
