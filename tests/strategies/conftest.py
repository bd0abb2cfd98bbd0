"""Sampler tests run many tiny studies: one torch thread is faster than two that wait on each other when the
machine's cores are shared."""

from __future__ import annotations

from collections.abc import Iterator

import optuna
import pytest
import torch


@pytest.fixture(autouse=True)
def quiet_single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    verbosity = optuna.logging.get_verbosity()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    torch.set_num_threads(threads)
    optuna.logging.set_verbosity(verbosity)
