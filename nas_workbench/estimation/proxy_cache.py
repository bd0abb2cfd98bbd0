"""Zero-cost proxy scores of many candidates, computed once: cached per proxy, architecture, data and seed.

A proxy-guided search ranks a pool of thousands of architectures before training any; re-scoring the
pool on every search (or every trial) would cost more than the training it saves. `ProxyScorer` scores
an architecture with each of its proxies on one fixed batch and a seeded initialisation, and keeps the
scores in a `ProxyCache` keyed by everything the score depends on: the proxy, the architecture's id, the
data (a name the caller gives, with the input shape and classes) and the initialisation seed. A cache
with a file is loaded on creation and written atomically by `ProxyCache.save`, so a benchmark or a second
search on the same data scores each architecture once. The seconds spent scoring are counted, so the
proxies' cost can be shown as part of the search's time.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from nas_workbench.estimation.proxies import PROXIES, proxy_score

if TYPE_CHECKING:
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec

__all__ = ["DATA_FREE", "ProxyCache", "ProxyScorer"]

#: Proxies that need no data, only the input shape: a scorer without a batch accepts only these.
DATA_FREE = ("synflow", "params", "flops")


class ProxyCache:
    """Proxy scores by key; in memory, and in ``path`` (JSON) when given.

    Args:
        path: The file that keeps the scores between processes (None: memory only).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.scores: dict[str, float] = {}
        if path is not None and path.exists():
            with open(path, encoding="utf-8") as handle:
                self.scores = {str(k): float(v) for k, v in json.load(handle).items()}

    @staticmethod
    def key(proxy: str, spec: ArchSpec, data: str, seed: int) -> str:
        """What a score depends on: the proxy, the architecture, the data and the initialisation seed."""
        return f"{proxy}|{spec.space}:{spec.id}|{data}|{seed}"

    def save(self) -> None:
        """Write the scores to ``path`` atomically (readers see the old file or the new one)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.scores, handle, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class ProxyScorer:
    """Scores architectures of ``space`` with zero-cost proxies, each score computed once per cache.

    Args:
        space: The search space that builds the networks.
        proxies: Names from `PROXIES`.
        input_shape: (C, H, W) of the networks' inputs.
        num_classes: Output classes of the networks.
        inputs: One mini-batch to score on; None scores data-free (only `DATA_FREE` proxies).
        targets: Its integer labels (None with ``inputs`` None).
        data: A name of the data the batch comes from (part of the cache key).
        seed: Seed of each network's initialisation (part of the cache key).
        cache: Where scores are kept (None: a fresh in-memory cache).
        save_every: Write the cache's file after this many newly scored architectures.

    Raises:
        ValueError: a proxy that needs data without a batch.
    """

    def __init__(
        self,
        space: SearchSpace,
        proxies: Sequence[str],
        input_shape: Sequence[int],
        num_classes: int,
        inputs: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        data: str = "data-free",
        seed: int = 0,
        cache: ProxyCache | None = None,
        save_every: int = 50,
    ) -> None:
        for name in proxies:
            PROXIES.get(name)  # unknown names fail here, with a suggestion
        if inputs is None and (needs := [p for p in proxies if p not in DATA_FREE]):
            raise ValueError(
                f"proxies {needs} need a batch of data (inputs=, targets=); without one, use {DATA_FREE}"
            )
        self.space = space
        self.proxies = tuple(proxies)
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        if inputs is None:
            inputs = torch.ones((1, *self.input_shape))
            targets = torch.zeros(1, dtype=torch.long)
        self.inputs = inputs
        self.targets = targets if targets is not None else torch.zeros(len(inputs), dtype=torch.long)
        shape = "x".join(map(str, self.input_shape))
        self.data = f"{data}:{shape}:{num_classes}"
        self.seed = seed
        self.cache = cache if cache is not None else ProxyCache()
        self.save_every = save_every
        #: Seconds spent building and scoring networks (cache hits cost nothing).
        self.seconds = 0.0
        #: Architectures scored (not found in the cache).
        self.computed = 0

    def __call__(self, spec: ArchSpec) -> dict[str, float]:
        """Each proxy's score of ``spec`` (higher is better), from the cache when it has them."""
        keys = {name: ProxyCache.key(name, spec, self.data, self.seed) for name in self.proxies}
        missing = [name for name, key in keys.items() if key not in self.cache.scores]
        if missing:
            started = time.perf_counter()
            torch.manual_seed(self.seed)
            model = self.space.build(spec, self.input_shape, self.num_classes)
            for name in missing:
                self.cache.scores[keys[name]] = proxy_score(name, model, self.inputs, self.targets)
            self.seconds += time.perf_counter() - started
            self.computed += 1
            if self.computed % self.save_every == 0:
                self.cache.save()
        return {name: self.cache.scores[key] for name, key in keys.items()}
