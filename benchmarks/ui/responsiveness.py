"""Kernel responsiveness: how long a trivial cell takes to run while the workbench's search runs.

A real IPython kernel (jupyter_client) builds a workbench and presses Start on a search that trains
networks (digits, one epoch, one torch thread) for longer than the measurement. Meanwhile the client
runs ``1 + 1`` cells and times each round trip (execute request to reply). Baseline in the same run: the
same cells on the idle kernel before the search starts. (A search run in the cell itself, with
``run.run()``, would hold the kernel for the whole search: no cell could run.)

    python benchmarks/ui/responsiveness.py [--cells 40] [--json out.json]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

SETUP = """
import nas_workbench as nw
config = nw.SearchConfig(
    space="chain", strategy="random", objectives=["accuracy", "latency_ms"], n_trials=500, threads=1,
    fidelity=nw.Fidelity(epochs=1), storage="sqlite:///{storage}", study_name="responsiveness",
)
workbench = nw.Workbench(config)
"""


def _ignore(message: dict) -> None:
    """Drop the kernel's output (the cells' results, the search's log)."""


def round_trips(client, cells: int, pause: float) -> list[float]:
    """Seconds from sending ``1 + 1`` to its reply, ``cells`` times."""
    times = []
    for _ in range(cells):
        started = time.perf_counter()
        reply = client.execute_interactive("1 + 1", timeout=60, store_history=False, output_hook=_ignore)
        times.append(time.perf_counter() - started)
        assert reply["content"]["status"] == "ok", reply
        time.sleep(pause)
    return times


def summary(name: str, times: list[float]) -> dict[str, float | str]:
    ordered = sorted(times)
    return {
        "state": name,
        "cells": len(times),
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between two cells")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        manager, client = start_new_kernel(kernel_name="python3", extra_arguments=[], cwd=folder)
        try:
            setup = SETUP.format(storage=Path(folder) / "study.db")
            reply = client.execute_interactive(setup, timeout=120, output_hook=_ignore)
            assert reply["content"]["status"] == "ok", reply
            rows = [summary("idle kernel", round_trips(client, args.cells, args.pause))]
            client.execute_interactive("workbench.start()", timeout=60, output_hook=_ignore)
            time.sleep(3)  # the first trials are training
            rows.append(summary("search running", round_trips(client, args.cells, args.pause)))
            running = client.execute_interactive(
                "assert workbench.searching", timeout=60, output_hook=_ignore
            )
            assert running["content"]["status"] == "ok", "the search ended before the measurement did"
            client.execute_interactive("workbench.stop()", timeout=60, output_hook=_ignore)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    print(
        f"{'state':<16} {'cells':>5} {'median':>9} {'p95':>9} {'max':>9}   (python {sys.version.split()[0]})"
    )
    for row in rows:
        print(
            f"{row['state']:<16} {row['cells']:>5} {row['median_ms']:>6.1f} ms {row['p95_ms']:>6.1f} ms "
            f"{row['max_ms']:>6.1f} ms"
        )
    _report.write_json(args.json, rows)


if __name__ == "__main__":
    main()
