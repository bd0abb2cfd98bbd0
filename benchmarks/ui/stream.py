"""Events per second from the engine's thread into the workbench's plot sources, and what reaches the browser.

A thread emits ``TrialFinished`` events as fast as it can, as the search thread does, into a workbench
built on an asyncio loop, as in a kernel. Measured: events per second until every row is in the plot's
data source, comm messages sent to the browser, and the longest stretch the loop was busy (what a cell
waiting to run would wait). Baseline in the same run: one ``stream()`` per trial, as a naive subscriber
would do, with the loop doing nothing else.

    python benchmarks/ui/stream.py [--events 1000 5000] [--json out.json]
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import nas_workbench as nw
from nas_workbench.engine import events as ev
from nas_workbench.engine.records import TrialResult

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


def synthetic_events(count: int, seed: int = 0) -> list[ev.TrialFinished]:
    """Finished trials with the metrics a real search records (accuracy, counts, latency, memory)."""
    rng = random.Random(seed)
    statuses = ["ok"] * 6 + ["infeasible", "pruned", "failed"]

    def measured(value: float, unit: str, method: str = "measured") -> dict[str, Any]:
        return {"value": value, "unit": unit, "method": method, "source": "benchmark", "detail": None}

    events = []
    for number in range(count):
        status = rng.choice(statuses)
        metrics = {
            "accuracy": measured(rng.random(), "fraction"),
            "params": measured(rng.randint(2_000, 200_000), "count", "counted"),
            "flops": measured(rng.randint(10**5, 10**8), "FLOPs", "counted"),
            "latency_ms": measured(rng.random() * 3, "ms"),
            "peak_memory_mb": measured(rng.random() * 20, "MB"),
        }
        values = [metrics["accuracy"]["value"], metrics["latency_ms"]["value"]] if status == "ok" else None
        events.append(
            ev.TrialFinished(
                "bench",
                number=number,
                status=status,
                values=values,
                metrics=metrics,
                spec={},
                arch=f"arch{number}",
                summary=f"conv3:16 | dwsep5:32 ({number})",
                reason=None,
                duration_s=1.0,
                worker="bench:1",
            )
        )
    return events


class LoopWatch:
    """The longest time the loop went without running a 1 ms heartbeat callback."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.longest, self._last, self._running = loop, 0.0, time.perf_counter(), True
        loop.call_soon(self._beat)

    def _beat(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now
        if self._running:
            self.loop.call_later(0.001, self._beat)

    def stop(self) -> float:
        self._running = False
        return self.longest


def count_messages(workbench: nw.Workbench) -> list[int]:
    """Count the comm messages the plot widget sends (each stream is 3, plus 2 per binary buffer)."""
    sent = [0]
    widget = workbench.plots.widget
    original = widget.send

    def send(*args: Any, **kwargs: Any) -> None:
        sent[0] += 1
        original(*args, **kwargs)

    widget.send = send
    return sent


async def coalesced(events: list[ev.TrialFinished]) -> dict[str, float]:
    """Through the workbench's own path: events put from a thread, applied in batches on the loop."""
    workbench = nw.Workbench(nw.SearchConfig(objectives=["accuracy", "latency_ms"], n_trials=len(events)))
    sent = count_messages(workbench)
    put, session = workbench._poster(), workbench.model.session  # what subscribing to a run wires up
    watch = LoopWatch(asyncio.get_running_loop())
    started = time.perf_counter()
    emitter = threading.Thread(target=lambda: [put((session, event)) for event in events])
    emitter.start()
    while workbench.plots.points < len(events):
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    emitter.join()
    return {
        "events_per_s": len(events) / elapsed,
        "seconds": elapsed,
        "messages": sent[0],
        "longest_loop_stall_ms": watch.stop() * 1000,
    }


async def per_event(events: list[ev.TrialFinished]) -> dict[str, float]:
    """Baseline: one ``stream()`` per trial, on the loop, nothing batched."""
    workbench = nw.Workbench(nw.SearchConfig(objectives=["accuracy", "latency_ms"], n_trials=len(events)))
    sent = count_messages(workbench)
    loop = asyncio.get_running_loop()
    watch = LoopWatch(loop)
    started = time.perf_counter()
    for event in events:
        loop.call_soon(workbench.plots.add, [TrialResult.from_event(event)])
    while workbench.plots.points < len(events):
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    return {
        "events_per_s": len(events) / elapsed,
        "seconds": elapsed,
        "messages": sent[0],
        "longest_loop_stall_ms": watch.stop() * 1000,
    }


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--events", type=int, nargs="+", default=[1000, 5000])
    args = parser.parse_args()
    rows = []
    for count in args.events:
        events = synthetic_events(count)
        for name, method in (("coalesced (workbench)", coalesced), ("one stream per trial", per_event)):
            result = asyncio.run(method(events))
            rows.append({"events": count, "method": name, **result})
    print(
        f"{'events':>7}  {'method':<22} {'events/s':>10} {'seconds':>8} {'messages':>9} {'longest stall':>14}"
    )
    for row in rows:
        print(
            f"{row['events']:>7}  {row['method']:<22} {row['events_per_s']:>10,.0f} {row['seconds']:>8.2f} "
            f"{row['messages']:>9,} {row['longest_loop_stall_ms']:>11.0f} ms"
        )
    _report.write_json(args.json, rows)


if __name__ == "__main__":
    main()
