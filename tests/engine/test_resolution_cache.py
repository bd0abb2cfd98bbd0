"""A relative limit resolved once on this machine is reused by later searches of the same space and input,
until the machine's speed changes or the kept resolutions are forgotten."""

from __future__ import annotations

import json

import nas_workbench as nw
from nas_workbench.engine.narration import narrated
from nas_workbench.engine.relative import ResolvedBudget
from nas_workbench.engine.resolution_cache import RESOLVED_FILE, forget_resolutions
from nas_workbench.profiling.cache import cache_dir
from nas_workbench.testing.workers import score
from tests.engine.conftest import cheap_config


def resolved(config: nw.SearchConfig, name: str, task) -> ResolvedBudget:
    run = nw.search(config.replace(study_name=name), evaluate=score, data=task)
    return run.resolved_budget["latency_ms"]


def test_a_second_search_reuses_the_resolution_and_says_since_when(storage, tiny_task):
    """And the opening says which as it happens (the widget's status line, the CLI): "resolving ... by
    profiling 32 random networks" only when it does (it said so before a reuse too, seen in JupyterLab)."""
    config = cheap_config(storage, "-", threads=1, n_trials=1, budget={"latency_ms": "p50"})
    said: list[str] = []
    with narrated(said.append):
        first = resolved(config, "first", tiny_task)
    assert not first.detail.startswith("reused")
    assert said[0] == (
        "resolving the budget latency_ms <= p50 on this CPU by profiling 32 random networks of the space"
    )
    assert said[1:] == []  # a percentile of profiled networks is met by them: nothing to check
    said.clear()
    with narrated(said.append):
        second = resolved(config, "second", tiny_task)
    assert said[0].startswith(f"reusing the budget latency_ms p50 = {second.label()}, resolved here at 20")
    assert len(said) == 1  # nothing said of resolving
    assert (second.value, second.spec, second.interval) == (first.value, first.spec, first.interval)
    assert second.detail.startswith("reused, resolved on this machine at 20") and " UTC " in second.detail
    assert second.detail.endswith(first.detail)  # and how it was resolved then
    other = resolved(config.replace(threads=2), "other-threads", tiny_task)  # another key: resolved anew
    assert not other.detail.startswith("reused")


def test_a_changed_machine_or_a_forgotten_resolution_resolves_again(storage, tiny_task):
    config = cheap_config(storage, "-", threads=1, n_trials=1, budget={"latency_ms": "p50"})
    resolved(config, "first", tiny_task)
    path = cache_dir() / RESOLVED_FILE
    kept = json.loads(path.read_text())
    (entry,) = kept.values()
    entry["baseline_ms"] *= 1.5  # the reference workload ran 1.5x slower then: another machine, or changed
    path.write_text(json.dumps(kept))
    assert not resolved(config, "after-a-change", tiny_task).detail.startswith("reused")
    assert resolved(config, "again", tiny_task).detail.startswith("reused")  # kept with today's speed
    assert forget_resolutions() == 1
    assert not path.exists()
    assert not resolved(config, "forgotten", tiny_task).detail.startswith("reused")
