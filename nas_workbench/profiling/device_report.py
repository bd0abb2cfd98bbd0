"""What a device profile says about itself: a one-line summary, its cross-validated quality in words, and
the same as a table in a notebook cell.

A user who fits a profile sees at once how far to trust it, without asking: ``board`` at the end of a
cell, ``print(board)``, ``nas-workbench device fit`` and ``device show`` all say the same lines. A profile
that ranks architectures poorly says so and how to mend it (more measurements), since every budget
judged by it inherits its errors.

**A Spearman of ten measurements is a rough figure**, and said with its range (`spearman_range`). On
NAS-Bench-201's published latencies (8 devices, 10 random and 10 proposed sets of 10 cells each, 160
profiles), the leave-one-out Spearman fell below 0.8 for 10 profiles that ranked the other 15,615 cells at
0.89-0.98 (Pixel 3 proposed: 0.71 for a profile at 0.975): a left-out cell at an end of the set is
predicted by extrapolation. Calling those "weak" told users to distrust good profiles, so a profile is
called weak only when the upper end of its range is under `WEAK_SPEARMAN` (1 of the 160: a Pixel 2
profile at 0.18 that ranked the rest at 0.89), and uncertain, with the same advice, when only its value is.
"""

from __future__ import annotations

import html
import math
from statistics import NormalDist, median
from typing import TYPE_CHECKING

from nas_workbench.profiling.device_local import LOCAL

if TYPE_CHECKING:
    from nas_workbench.profiling.targets import DeviceProfile

__all__ = [
    "SPEARMAN_CONFIDENCE",
    "WEAK_SPEARMAN",
    "profile_html",
    "profile_lines",
    "profile_summary",
    "spearman_range",
]

#: Below this leave-one-out Spearman a profile is called weak: it orders networks too poorly for a budget
#: on the device to mean much (the published NAS-Bench-201 devices reach 0.89-1.00 from 10 measurements).
WEAK_SPEARMAN = 0.8


#: Confidence of the range a profile's leave-one-out Spearman is said with.
SPEARMAN_CONFIDENCE = 0.9


def spearman_range(rho: float, n: int, confidence: float = SPEARMAN_CONFIDENCE) -> tuple[float, float]:
    """The range a Spearman correlation ``rho`` of ``n`` pairs spans at ``confidence``: Fisher's z with
    Bonett and Wright's (2000) variance for Spearman's rho, ``(1 + rho²/2) / (n - 3)``; the whole
    [-1, 1] for 3 pairs or fewer. From 10 pairs, 0.77 spans 0.30-0.94."""
    if n <= 3:
        return (-1.0, 1.0)
    rho = max(-0.9999, min(0.9999, rho))  # a perfect rank agreement of a few pairs: finite z
    half = NormalDist().inv_cdf(0.5 + confidence / 2) * math.sqrt((1 + rho**2 / 2) / (n - 3))
    z = math.atanh(rho)
    return (math.tanh(z - half), math.tanh(z + half))


def _spearman(profile: DeviceProfile) -> str:
    value = profile.quality["spearman"]
    return "-" if value is None else f"{value:.3f}"


def _spearman_with_range(profile: DeviceProfile) -> str:
    """``"0.770 (0.30-0.94 at 90% from 10 measurements)"``."""
    value, n = profile.quality["spearman"], len(profile.measurements)
    if value is None:
        return _spearman(profile)
    low, high = spearman_range(value, n)
    return f"{_spearman(profile)} ({low:.2f}-{high:.2f} at {SPEARMAN_CONFIDENCE:.0%} from {n})"


def profile_summary(profile: DeviceProfile) -> str:
    """One line: the device, its space and input, how many measurements, and the headline quality."""
    q = profile.quality
    return (
        f"DeviceProfile({profile.name!r}: {profile.space} at input {list(profile.input_shape)}, "
        f"{len(profile.measurements)} measurements; leave-one-out Spearman {_spearman(profile)}, "
        f"within ±10% {100 * q['within_10pct']:.0f}%)"
    )


def _weakness(profile: DeviceProfile) -> str | None:
    """Advice when the profile ranks networks poorly (weak) or may (uncertain), else None (module
    docstring: which is which)."""
    spearman = profile.quality["spearman"]
    if spearman is not None and spearman >= WEAK_SPEARMAN:
        return None
    n = len(profile.measurements)
    if spearman is None or spearman_range(spearman, n)[1] < WEAK_SPEARMAN:
        verdict = f"weak: it ranks networks poorly (Spearman below {WEAK_SPEARMAN} even at its range's top)"
    else:
        verdict = (
            f"uncertain: its Spearman is below {WEAK_SPEARMAN}, but from {n} measurements that may be "
            "the measurements' luck (a left-out one at an end of the set is predicted by extrapolation)"
        )
    more = n + 10
    reference = f" --reference {profile.reference['path']}" if profile.reference else ""
    advice = (
        f"{verdict}; measure 10 more architectures (`nas-workbench device propose --space {profile.space} "
        f"-n {more}{reference}`: a proposal begins with the shorter one of the same seed, so its first "
        f"{more - 10} are those proposed before) and fit again with all of them"
    )
    if profile.local is None:  # measured on the chain space: 0.79-0.84 -> 0.90-0.98 from 10 (device_local)
        advice += ", or, for a device that runs networks much as this machine does, with `--local-prior`"
    return advice


def profile_lines(profile: DeviceProfile) -> list[str]:
    """The profile in words: what it predicts, the measurements' range, its cross-validated quality and
    interval, the prior it averages over (a reference table, this machine's lookup table), and a warning if
    it is weak. The range shows a mistyped measurement (``1e9``, seconds in the ``latency_ms`` column),
    which no check can refuse in general: real devices span a thousandfold (NAS-Bench-201's Pixel 3 from
    0.003 to 19 ms)."""
    q = profile.quality
    measured = sorted(latency for _, latency in profile.measurements)
    lines = [
        f"{profile.name}: latency of {profile.space!r} networks at input {list(profile.input_shape)}, "
        f"{profile.source}",
        f"  measured: {len(measured)} architectures, {measured[0]:.4g} to {measured[-1]:.4g} ms "
        f"(median {median(measured):.4g} ms)",
        f"  cross-validated (leave-one-out): Spearman {_spearman_with_range(profile)}, within ±10% "
        f"{100 * q['within_10pct']:.0f}%, median error {100 * q['median_rel_error']:.1f}%",
        f"  80% interval: a new architecture's latency lies within x{q['ratio_p10']:.2f} to "
        f"x{q['ratio_p90']:.2f} of its prediction (conformal, from the leave-one-out ratios)",
    ]
    if profile.transfer is not None:
        weights = sorted(q["weights"].items(), key=lambda item: -item[1])
        averaged = ", ".join(f"{name} {100 * weight:.0f}%" for name, weight in weights[:5])
        priors = [f"other devices' latencies in {profile.reference['path']}"] if profile.reference else []
        priors += [f"{LOCAL} ({profile.local.correction_name})"] if profile.local else []
        lines.append(f"  prior: {' and '.join(priors)}; models averaged: {averaged}")
    weakness = _weakness(profile)
    if weakness is not None:
        lines.append(f"  {weakness}")
    return lines


def profile_html(profile: DeviceProfile) -> str:
    """`profile_lines` for a notebook cell: the first line as a heading, the rest as a list."""
    first, *rest = profile_lines(profile)
    items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in rest)
    return f"<p><b>{html.escape(first)}</b></p><ul>{items}</ul>"
