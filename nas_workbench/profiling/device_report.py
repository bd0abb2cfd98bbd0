"""What a device profile says about itself: a one-line summary, its cross-validated quality in words, and
the same as a table in a notebook cell.

A user who fits a profile sees at once how far to trust it, without asking: ``board`` at the end of a
cell, ``print(board)``, ``nas-workbench device fit`` and ``device show`` all say the same lines. A profile
that ranks architectures poorly says so and how to mend it (more measurements), since every budget
judged by it inherits its errors.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from nas_workbench.profiling.device_local import LOCAL

if TYPE_CHECKING:
    from nas_workbench.profiling.targets import DeviceProfile

__all__ = ["WEAK_SPEARMAN", "profile_html", "profile_lines", "profile_summary"]

#: Below this leave-one-out Spearman a profile is called weak: it orders networks too poorly for a budget
#: on the device to mean much (the published NAS-Bench-201 devices reach 0.89-1.00 from 10 measurements).
WEAK_SPEARMAN = 0.8


def _spearman(profile: DeviceProfile) -> str:
    value = profile.quality["spearman"]
    return "-" if value is None else f"{value:.3f}"


def profile_summary(profile: DeviceProfile) -> str:
    """One line: the device, its space and input, how many measurements, and the headline quality."""
    q = profile.quality
    return (
        f"DeviceProfile({profile.name!r}: {profile.space} at input {list(profile.input_shape)}, "
        f"{len(profile.measurements)} measurements; leave-one-out Spearman {_spearman(profile)}, "
        f"within ±10% {100 * q['within_10pct']:.0f}%)"
    )


def _weakness(profile: DeviceProfile) -> str | None:
    """Advice when the profile ranks networks poorly, else None."""
    spearman = profile.quality["spearman"]
    if spearman is not None and spearman >= WEAK_SPEARMAN:
        return None
    more = len(profile.measurements) + 10
    reference = f" --reference {profile.reference['path']}" if profile.reference else ""
    advice = (
        f"weak: it ranks networks poorly (Spearman below {WEAK_SPEARMAN}); measure 10 more architectures "
        f"(`nas-workbench device propose --space {profile.space} -n {more}{reference}`: a proposal begins "
        f"with the shorter one of the same seed, so its first {more - 10} are those proposed before) and fit "
        "again with all of them"
    )
    if profile.local is None:  # measured on the chain space: 0.79-0.84 -> 0.90-0.98 from 10 (device_local)
        advice += ", or, for a device that runs networks much as this machine does, with `--local-prior`"
    return advice


def profile_lines(profile: DeviceProfile) -> list[str]:
    """The profile in words: what it predicts, its cross-validated quality and interval, the prior it
    averages over (a reference table, this machine's lookup table), and a warning if it is weak."""
    q = profile.quality
    lines = [
        f"{profile.name}: latency of {profile.space!r} networks at input {list(profile.input_shape)}, "
        f"{profile.source}",
        f"  cross-validated (leave-one-out): Spearman {_spearman(profile)}, within ±10% "
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
