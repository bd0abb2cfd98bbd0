"""Saving a device profile over one that holds measurements the new fit leaves out: said, not silent.

A notebook that fits a profile in its first cell (``fit_device("pixel3", space, archs, latency_ms)``) and
later verifies its search's finalists on the device (`nas_workbench.engine.device_verdicts.verify`, which
refits the saved profile with them) loses those measurements from the profile when it is run again top to
bottom: the first cell saves its ten over the refitted thirteen. The study keeps its verdicts, but the next
search would be judged by the poorer profile. So `fit_device` warns, naming what it drops and how to keep it
(in a notebook and from the command line, whose `device fit` is the same call).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nas_workbench._warnings import warn_caller
from nas_workbench.profiling.cache import read_json

__all__ = ["warn_dropped"]


def warn_dropped(name: str, path: Path, kept: Sequence[tuple[str, float]]) -> None:
    """Warn (`UserWarning`, pointing at the call of `fit_device`) when the profile saved at ``path``, about
    to be saved over, holds measurements that ``kept`` (the new profile's, architecture in the space's
    notation and its latency) does not; nothing when none is saved or every saved one is kept. Said as done:
    the user reads it once the call has returned."""
    saved = read_json(path)
    if not saved:
        return
    new = {arch for arch, _ in kept}
    dropped = sum(arch not in new for arch, _ in saved.get("measurements", []))
    if not dropped:
        return
    warn_caller(
        f"device profile {name!r}: the saved profile held {dropped} measurement{'s' * (dropped != 1)} "
        f"these {len(kept)} leave out (added by a verification or an earlier fit); this fit is saved over "
        "it and drops them. To get them back, fit again with their rows added (from the command line, the "
        "rows of the CSV "
        "given to `device verify`); in a notebook run again, load the saved profile rather than fitting "
        f"it anew: nw.profiling.load_device({name!r}) if {name!r} in nw.profiling.list_devices() else "
        "nw.profiling.fit_device(...)"
    )
