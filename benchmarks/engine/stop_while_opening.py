"""How soon Stop frees the CPU while a run still opens (resolving a relative limit by profiling networks).

The widget opens a run in a thread and passes `nw.search` a ``cancelled`` check that Stop turns True; the
opening asks it before each network it profiles and between the timed blocks of the network under way.
This opens a ``p60`` search of the demo's space on digits in a thread, as the widget does, on a new
profiling cache each time (so the limit is resolved, not reused), cancels it ``--after`` seconds into the
opening, and times how long the thread goes on: the stop's delay. With ``--busy`` one core is kept busy
in another process meanwhile.

    python benchmarks/engine/stop_while_opening.py [--repeats 5] [--after 5] [--busy] [--json out.json]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


def one_stop(after_s: float, folder: Path) -> dict[str, float | str]:
    """Open a p60 search in a thread, cancel it ``after_s`` seconds in; how long the thread went on."""
    import nas_workbench as nw
    from nas_workbench.engine.cancel import OpeningCancelled

    os.environ["NAS_WORKBENCH_CACHE"] = str(folder / "cache")
    storage = f"sqlite:///{folder / 'stop.db'}"
    config = nw.SearchConfig(space="chain", objectives=["accuracy", "latency_ms"],
                             budget={"latency_ms": "p60"}, storage=storage, study_name="stop")  # fmt: skip
    cancel, outcome = threading.Event(), []

    def open_run() -> None:
        try:
            nw.search(config, cancelled=cancel.is_set)
            outcome.append("opened")
        except OpeningCancelled:
            outcome.append("cancelled")

    thread = threading.Thread(target=open_run)
    thread.start()
    time.sleep(after_s)
    cancel.set()
    stopped = time.perf_counter()
    thread.join()
    return {"went_on_s": time.perf_counter() - stopped, "outcome": outcome[0]}


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--after", type=float, default=5.0, help="seconds into the opening Stop comes")
    args = parser.parse_args()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    load = [os.getloadavg()[0]]
    try:
        runs = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix="stop-while-opening-") as folder:
                runs.append(one_stop(args.after, Path(folder)))
            load.append(os.getloadavg()[0])
    finally:
        if busy is not None:
            busy.kill()
    went_on = [float(run["went_on_s"]) for run in runs]
    beside = " beside a busy core" if busy else ""
    print(f"Stop {args.after:g} s into a p60 opening, {args.repeats} times{beside}")
    median, most = statistics.median(went_on), max(went_on)
    print(f"{'the opening went on after Stop (s)':40}median {median:.2f}, max {most:.2f}")
    print(f"{'each':40}{', '.join(f'{x:.2f}' for x in went_on)}; outcomes {[run['outcome'] for run in runs]}")
    print(f"load average (1 min) at the start and after each: {', '.join(f'{x:.1f}' for x in load)}")
    _report.write_json(args.json, {"runs": runs, "load": load, "argv": sys.argv[1:]})


if __name__ == "__main__":
    main()
