"""Sampler tests run many tiny studies: one torch thread is faster than two that wait on each other when the
machine's cores are shared. DNAS tests share one small chain space."""

from __future__ import annotations

from collections.abc import Iterator

import optuna
import pytest
import torch

#: A chain space small enough for a supernet in a unit test, with every kind of decision (op, kernel,
#: expansion, width, depth).
DNAS_CHAIN = {
    "num_stages": 2,
    "max_depth": 2,
    "stem_channels": 4,
    "widths": (4, 8),
    "kernel_sizes": (3, 5),
    "expansions": (1, 2),
}


@pytest.fixture(autouse=True)
def quiet_single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    verbosity = optuna.logging.get_verbosity()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    torch.set_num_threads(threads)
    optuna.logging.set_verbosity(verbosity)
