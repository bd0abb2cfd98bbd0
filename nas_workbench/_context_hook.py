"""A callable installed for the calls made inside a ``with`` block of one thread, and nowhere else.

Two callers reach deep into work they do not own: Stop's check inside a network's profiling
(`nas_workbench.profiling.checkpoint`) and the narration of a run's opening
(`nas_workbench.engine.narration`).
A context variable carries each, so the signatures in between stay as they are, other threads and calls
outside the block see nothing, and a caller that installs nothing pays nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Generic, TypeVar

__all__ = ["ContextHook"]

F = TypeVar("F", bound=Callable[..., None])


class ContextHook(Generic[F]):
    """One hook: `installed` puts a callable in place for its block (nested blocks: the innermost), `get`
    reads it (None outside every block).

    Args:
        name: The context variable's name (for debugging).
    """

    def __init__(self, name: str) -> None:
        self._var: ContextVar[F | None] = ContextVar(name, default=None)

    @contextlib.contextmanager
    def installed(self, hook: F) -> Iterator[None]:
        """``hook`` for the calls made in this thread inside the block."""
        token = self._var.set(hook)
        try:
            yield
        finally:
            self._var.reset(token)

    def get(self) -> F | None:
        """The hook of the enclosing block, or None."""
        return self._var.get()
