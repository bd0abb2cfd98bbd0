"""Does the reference workload read the same after any network? Its after-effect, for `SLOW_TOLERANCE`.

The reference workload (`nas_workbench/profiling/reference.py`) is read between a network's blocks, after
`WARM_CALLS` untimed calls, and a timing whose readings all ran more than `SLOW_TOLERANCE` over its quiet
baseline is retried as taken on a slow machine. This measures what the network itself leaves behind: the
first five repeatability networks (`repeatability.py`'s seeds 0-4, the spaces in turn) and no network, in
turn for ``--rounds`` rounds; each reading follows 2 ms of calls of the network (none: straight after the
previous reading) and then 2 warm calls (as `Canary.read` does), 32 warm calls, or a 5 ms pause and 2 warm
calls. Per network and way, the median of the minima of groups of five readings (the statistic the
judgement uses) over that of no network with 2 warm calls. Thread CPU time, one thread.

    python benchmarks/profiling/reference_context.py [--rounds 30] [--busy] [--json out.json]
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from pathlib import Path

import torch
from _busy import busy_core, load  # this folder is on the path when run as a script
from repeatability import networks

from nas_workbench.profiling.latency import INPUT_COPIES, example_inputs
from nas_workbench.profiling.reference import MIN_READINGS, WARM_CALLS, _workload, group_minima

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: Ways to read after a network: (warm calls, seconds of pure-Python pause before them).
WAYS = {"2 warm": (WARM_CALLS, 0.0), "32 warm": (32, 0.0), "5 ms, 2 warm": (WARM_CALLS, 0.005)}
NETWORK_S = 0.002


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def readings(rounds: int, shape: tuple[int, ...]) -> dict[tuple[str, str], list[float]]:
    """Seconds of each reading of the reference, per (network, way)."""
    models = {"none": None, **networks(5, shape)}
    fed = {
        name: (model, itertools.cycle(example_inputs(model, shape, 1, torch.device("cpu"), INPUT_COPIES)))
        for name, model in models.items()
        if model is not None
    }
    reference = _workload(torch.device("cpu"))
    out: dict[tuple[str, str], list[float]] = {(name, way): [] for name in models for way in WAYS}
    with torch.inference_mode():
        for _ in range(rounds):
            for name, way in out:
                warm, pause = WAYS[way]
                for _ in range(MIN_READINGS):
                    if name in fed:
                        model, inputs = fed[name]
                        end = time.thread_time() + NETWORK_S
                        while time.thread_time() < end:
                            model(next(inputs))
                    _spin(pause)
                    for _ in range(warm):
                        reference()
                    start = time.thread_time()
                    reference()
                    out[name, way].append(time.thread_time() - start)
    return out


def main() -> None:
    parser = _report.parser(__doc__, busy=True)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with busy_core(args.busy):
        started = load()
        measured = readings(args.rounds, (3, 32, 32))
        ended = load()
    level = {key: statistics.median(group_minima(values)) for key, values in measured.items()}
    base = level["none", "2 warm"]
    names = list(dict.fromkeys(name for name, _ in measured))
    print(f"{'after':<20} " + " ".join(f"{way:>13}" for way in WAYS))
    for name in names:
        print(f"{name:<20} " + " ".join(f"{level[name, way] / base:>12.3f}x" for way in WAYS))
    print(
        f"reference after nothing, {WARM_CALLS} warm calls: {base * 1e6:.1f} us (median group minimum); "
        f"busy core {'yes' if args.busy else 'no'}, load {started} -> {ended}"
    )
    _report.write_json(
        args.json,
        {
            "busy": args.busy,
            "load_start": started,
            "load_end": ended,
            "baseline_us": base * 1e6,
            "ratio": {f"{name} | {way}": level[name, way] / base for name, way in level},
        },
    )


if __name__ == "__main__":
    main()
