"""How well the drift references follow the machine: their factor against held-out networks' own change.

The drift factor (`nas_workbench/profiling/drift.py`) is the median over a few reference networks of their
latency now over their baseline; it rescales every prediction, so it should move as the networks a search
measures move. This times, in blocks alternating quiet and with one core kept busy by another process
(``--cycles`` of each, in that order), the references of ``--space`` in two ways, and a panel of
``--networks`` held-out random networks (seeds 10000...) as `profile` measures them (the minimum of
``--rounds`` profiles, in rounds). Each later block is then compared with the first (the baseline, quiet):
the networks' *true* factor is the median of their ratios, and each way of timing the references gives
its own factor, before and after the adoption rule:

- ``30 blocks, 3``: the rule up to 2026-12-04, 3 references timed for a fixed 30 blocks of at least 2 ms
  without the reference workload, a factor within 5% of 1 not adopted;
- ``profile, 5``: the rule now (`drift.DRIFT_TIMING`, `drift.next_drift`), 5 references timed as networks
  are profiled, a factor adopted only when every reference's ratio is more than 5% from 1 on one side.

The error is the adopted factor over the true one, minus 1: what the factor adds to every prediction's
error. Quiet blocks after the first show the factor's noise on an unchanged machine, busy ones whether it
follows a real change.

    python benchmarks/profiling/drift_precision.py [--space chain] [--cycles 3] [--networks 10]
        [--json out.json]
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

import torch
from _busy import busy_core, load  # this folder is on the path when run as a script

import nas_workbench as nw
from nas_workbench.profiling import drift
from nas_workbench.profiling.correction import Drift
from nas_workbench.profiling.drift_rule import CONFIRM_S, next_drift
from nas_workbench.profiling.latency import TimingOptions, measure_latency

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: The drift references' timing up to 2026-12-04 (3 references, 30 blocks, no reference workload).
FIXED_BLOCKS = TimingOptions(
    min_repeats=30, max_repeats=30, min_time_s=0.0, max_time_s=10.0, min_block_s=0.002, reference=False
)
OLD_REFERENCES, OLD_DEAD_BAND = 3, 0.05
SHAPE = (3, 32, 32)


def _timed(models: list[torch.nn.Module], options: TimingOptions) -> tuple[list[float], int, bool]:
    """The references' minima over rounds, as `drift.refresh_drift` takes them (ms), rounds, settled."""
    return drift.minima_over_rounds(
        lambda: [measure_latency(m, SHAPE, "cpu", 1, 1, options).value for m in models]
    )


