"""An unstable latency profile of a network that was profiled stably a moment ago reports that stable figure.

A timing that never settles (the machine ran slow for longer than the timing could wait, or its halves
disagreed up to the cap) is marked unstable, and its figure can sit far off the network's: on the idle
2-vCPU AMD EPYC VM with one core busy (2026-12-04 22:41, `repeatability.py --busy`) a slow episode at
1.65x outlasted the wait (`TimingOptions.slow_time_s`) in three profiles of cell seed 4 (69 dropped
attempts, 3 profiles marked unstable) and gave the network a coefficient of variation of 14.2% over its 10
profiles, against a median of 1.0% over the ten networks. The workbench does not need that figure when
it holds a better one: the same network, on the same device, clock and batch, profiled stably within the
last `KEEP_S` seconds. Under five other engineers' load (Intel Xeon VM, 2026-12-05 00:22, load 24) earlier
figures stood in for 21 of 100 profiles; the networks' median CV was 2.8% reported, 3.1% from the
profiles' own figures (`repeatability.py`'s ``own CV``). Keying a network costs about 2 ms a profile (317
operators of cell seed 0), against 0.4-1.1 s of timing.

So `profile` keeps, per process, each network's last `KEEP_FIGURES` stable figures (a network is its
operators as traced, with their tensor layouts: two networks that run the same operators on the same shapes
cost the same), and an unstable profile of a network with such figures reports their median instead of its
own, with ``detail["stable"] = True``, ``reported_from = "earlier stable profiles"``, their count and age;
its own figure stays in ``min_ms`` and its reason in ``own_unstable_reason``. The median, not the minimum:
the minimum of several profiles is lower than any one profile's figure and falls with every profile (a
ratchet that a machine slower for good could not move); the median is what a stable profile reports.
Stable profiles report their own figure, so a machine that changed is followed; figures older than
`KEEP_S` are not used, as the machine's load may have moved since. An unstable profile without earlier
stable figures is reported as it is, marked unstable.

**A stable figure that disagrees with them is timed again** (`confirm`). A profile can settle, by every sign
inside it (halves agree, the reference at its quiet level), at a level several percent off the network's: on
the 2-vCPU Intel Xeon VM with one core busy (2026-12-05 11:27-11:33, `repeatability.py --busy`, load 1.5-6)
cell seed 4 read 4.05 ms between profiles of 3.58-3.73 ms (and 4.49 between 3.85-4.05 in the next run), its
median block 5.09 ms against 3.8-3.9: one profile took its CV from 1.5% to 3.6%. The profile cannot tell;
the network's recent figures can. So a stable figure more than `CONFIRM_TOLERANCE` from the median of the
network's stable figures of the last `KEEP_S` seconds is timed once more, and the profile reports whichever
of its two stable timings is nearer that median: an outlier is replaced by a timing of the network, never by
the earlier figures, and a machine that changed is still followed (both timings show it, and each becomes
one of the figures the next profile is compared with). The detail keeps both (``confirmation``). A network's
first profile, and every network of a search (each is profiled once), time once as before.
"""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import replace

from nas_workbench.metrics import Measurement

__all__ = ["CONFIRM_TOLERANCE", "KEEP_FIGURES", "KEEP_S", "StableFigures", "network_key"]

#: Stable figures older than this (seconds) are not reported in place of an unstable profile.
KEEP_S = 120.0
#: Stable figures kept per network (their median stands in for an unstable profile).
KEEP_FIGURES = 5
#: A stable figure further than this (relative) from the median of the network's recent stable figures is
#: timed again (twice the stopping rule's 2% between a timing's halves; the module docstring).
CONFIRM_TOLERANCE = 0.04
#: Networks remembered at most (the least recently profiled is forgotten first).
MAX_NETWORKS = 512


def network_key(device_key: str, clock: str, op_keys: Iterable[str]) -> str:
    """What identifies a network's latency: the device fingerprint, the timing clock option and the traced
    operators with their tensor layouts (batch size included), hashed."""
    digest = hashlib.sha256(f"{device_key}\n{clock}".encode())
    for key in op_keys:
        digest.update(b"\n" + key.encode())
    return digest.hexdigest()


