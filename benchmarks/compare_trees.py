"""Streaming and study reading, one checkout of the project against another (e.g. the redesign's parent).

Each tree's own code runs in fresh processes, one per tree, the trees in turn (ABC CBA ABC ...: ABBA for
two) over the repeats, so that the machine's load falls on all alike (`engine_overhead.py --trees` does the
same for the engine's trials). Every figure is given as the median over the repeats with its spread (the
lowest and highest), and each tree after the first as a ratio to the first: the ratio of the medians and
the range of the per-repeat ratios (repeat ``r`` of the tree against repeat ``r`` of the first, which ran
next to it). A tree named twice runs from two separate compiled copies: ``BEFORE BEFORE`` (or ``BEFORE
AFTER BEFORE``) measures the noise band of a ratio, an A/A' control, in the same run:

- ``stream``: the tree's own ``benchmarks/ui/stream.py`` path (events put from a thread, applied in batches
  on the loop), 1,000 events ``--rounds`` times (at least 3) in one process: the process's CPU from its
  start until the first batch is plotted (imports, the first workbench, the batch), split into the imports
  (the script's and ``nas_workbench.ui`` with what it loads) and the rest, the CPU of the second and third
  (each builds a new workbench, then streams), the mean of all rounds after the first, and the comm
  messages of each. A full garbage collection of the process's heap (about 0.15 s: torch is loaded) falls
  in every other round or so, in the second in one tree and the third in the other as their allocations
  differ: the mean over more rounds (``--rounds 9``) shares it out, where the second and third alone swing;
- ``read``: a 1,000-trial study (`load_study.make_study`'s, written once by this tree into a temporary
  folder) read by the tree's own readers, CPU best of 3 each: the bulk read, the `TrialResult`s, and the
  table with its plot sources.

Each tree's code runs from a copy compiled to bytecode, as an installed package is
(`_report.compiled_copy`; ``--source`` runs the checkouts themselves, which compile every module from
source in every process where ``PYTHONDONTWRITEBYTECODE`` is set).

    python benchmarks/compare_trees.py ../before . [../before] [--repeats 4] [--rounds 3] [--kinds stream]
        [--source] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _report  # this folder is on the path when run as a script

KINDS = ("stream", "read")


def stream_side(tree: Path, rounds: int = 3) -> dict[str, Any]:
    """``rounds`` (at least 3) times 1,000 events through ``tree``'s workbench, in this fresh process."""
    sys.path.insert(0, str(tree / "benchmarks" / "ui"))
    import stream  # the tree's own copy, on the tree's nas_workbench

    import nas_workbench.ui  # noqa: F401  (what the first workbench imports, apart from its own work)

    imported = time.process_time()
    events = stream.synthetic_events(1000)
    marks = []
    for _ in range(max(rounds, 3)):
        result = asyncio.run(stream.coalesced(events))
        marks.append((time.process_time(), result["messages"]))
    later = [b[0] - a[0] for a, b in itertools.pairwise(marks)]
    return {
        "first_cpu_s": marks[0][0],
        "first_imports_cpu_s": imported,
        "first_after_imports_cpu_s": marks[0][0] - imported,
        "second_cpu_s": marks[1][0] - marks[0][0],
        "third_cpu_s": marks[2][0] - marks[1][0],
        "later_mean_cpu_s": statistics.mean(later),
        "messages": [m for _, m in marks],
    }


def read_side(database: str) -> dict[str, Any]:
    """CPU of reading the study in ``database`` with this process's ``nas_workbench``, best of 3 each."""
    import optuna

    from nas_workbench.engine._bulk_read import read_trials
    from nas_workbench.engine.records import trial_results
    from nas_workbench.viz import TrialTable, make_sources

    def sources(study: optuna.Study) -> None:
        table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
        table.extend(trial_results(study))
        make_sources(table)

    def best_of_3(work: Callable[[optuna.Study], Any]) -> float:
        times = []
        for _ in range(3):
            study = optuna.load_study(study_name="big", storage=f"sqlite:///{database}")  # nothing cached
            started = time.process_time()
            work(study)
            times.append(time.process_time() - started)
        return min(times)

    return {
        "bulk_read_s": best_of_3(read_trials),
        "trial_results_s": best_of_3(trial_results),
        "table_and_sources_s": best_of_3(sources),
    }


