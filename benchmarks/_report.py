"""What every benchmark script shares: the ``--json`` (and ``--busy``) options of its command line, and
writing its figures where ``--json`` says.

Scripts run as scripts, not as a package: one in a folder below this one puts this folder on its path
before importing this module (``sys.path.insert(0, str(Path(__file__).resolve().parents[1]))``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nas_workbench.profiling.cache import write_json_atomic

__all__ = ["parser", "write_json"]


def parser(doc: str | None, busy: bool = False) -> argparse.ArgumentParser:
    """A script's parser, described by the first line of its docstring ``doc``, with ``--json PATH`` and,
    when ``busy``, ``--busy`` (keep one core busy in another process meanwhile: `profiling/_busy.py`)."""
    made = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    made.add_argument("--json", type=Path, help="also write the figures here, as JSON")
    if busy:
        made.add_argument(
            "--busy", action="store_true", help="keep one core busy in another process meanwhile"
        )
    return made


def write_json(path: Path | str | None, figures: Any) -> None:
    """Write ``figures`` to ``path`` as JSON (its folder made, the file replaced whole), when ``--json`` gave
    one; nothing when ``path`` is None."""
    if path is not None:
        write_json_atomic(Path(path), figures)
