"""`WorkbenchOptions`: what a workbench takes besides its settings, defined once for `Workbench` and
`Workbench.load` (which passes them on)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:  # the engine's runner is imported when a search starts, not with the widget
    from nas_workbench.engine.runner import Evaluate

__all__ = ["WorkbenchOptions"]


class WorkbenchOptions(TypedDict, total=False):
    """The keyword arguments of `Workbench` and `Workbench.load`, each optional.

    Attributes:
        evaluate: Optional evaluation replacing training, passed to `nas_workbench.search`.
        data: The data to search on, as `nas_workbench.search` takes it (None: digits); a stored study
            searched on data of your own is shown, and asks for that data.
        namespace: Where the dataset field looks for data (default: the kernel's variables).
        workers: Where Start and Resume run the trials at first (the Run tab's "workers" choice), as
            ``SearchRun.start(workers=...)`` takes it: None in this kernel, N in N local worker
            processes, 0 in workers started elsewhere, which the workbench follows.
    """

    evaluate: Evaluate | None
    data: Any
    namespace: Mapping[str, Any] | None
    workers: int | None
