"""Stop while a run opens: the opening's profiling ends between networks, and no study is created."""

from __future__ import annotations

import threading

import optuna
import pytest

import nas_workbench as nw
from nas_workbench.engine.cancel import OpeningCancelled
from nas_workbench.engine.feasibility import check_budget
from nas_workbench.testing.workers import TINY_CHAIN, score
from tests.engine.conftest import cheap_config


def test_a_cancel_ends_the_resolution_of_a_relative_limit_between_networks(storage, tiny_task):
    """Resolving "p50" profiles 32 networks; cancelled from another thread once the first is under way,
    the opening asks once more, before the next network, and ends there, creating no study. (How soon
    that is depends on the network in progress: a fraction of a second to a few on a loaded machine.)"""
    config = cheap_config(storage, "cancelled", threads=1, budget={"latency_ms": "p50"})
    asked, cancel = threading.Event(), threading.Event()
    answers: list[bool] = []
    outcome: list[BaseException] = []

    def cancelled() -> bool:  # asked before each network is profiled
        answers.append(cancel.is_set())
        asked.set()
        return answers[-1]

    def open_run() -> None:
        try:
            nw.search(config, evaluate=score, data=tiny_task, cancelled=cancelled)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=open_run)
    thread.start()
    assert asked.wait(60)
    cancel.set()
    thread.join(60)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], OpeningCancelled), outcome
    assert "before resolving budget.latency_ms" in str(outcome[0])
    assert answers[-1] and not any(answers[:-1]) and len(answers) <= 2  # at most the network under way
    assert "cancelled" not in optuna.study.get_all_study_names(storage)


def test_a_cancel_ends_the_budget_check_before_its_next_network():
    space = nw.spaces.get("chain", **TINY_CHAIN)
    with pytest.raises(OpeningCancelled, match=r"before checking budget\.latency_ms against the space"):
        check_budget(space, {"latency_ms": 1e-6}, (1, 8, 8), 2, threads=1, cancelled=lambda: True)
