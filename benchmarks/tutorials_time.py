"""How long each tutorial takes (at full size, or in CI's fast setting): wall time, load and CPU time.

The tutorials promise at most 5 minutes each with one of two cores busy. On a shared machine the wall time
mostly measures the other jobs (a notebook's kernel gets 2/load of the cores), so this also reports the CPU
seconds the notebook used: its kernel's, and its child processes' (07's workers, the Chromium that renders
the plots' static images). With one core busy, a notebook gets the other one, so its wall time there is
about its CPU seconds (for 07, whose two workers share that core, too). The kernel reads them itself, in a
cell appended for the measurement only; the stored notebook is not changed.

    python benchmarks/tutorials_time.py                 # all eight
    python benchmarks/tutorials_time.py 05 08 --json tutorials_time.json
    python benchmarks/tutorials_time.py 03 04 --fast    # CI's fast setting (NAS_WORKBENCH_TUTORIAL_FAST=1)
    python benchmarks/tutorials_time.py --busy          # the promise's setting: one core kept busy
    python benchmarks/tutorials_time.py --shared-cache  # under the machine's shared lock, as a learner

Each notebook runs with a profiling cache folder of its own (``NAS_WORKBENCH_CACHE``, as the test suite
does), so its measurements wait for its own training only, as on a machine of its own with one core busy.
On a shared machine, the default cache's measurement lock is held by every other search and benchmark
that runs there, and a notebook that measures latency (01, and 07 before it took its own folder) waited
minutes for it; ``--shared-cache`` keeps the caller's cache folder to measure that wait.

The promise's setting is a machine of its own with one core busy. On a shared one, note that Linux with
autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled`` = 1, the default of most distributions)
shares the CPU between *sessions* first and orders by nice value only within a session: other users'
``nice -n 15`` jobs still take a full share each, and the wall time follows the load average.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import _report  # this folder is on the path when run as a script
import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent / "profiling"))
from _busy import busy_core  # a sibling folder of scripts, not a package

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: Appended to the executed copy: the kernel's CPU seconds, its live children's and its waited-for ones'.
PROBE = """\
import json as _json, psutil as _psutil, resource as _resource
_me = _psutil.Process()
_live = sum(sum(p.cpu_times()[:2]) for p in _me.children(recursive=True) if p.is_running())
_ended = _resource.getrusage(_resource.RUSAGE_CHILDREN)
_children = _live + _ended.ru_utime + _ended.ru_stime
print(_json.dumps({"kernel_cpu_s": sum(_me.cpu_times()[:2]), "children_cpu_s": _children}))
"""


def load() -> float:
    """The 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def time_notebook(
    path: Path, timeout: int, keep: Path | None = None, own_cache: bool = True
) -> dict[str, object]:
    """Execute ``path`` (at the size the environment sets) in a scratch folder and return its timings (and
    its error, if any); ``keep``: a folder to write the executed copy to (its outputs, tracebacks too);
    ``own_cache``: the kernel's profiling cache (and measurement lock) in the scratch folder."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    load_start, started = load(), time.perf_counter()
    error = None
    with tempfile.TemporaryDirectory() as folder:
        if own_cache:  # the kernel inherits this process's environment
            os.environ["NAS_WORKBENCH_CACHE"] = str(Path(folder) / "cache")
        client = NotebookClient(notebook, timeout=timeout, resources={"metadata": {"path": folder}})
        try:
            client.execute()
        except Exception as exc:  # a failing cell is a result to report, not a crash of the benchmark
            error = f"{type(exc).__name__}: {str(exc)[-300:]}"
    wall = time.perf_counter() - started
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, keep / path.name)
    probe = next(
        (json.loads(o["text"]) for o in notebook.cells[-1].get("outputs", []) if o.get("name") == "stdout"),
        {"kernel_cpu_s": None, "children_cpu_s": None},
    )
    return {"notebook": path.name, "wall_s": wall, "load_start": load_start, "load_end": load(), **probe,
            "error": error}  # fmt: skip


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("numbers", nargs="*", help="tutorial numbers, e.g. 05 08 (default: all)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    parser.add_argument("--fast", action="store_true", help="the fast setting of CI, not the full size")
    parser.add_argument("--busy", action="store_true", help="keep one core busy (another process)")
    parser.add_argument("--keep", type=Path, help="write the executed notebooks to this folder")
    parser.add_argument(
        "--shared-cache", action="store_true", help="keep the caller's profiling cache and measurement lock"
    )
    args = parser.parse_args()
    # stopped by a signal, still stop the busy process (the `finally` of `busy_core`)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.fast:
        os.environ["NAS_WORKBENCH_TUTORIAL_FAST"] = "1"
    else:
        os.environ.pop("NAS_WORKBENCH_TUTORIAL_FAST", None)
    paths = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if not args.numbers or p.name[:2] in args.numbers)
    print(f"{'notebook':<34} {'wall s':>7} {'load':>13} {'kernel CPU s':>12} {'children CPU s':>14}")
    results = []
    for path in paths:
        with busy_core(args.busy):
            r = time_notebook(path, args.timeout, args.keep, own_cache=not args.shared_cache)
        results.append({**r, "busy_core": args.busy, "own_cache": not args.shared_cache})
        cpu = [f"{v:.0f}" if isinstance(v, float) else "?" for v in (r["kernel_cpu_s"], r["children_cpu_s"])]
        print(
            f"{path.name:<34} {r['wall_s']:>7.0f} {r['load_start']:>5.1f} -> {r['load_end']:>4.1f} "
            f"{cpu[0]:>12} {cpu[1]:>14}" + (f"  FAILED {r['error']}" if r["error"] else "")
        )
    _report.write_json(args.json, results)
    return 1 if any(r["error"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
