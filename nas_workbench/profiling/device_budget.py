"""A latency budget on a target device, judged with its profile's uncertainty.

A profile fitted from a few measurements is some percent off on most architectures, and under a budget
that matters most at the budget's edge, where the constrained optimum sits: judged by the prediction
alone, a search on NAS-Bench-201 with a profile fitted from the 10 cells `propose` picks chose a cell
that the device measures over the budget on 3-5 of 10 seeds on the Pixel 3 and the Raspberry Pi 4
(README, "With the latency a fitted profile predicts"). So a search with a ``target_device`` judges
each candidate by an *upper bound* of its latency: the prediction times a quantile of the profile's
leave-one-out ratios measured / predicted (the same ratios its 80% interval comes from), at the
confidence `SearchConfig.budget_confidence` asks (0: the prediction alone).

The quantile is split-conformal: of ``n`` ratios sorted ``r_1 <= ... <= r_n``, a new architecture's
ratio is at most ``r_k`` with probability at least ``k / (n + 1)``; the bound at confidence ``c`` is
``r_k`` with ``k = ceil(c (n + 1))``. From 10 measurements ``c`` = 0.8 is the 9th ratio and 0.9 the
largest; more sure than ``n / (n + 1)`` needs more measurements, so the largest ratio is used and the
label says the confidence it gives. The same ratios say how sure a prediction is to be within a limit:
at least the share of ``n + 1`` whose ratio times the prediction stays under it.

What it does not do (measured, README "With the latency a fitted profile predicts"): make the choice of a
search on a phone more often within budget. The bound holds for an architecture like the measured ones,
drawn at random; a search picks the best-looking of many near the limit, which favours those the profile
under-predicts, and on the Pixel 3 at 0.8 the choice was measured over the budget as often as with the
prediction alone, at a higher regret. So the default stays 0, and every trial says how sure it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from nas_workbench.exceptions import ConfigError

__all__ = ["budget_verdict", "conformal_bound", "interval_ratios", "measured_verdict", "within_probability"]


def interval_ratios(quality: Mapping[str, Any]) -> list[float]:
    """A profile quality's leave-one-out ratios measured / predicted, sorted. A profile saved before the
    ratios were kept has only its 80% interval's ends; those stand for them (so the bound reads its
    90th percentile, the one that profile can say)."""
    if "ratios" in quality:
        return sorted(float(r) for r in quality["ratios"])
    return [float(quality["ratio_p10"]), float(quality["ratio_p90"])]


def conformal_bound(ratios: Sequence[float], confidence: float) -> tuple[float, float]:
    """The factor of a prediction that the measured latency stays under with probability at least
    ``confidence``, and the confidence it really gives (``k / (n + 1)``, at most ``n / (n + 1)``).

    ``confidence`` 0 asks for the prediction itself: factor 1, confidence 0 (nothing claimed)."""
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence < 1:
        raise ConfigError("budget_confidence", confidence, "a number from 0 (the prediction) to below 1")
    if confidence == 0:
        return 1.0, 0.0
    ordered = sorted(ratios)
    n = len(ordered)
    k = min(math.ceil(confidence * (n + 1) - 1e-9), n)
    return ordered[k - 1], k / (n + 1)


def within_probability(ratios: Sequence[float], predicted_ms: float, limit_ms: float) -> float:
    """How sure a prediction ``predicted_ms`` is to be within ``limit_ms``: the share of ``n + 1`` of the
    ratios that keep it there (conformal, a lower bound of the probability)."""
    return sum(predicted_ms * r <= limit_ms for r in ratios) / (len(ratios) + 1)


def budget_verdict(
    predicted_ms: float, ratios: Sequence[float], limit_ms: float, confidence: float, measurements: int
) -> dict[str, Any]:
    """Whether a prediction counts as within a latency limit at ``confidence``, and how sure it is: the
    ``limit_ms``, the ``upper_ms`` bound judged (`conformal_bound`), the ``confidence`` it really gives,
    ``within`` (the bound at or under the limit), ``p_within`` (`within_probability`) and a ``verdict``
    that says it in words."""
    factor, sure = conformal_bound(ratios, confidence)
    upper = predicted_ms * factor
    within = upper <= limit_ms
    p_within = within_probability(ratios, predicted_ms, limit_ms)
    source = f"from {measurements} measurements"
    if confidence == 0:
        how = f"the prediction alone; {p_within:.0%} sure {source}"
    else:
        how = f"{sure:.0%}-sure bound {upper:.4g} ms {'<=' if within else '>'} {limit_ms:g} ms, {source}"
    return {
        "limit_ms": limit_ms,
        "upper_ms": upper,
        "confidence": sure,
        "within": within,
        "p_within": p_within,
        "verdict": f"predicted {'within' if within else 'over'} budget ({how})",
    }


def measured_verdict(measured_ms: float, limit_ms: float, device: str) -> dict[str, Any]:
    """The verdict on a latency measured on ``device`` (a verified finalist, `device_verify`): known, not
    predicted, so ``within`` is the measurement against ``limit_ms`` and ``measured`` is True."""
    within = measured_ms <= limit_ms
    return {
        "limit_ms": limit_ms,
        "within": within,
        "measured": True,
        "verdict": f"measured {'within' if within else 'over'} budget on {device} "
        f"({measured_ms:.4g} ms {'<=' if within else '>'} {limit_ms:g} ms)",
    }
