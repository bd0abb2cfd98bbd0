"""What the static PNG beside every figure costs `nw.show`: the first figure (starts the browser) and
the next ones, against `nw.show` with images turned off, in the same run.

The figures are the study plots a tutorial shows (`nw.viz.tradeoff_figure` of ``--points`` synthetic
trials, and the workbench's grid of study figures); each is shown ``--repeats`` times per setting. The
kernel is IPython's in-process shell, so the time is the kernel's, not the browser's.

    python benchmarks/ui/static_images.py [--points 200] [--repeats 10] [--json out.json]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bokeh.layouts import gridplot
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import nas_workbench as nw
from nas_workbench.engine.records import TrialResult
from nas_workbench.viz import static

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stream import synthetic_events

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


def _figures(points: int) -> dict[str, Any]:
    table = nw.viz.TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend([TrialResult.from_event(event) for event in synthetic_events(points)])

    def tradeoff() -> Any:
        trials, front = nw.viz.make_sources(table)
        return nw.viz.tradeoff_figure(trials, front, x="latency_ms", title="accuracy vs latency")

    def grid() -> Any:
        trials, front = nw.viz.make_sources(table)
        figures = nw.viz.study_figures(trials, front, table.objectives, {}, ["latency_ms"])
        return gridplot(figures, ncols=2, sizing_mode="stretch_width")

    return {"tradeoff figure": tradeoff, "workbench grid": grid}


def _time_show(make: Any) -> float:
    figure = make()  # built outside the clock: only showing it is timed
    started = time.perf_counter()
    with capture_output():
        nw.show(figure)
    return time.perf_counter() - started


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    InteractiveShell.instance()
    os.environ[static.SETTING] = "1"
    if not static.available():
        raise SystemExit("needs Playwright and Debian's chromium")
    rows = []
    makers = _figures(args.points)
    os.environ[static.SETTING] = "1"
    first = _time_show(makers["tradeoff figure"])  # starts the browser
    rows.append({"figure": "tradeoff figure", "setting": "image, first figure", "median_ms": 1e3 * first})
    for name, make in makers.items():
        for setting, value in (("no image", "0"), ("image", "1")):
            os.environ[static.SETTING] = value
            times = [_time_show(make) for _ in range(args.repeats)]
            rows.append({"figure": name, "setting": setting, "median_ms": 1e3 * statistics.median(times)})
    print(f"{'figure':<18} {'setting':<22} {'median ms':>10}")
    for row in rows:
        print(f"{row['figure']:<18} {row['setting']:<22} {row['median_ms']:>10.0f}")
    load = os.getloadavg()[0]
    print(f"load average {load:.1f}")
    _report.write_json(args.json, {"rows": rows, "load": load, "args": vars(args) | {"json": None}})


if __name__ == "__main__":
    main()
