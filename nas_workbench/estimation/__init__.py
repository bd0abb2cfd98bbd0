"""Performance estimation: how good an architecture is, without (or before) training it fully.

>>> import nas_workbench as nw
>>> sorted(nw.estimation.PROXIES)
['flops', 'grad_norm', 'naswot', 'params', 'snip', 'synflow']
>>> score = nw.estimation.proxy_score("synflow", model, inputs, targets)  # doctest: +SKIP
>>> result = nw.estimation.train(model, task, nw.Fidelity(epochs=4))  # doctest: +SKIP
"""

from __future__ import annotations

from nas_workbench.estimation.proxies import PROXIES, ProxyError, proxy, proxy_score, rank_candidates
from nas_workbench.estimation.trainer import TrainResult, evaluate_accuracy, train

__all__ = [
    "PROXIES",
    "ProxyError",
    "TrainResult",
    "evaluate_accuracy",
    "proxy",
    "proxy_score",
    "rank_candidates",
    "train",
]