def _block(references: list[torch.nn.Module], panel: list[torch.nn.Module], rounds: int) -> dict:
    """One block: the references both ways, then the panel (minimum of ``rounds`` profiles each)."""
    started = time.perf_counter()
    fixed, fixed_rounds, fixed_settled = _timed(references[:OLD_REFERENCES], FIXED_BLOCKS)
    profiled, profiled_rounds, profiled_settled = _timed(references, drift.DRIFT_TIMING)
    networks = [math.inf] * len(panel)
    for _ in range(rounds):
        for i, model in enumerate(panel):
            networks[i] = min(networks[i], measure_latency(model, SHAPE, "cpu", 1, 1).value)
    return {
        "load": load(),
        "fixed_ms": fixed, "fixed_rounds": fixed_rounds, "fixed_settled": fixed_settled,
        "profiled_ms": profiled, "profiled_rounds": profiled_rounds, "profiled_settled": profiled_settled,
        "networks_ms": networks,
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip


def _old_rule(base: dict, now: dict) -> float:
    """The factor the 30-block rule adopted after a calibration (previous factor 1)."""
    ratios = [n / b for n, b in zip(now["fixed_ms"], base["fixed_ms"], strict=True)]
    measured = statistics.median(ratios)
    confirmed = now["fixed_settled"] and base["fixed_settled"]
    return measured if confirmed and abs(measured - 1) > OLD_DEAD_BAND else 1.0


def _new_rule(base: dict, now: dict) -> Drift:
    """The factor `drift_rule.next_drift` adopts after a calibration (previous factor 1), one for all
    networks (``by_size=False``: this benchmark compares factors), where a re-timing `CONFIRM_S` earlier
    saw the same: a block is a lasting change, and this measures the factor, not its confirmation."""
    seen = [n / b for n, b in zip(now["profiled_ms"], base["profiled_ms"], strict=True)]
    lasting = Drift(pending_ratios=seen, pending_at=time.time() - 2 * CONFIRM_S)
    return next_drift(
        lasting, base["profiled_ms"], base["profiled_settled"], now["profiled_ms"], now["profiled_rounds"],
        now["profiled_settled"], None, by_size=False,
    )  # fmt: skip


def run(space_name: str, cycles: int, networks: int, rounds: int) -> dict:
    space = nw.spaces.get(space_name)
    torch.set_num_threads(1)
    references = drift.reference_networks(space_name, SHAPE)
    panel = [space.build(space.random(10_000 + i), SHAPE, 10).eval() for i in range(networks)]
    blocks = []
    for _ in range(cycles):
        for busy in (False, True):
            with busy_core(busy):
                blocks.append({"busy": busy, **_block(references, panel, rounds)})
    base = blocks[0]
    rows = []
    for block in blocks[1:]:
        true = statistics.median(
            n / b for n, b in zip(block["networks_ms"], base["networks_ms"], strict=True)
        )
        fixed_raw = statistics.median(n / b for n, b in zip(block["fixed_ms"], base["fixed_ms"], strict=True))
        new = _new_rule(base, block)
        rows.append({
            "busy": block["busy"],
            "true": true,
            "fixed_raw": fixed_raw,
            "fixed_adopted": _old_rule(base, block),
            "profiled_raw": statistics.median(new.ratios),
            "profiled_ratios": list(new.ratios),
            "profiled_adopted": new.factor,
            "load": block["load"],
        })  # fmt: skip
    return {"space": space_name, "blocks": blocks, "rows": rows}


def _error(factor: float, true: float) -> str:
    return f"{100 * (factor / true - 1):+.1f}%"


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--space", action="append", help="search space (repeatable; default: chain)")
    parser.add_argument("--cycles", type=int, default=3, help="quiet/busy pairs of blocks")
    parser.add_argument("--networks", type=int, default=10, help="held-out networks in the panel")
    parser.add_argument("--rounds", type=int, default=2, help="profiles per panel network (the minimum)")
    args = parser.parse_args()
    results = [run(name, args.cycles, args.networks, args.rounds) for name in args.space or ["chain"]]
    header = (
        f"{'space':<7} {'block':<6} {'true':>6} {'30 blocks, 3: raw':>18} {'adopted':>8} {'error':>7} "
        f"{'profile, 5: raw':>16} {'range':>13} {'adopted':>8} {'error':>7}"
    )
    print(header)
    print("-" * len(header))
    summary = {}
    for result in results:
        errors: dict[str, list[float]] = {"old": [], "new": []}
        for row in result["rows"]:
            ratios = row["profiled_ratios"]
            print(
                f"{result['space']:<7} {'busy' if row['busy'] else 'quiet':<6} {row['true']:>6.3f} "
                f"{row['fixed_raw']:>18.3f} {row['fixed_adopted']:>8.3f} "
                f"{_error(row['fixed_adopted'], row['true']):>7} {row['profiled_raw']:>16.3f} "
                f"{min(ratios):>6.3f}-{max(ratios):.3f} {row['profiled_adopted']:>8.3f} "
                f"{_error(row['profiled_adopted'], row['true']):>7}"
            )
            errors["old"].append(abs(row["fixed_adopted"] / row["true"] - 1))
            errors["new"].append(abs(row["profiled_adopted"] / row["true"] - 1))
        summary[result["space"]] = {arm: max(values) for arm, values in errors.items()}
        seconds = [b["seconds"] for b in result["blocks"]]
        worst = summary[result["space"]]
        print(
            f"{result['space']}: worst |error| 30 blocks, 3 refs {100 * worst['old']:.1f}%, "
            f"profile, 5 refs {100 * worst['new']:.1f}%; "
            f"{statistics.median(seconds):.0f} s a block"
        )
    print(
        f"baseline: the first (quiet) block; true: the median ratio of {args.networks} held-out networks "
        f"(min of {args.rounds} profiles); load at the end {load()}"
    )
    _report.write_json(args.json, {"spaces": results, "worst_abs_error": summary})


if __name__ == "__main__":
    main()
