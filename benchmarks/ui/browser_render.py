"""Browser cost of the live plots: render time of 1,000 points, and frame times while 1,000 trials stream in.

JupyterLab runs headless Chromium (the system's, driven by Playwright) on a notebook whose workbench
gets synthetic finished trials (see ``stream.py``):

- initial: the workbench opens with the trials already in its table; BokehJS's own "document idle"
  time says how long the figures took to render.
- coalesced: a thread emits the trials at ``--rate`` per second through the workbench's path (batched a
  few times a second); a requestAnimationFrame loop records every frame until all points are drawn.
- one stream per trial (baseline, same run): the same, with every trial sent as its own patch.

Frame times above 50 ms are frames a user sees stutter (the browser's own "long task" threshold).

    python benchmarks/ui/browser_render.py [--points 1000] [--rate 500] [--frontend lab] [--json out.json]
"""

from __future__ import annotations

import itertools
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from nbformat import v4
from playwright.sync_api import sync_playwright

from nas_workbench.testing.jupyter import (
    CHROMIUM_ARGS,
    chromium_path,
    jupyter_server,
    open_notebook,
    run_all_cells,
    wait_plot_points,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

HERE = Path(__file__).resolve().parent

CELL = """
import sys, threading, time
sys.path.insert(0, {here!r})
from stream import synthetic_events
import nas_workbench as nw
from nas_workbench.engine.records import TrialResult
from nas_workbench.ui._dispatch import Coalescer
from nas_workbench.viz import TrialTable

events = synthetic_events({points})
config = nw.SearchConfig(objectives=["accuracy", "latency_ms"], n_trials={points})
workbench = nw.Workbench(config)
if {mode!r} == "initial":
    table = TrialTable(config.objectives, config.directions)
    table.extend([TrialResult.from_event(event) for event in events])
    workbench.plots.reset(table, {{}}, ["latency_ms", "peak_memory_mb"])
elif {mode!r} == "per trial":  # every trial its own patch
    workbench._coalescer = Coalescer(workbench._loop, workbench._apply, interval=0.0, max_batch=1)
workbench
"""

EMIT = """
put, session = workbench._poster(), workbench.model.session


def emit():
    for event in events:
        put((session, event))
        time.sleep({pause})


threading.Thread(target=emit, daemon=True).start()
"""

FRAMES_JS = """() => {
  window.__frames = [];
  window.__recording = true;
  const tick = (now) => { window.__frames.push(now); if (window.__recording) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""


def frame_stats(frames: list[float]) -> dict[str, float]:
    gaps = sorted(b - a for a, b in itertools.pairwise(frames))
    return {
        "frames": len(gaps),
        "median_frame_ms": statistics.median(gaps),
        "p95_frame_ms": gaps[int(0.95 * (len(gaps) - 1))],
        "max_frame_ms": gaps[-1],
        "long_frames": sum(gap > 50 for gap in gaps),
    }


def run_mode(browser: Any, server: Any, mode: str, points: int, rate: float) -> dict[str, Any]:
    name = f"render-{mode.replace(' ', '-')}.ipynb"
    cells = [v4.new_code_cell(CELL.format(here=str(HERE), points=points, mode=mode))]
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, server.root / name)
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    idle: list[float] = []
    pattern = re.compile(r"document idle at (\d+) ms")
    page.on("console", lambda message: idle.extend(float(m) for m in pattern.findall(message.text)))
    try:
        open_notebook(page, server, name)
        run_all_cells(page)
        if mode == "initial":
            wait_plot_points(page, f"=== {points}", timeout_ms=120_000)
            page.wait_for_timeout(500)
            return {"mode": mode, "points": points, "render_ms": max(idle)}
        wait_plot_points(page, "=== 0", timeout_ms=120_000)
        page.evaluate(FRAMES_JS)
        started = time.perf_counter()
        page.evaluate(  # run the emitting cell through the kernel, as a user would
            """(code) => {
              const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
              kernel.requestExecute({code});
            }""",
            EMIT.format(pause=1.0 / rate),
        )
        wait_plot_points(page, f"=== {points}", timeout_ms=600_000)
        drawn = time.perf_counter() - started
        page.wait_for_timeout(300)
        frames = page.evaluate("() => { window.__recording = false; return window.__frames; }")
        return {"mode": mode, "points": points, "seconds_to_all_points": drawn, **frame_stats(frames)}
    finally:
        page.close()


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500.0, help="trials per second the thread emits")
    parser.add_argument("--frontend", choices=["lab", "notebook"], default="lab")
    args = parser.parse_args()
    chromium = chromium_path()
    if chromium is None:
        raise SystemExit("needs Debian's chromium: apt-get install -y chromium")
    rows = []
    with (
        tempfile.TemporaryDirectory() as folder,
        jupyter_server(Path(folder), args.frontend) as server,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        for mode in ("initial", "coalesced", "per trial"):
            rows.append(run_mode(browser, server, mode, args.points, args.rate))
        browser.close()
    print(
        f"{args.points} points, {args.rate:.0f} trials/s, {args.frontend}, "
        "headless Chromium (software rendering)"
    )
    for row in rows:
        if row["mode"] == "initial":
            print(f"  initial render: {row['render_ms']:.0f} ms (BokehJS 'document idle')")
        else:
            print(
                f"  {row['mode']:<10} all points in {row['seconds_to_all_points']:.1f} s; frames: median "
                f"{row['median_frame_ms']:.0f} ms, p95 {row['p95_frame_ms']:.0f} ms, "
                f"max {row['max_frame_ms']:.0f} ms, {row['long_frames']} over 50 ms of {row['frames']}"
            )
    _report.write_json(args.json, rows)


if __name__ == "__main__":
    main()