def run_side(tree: str, kind: str, database: str, rounds: int) -> dict[str, Any]:
    """`stream_side` or `read_side` in a fresh process on ``tree``'s code, run in an empty folder: from
    the tree's own folder, a study its ``runs/`` holds under the default name (left by ``make demo``) is
    shown by each new workbench, and reading it was counted as streaming."""
    command = [sys.executable, str(Path(__file__).resolve()), "--side", kind, tree, database, str(rounds)]
    with tempfile.TemporaryDirectory(prefix="compare-trees-") as empty:
        out = subprocess.run(
            command,
            env={**os.environ, "PYTHONPATH": tree},
            cwd=empty,
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(out.stdout.splitlines()[-1])


def spread(values: list[float]) -> str:
    """``median [lowest-highest]`` of ``values``, to three decimals."""
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def table(runs: dict[str, list[list[dict[str, Any]]]], names: list[str]) -> list[str]:
    """The lines of the report: for each figure, each tree's median and spread, and each later tree's
    ratio to the first (of the medians, then the lowest and highest per-repeat ratio)."""
    lines = [
        "median [lowest-highest] over the repeats, CPU seconds; ratio to the first tree: of the medians "
        "[per-repeat range]"
    ]
    lines.append(
        f"{'':26}"
        + "".join(f"{name:>24}" for name in names)
        + "".join(f"{name + '/' + names[0]:>26}" for name in names[1:])
    )
    for per_tree in runs.values():
        for key in per_tree[0][0]:
            if not key.endswith("_s"):
                continue
            values = [[repeat[key] for repeat in tree] for tree in per_tree]
            ratios = [
                f"{statistics.median(v) / statistics.median(values[0]):.2f} "
                f"[{min(a / b for a, b in zip(v, values[0], strict=True)):.2f}-"
                f"{max(a / b for a, b in zip(v, values[0], strict=True)):.2f}]"
                for v in values[1:]
            ]
            lines.append(
                f"{key:26}"
                + "".join(f"{spread(v):>24}" for v in values)
                + "".join(f"{r:>26}" for r in ratios)
            )
    for name, tree in zip(names, runs.get("stream", []), strict=False):
        lines.append(f"messages per batch, {name}: {[r['messages'] for r in tree]}")
    return lines


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("trees", nargs="*", metavar="TREE", help="BEFORE AFTER [MORE ...]; a tree may repeat")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="streams of 1,000 events per process (>= 3)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="what to measure")
    parser.add_argument("--source", action="store_true", help="run the checkouts, not compiled copies")
    parser.add_argument("--side", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        kind, tree, database, rounds = args.side
        print(json.dumps(stream_side(Path(tree), int(rounds)) if kind == "stream" else read_side(database)))
        return
    if len(args.trees) < 2:
        parser.error("give two trees or more: BEFORE AFTER [MORE ...]")
    trees = [str(Path(tree).resolve()) for tree in args.trees]
    if args.source and len(set(trees)) < len(trees):
        parser.error("a tree named twice runs from two compiled copies: leave out --source")
    names = [
        f"{Path(tree).name}#{index}" if trees.count(tree) > 1 else Path(tree).name
        for index, tree in enumerate(trees)
    ]
    runs: dict[str, list[list[dict[str, Any]]]] = {kind: [[] for _ in trees] for kind in args.kinds}
    with tempfile.TemporaryDirectory() as folder:
        database = str(Path(folder) / "big.db")
        sys.path.insert(0, str(Path(__file__).resolve().parent / "ui"))
        from load_study import make_study

        if "read" in args.kinds:
            make_study(Path(database), 1000)
        code = [tree if args.source else _report.compiled_copy(tree, Path(folder)) for tree in trees]
        for kind in args.kinds:
            for repeat in range(args.repeats):
                order = range(len(trees)) if repeat % 2 == 0 else reversed(range(len(trees)))
                for index in order:
                    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
                    side = run_side(code[index], kind, database, args.rounds)
                    runs[kind][index].append({**side, "load": load})
    print("\n".join(table(runs, names)))
    summary = {
        "trees": trees,
        "names": names,
        "repeats": args.repeats,
        "rounds": args.rounds,
        "source": args.source,
        "runs": runs,
    }
    _report.write_json(args.json, summary)


if __name__ == "__main__":
    main()
