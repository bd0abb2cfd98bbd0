"""Warnings attributed to the code that called the workbench, not to the workbench's own lines.

``warnings.warn`` names the line its ``stacklevel`` points at, and Python shows that line under the
message. A fixed level fits one call path only: the lookup table's "no fitted correction" warning, raised
inside `predict_latency` with ``stacklevel=3``, named ``out["latency_ms"] = predict_latency(`` of the
workbench's own profile code when a notebook called ``nw.profile`` (tutorial 06 in JupyterLab), a line
that tells a learner nothing. `warn_caller` counts the frames up to the first one outside the package.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from types import FrameType

__all__ = ["warn_caller"]

_PACKAGE = str(Path(__file__).resolve().parent)


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` at the first frame outside ``nas_workbench`` (a notebook cell,
    a script, a test), whichever workbench functions lie between."""
    level = 2  # the caller of this function
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
