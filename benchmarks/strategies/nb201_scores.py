"""The project's own zero-cost scores of every NAS-Bench-201 cell, computed once and cached.

Data-free synflow (`nas_workbench.estimation.proxies`) of each of the 15,625 CIFAR-10 networks
(3x32x32 inputs, 10 classes, the space's default 5 cells per stage and 16 stem channels, initialised with
seed 0), kept in a `ProxyCache` file under ``benchmarks/results`` so that the strategy benchmarks score
the pool once, not once per run. The seconds it took are stored beside the scores, so that a benchmark
can count the proxy's cost in a search's time.

    python benchmarks/strategies/nb201_scores.py   # fills benchmarks/results/nb201_synflow.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

import nas_workbench as nw
from nas_workbench.estimation.proxy_cache import ProxyCache, ProxyScorer
from nas_workbench.spaces._base import enumerate_specs

CACHE = Path(__file__).resolve().parents[1] / "results" / "nb201_synflow.json"
TIMING = CACHE.with_suffix(".seconds.json")


def synflow_scores(path: Path = CACHE, save_every: int = 500) -> tuple[dict[str, float], float]:
    """The space's notation of each cell → its data-free synflow, and the seconds scoring all cells took
    (measured when they were computed, summed over runs that filled the cache)."""
    space = nw.spaces.get("nb201")
    cache = ProxyCache(path)
    scorer = ProxyScorer(space, ["synflow"], (3, 32, 32), 10, cache=cache, save_every=save_every)
    spent = json.loads(TIMING.read_text())["seconds"] if TIMING.exists() else 0.0
    scores = {}
    for spec in enumerate_specs(space):
        scores[space.format(spec)] = scorer(spec)["synflow"]
        if scorer.computed and scorer.computed % save_every == 0:
            _save(spent + scorer.seconds)
    if scorer.computed:
        cache.save()
        _save(spent + scorer.seconds)
    return scores, spent + scorer.seconds


def _save(seconds: float) -> None:
    """Record the seconds spent so far (the scorer writes the cache itself every ``save_every``)."""
    TIMING.write_text(json.dumps({"seconds": seconds}))
    print(f"{seconds:.0f} s of scoring so far", file=sys.stderr, flush=True)


def proxy_scores(kind: str, table: dict[str, dict[str, float]]) -> tuple[dict[str, dict[str, float]], float]:
    """Each cell's zero-cost scores of ``kind`` (of ``nb201_budgeted.SCORES``), and the seconds computing
    them took: counted MFLOPs (free, from the cost table); with "live", also the counted MFLOPs of the cell
    without its dead edges (`CellSpace.live`, the engine's ``live_flops``: the cost table's row of that
    cell, which the built network matches exactly); with "synflow", data-free synflow (`synflow_scores`)."""
    if kind == "none":
        return {}, 0.0
    scores = {arch: {"flops": row["mflops"]} for arch, row in table.items()}
    if kind == "flops":
        return scores, 0.0
    if kind == "live":
        space = nw.spaces.get("nb201")
        started = time.perf_counter()
        for arch, values in scores.items():
            values["live_flops"] = table[space.format(space.live(space.parse(arch)))]["mflops"]
        return scores, time.perf_counter() - started
    synflow, seconds = synflow_scores()
    for arch, value in synflow.items():
        scores[arch]["synflow"] = value
    return scores, seconds


if __name__ == "__main__":
    torch.set_num_threads(1)
    found, seconds = synflow_scores()
    print(
        f"{len(found)} cells; synflow took {seconds:.0f} s in all ({seconds / len(found) * 1000:.1f} ms each)"
    )