class StableFigures:
    """Each network's recent stable latency figures (milliseconds, with the monotonic time they were taken),
    and the rule of the module docstring (`settle`). Thread-safe."""

    def __init__(self) -> None:
        self._figures: OrderedDict[str, deque[tuple[float, float]]] = OrderedDict()
        self._guard = threading.Lock()

    def recent(self, key: str, keep_s: float = KEEP_S, now: float | None = None) -> list[float]:
        """The stable figures of network ``key`` from the last ``keep_s`` seconds, oldest first."""
        now = time.monotonic() if now is None else now
        with self._guard:
            kept = list(self._figures.get(key, ()))
        return [value for taken, value in kept if now - taken <= keep_s]

    def confirm(
        self,
        key: str,
        measurement: Measurement,
        retime: Callable[[], Measurement],
        keep_s: float = KEEP_S,
        now: float | None = None,
    ) -> Measurement:
        """``measurement``, or, when it is stable and further than `CONFIRM_TOLERANCE` from the median of the
        network's recent stable figures, whichever of it and a second timing (``retime()``, stable) is
        nearer that median, with both in ``detail["confirmation"]`` (the module docstring). Call before
        `settle`; ``keep_s`` 0 turns it off, as it turns off `settle`'s rule."""
        recent = self.recent(key, keep_s, now) if keep_s > 0 else []
        if not recent or (measurement.detail or {}).get("stable") is False:
            return measurement
        median = statistics.median(recent)
        if abs(measurement.value / median - 1) <= CONFIRM_TOLERANCE:
            return measurement
        second = retime()
        second_stable = (second.detail or {}).get("stable") is not False
        timings = [measurement, second] if second_stable else [measurement]
        chosen = min(timings, key=lambda m: abs(m.value / median - 1))
        confirmation = {
            "recent_median_ms": median,
            "recent_profiles": len(recent),
            "first_ms": measurement.value,
            "second_ms": second.value,
            "second_stable": second_stable,
            "reported": "first" if chosen is measurement else "second",
        }
        return replace(chosen, detail={**(chosen.detail or {}), "confirmation": confirmation})

    def settle(
        self, key: str, measurement: Measurement, keep_s: float = KEEP_S, now: float | None = None
    ) -> Measurement:
        """Remember ``measurement`` of network ``key`` when it is stable and return it; when it is unstable,
        return the median of the network's stable figures of the last ``keep_s`` seconds in its place (the
        module docstring), or ``measurement`` itself when there are none (or ``keep_s`` is 0)."""
        now = time.monotonic() if now is None else now
        detail = measurement.detail or {}
        with self._guard:
            kept = self._figures.setdefault(key, deque(maxlen=KEEP_FIGURES))
            self._figures.move_to_end(key)
            while len(self._figures) > MAX_NETWORKS:
                self._figures.popitem(last=False)
            if detail.get("stable") is not False:
                kept.append((now, measurement.value))
                return measurement
            recent = [(taken, value) for taken, value in kept if now - taken <= keep_s]
        if not recent or keep_s <= 0:
            return measurement
        figure = statistics.median(value for _, value in recent)
        own = {name: value for name, value in detail.items() if name not in ("unstable_reason", "note")}
        reason = detail.get("unstable_reason", "unstable")
        return replace(
            measurement,
            value=figure,
            detail={
                **own,
                "stable": True,
                "reported_from": "earlier stable profiles",
                "earlier_profiles": len(recent),
                "earlier_age_s": round(now - recent[-1][0], 3),
                "own_unstable_reason": reason,
                "note": (
                    f"this profile was unstable ({reason}; {detail.get('min_ms', measurement.value):.4g} ms):"
                    f" reported the median of {len(recent)} stable profiles of the same network from the"
                    f" last {keep_s:.0f} s"
                ),
            },
        )
