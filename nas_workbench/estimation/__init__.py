"""Performance estimation: how good an architecture is, without (or before) training it fully.

>>> import nas_workbench as nw
>>> sorted(nw.estimation.PROXIES)
['flops', 'grad_norm', 'naswot', 'params', 'snip', 'synflow']
>>> score = nw.estimation.proxy_score("synflow", model, inputs, targets)  # doctest: +SKIP
"""

from __future__ import annotations

from nas_workbench.estimation.proxies import PROXIES, ProxyError, proxy, proxy_score, rank_candidates

__all__ = ["PROXIES", "ProxyError", "proxy", "proxy_score", "rank_candidates"]
