"""What a run does while it opens, said as each step begins: for the widget's status line, the CLI's stderr.

Opening a new study settles its budget before the first trial: a relative limit is resolved by profiling 32
networks of the space (tens of seconds on a busy 2-core VM), or reused at once from the profiling cache
(`nas_workbench.engine.resolution_cache`), and then the limits are checked against the space (a descent
through it: seconds). Which of these happens is known only inside the opening, so the line written before
it ("resolving ... by profiling 32 random networks") was wrong whenever the limit was reused. The caller
wraps the opening in ``with narrated(say):`` and the opening calls `narrate` with each step, in words that
follow "Opening study 'x': "; ``say`` runs in the opening's thread (a UI posts it to its loop). A context
variable carries it, as `nas_workbench.profiling.checkpoint` carries Stop's check, so the opening's
signatures stay as they are and a caller that listens to nothing pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from nas_workbench._context_hook import ContextHook

__all__ = ["narrate", "narrated"]

_SAY: ContextHook[Callable[[str], None]] = ContextHook("nas_workbench_narration")

#: Call ``say`` with each step an opening inside the block (in this thread) begins: ``with narrated(say):``.
narrated = _SAY.installed


def narrate(step: str) -> None:
    """Say ``step`` ("resolving the budget ...", "checking ...") to the enclosing `narrated` block, if any."""
    if (say := _SAY.get()) is not None:
        say(step)
