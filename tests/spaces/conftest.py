"""Networks in these tests are tiny: one intra-op thread is faster than two that wait on each other when the
machine's two cores are busy (it was 10-30x faster under load)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
