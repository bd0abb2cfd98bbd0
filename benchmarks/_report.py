"""What every benchmark script shares: the ``--json`` (and ``--busy``) options of its command line,
writing its figures where ``--json`` says, and the compiled copy of a checkout that a tree comparison runs.

Scripts run as scripts, not as a package: one in a folder below this one puts this folder on its path
before importing this module (``sys.path.insert(0, str(Path(__file__).resolve().parents[1]))``).
"""

from __future__ import annotations

import argparse
import compileall
import shutil
from pathlib import Path
from typing import Any

from nas_workbench.profiling.cache import write_json_atomic

__all__ = ["compiled_copy", "parser", "write_json"]


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


def compiled_copy(tree: str, folder: Path) -> str:
    """A copy of checkout ``tree``'s package and benchmarks in a new folder under ``folder``, compiled to
    bytecode as an installed package is, for a comparison of two checkouts to time their code, not their
    compiler: where ``PYTHONDONTWRITEBYTECODE`` is set (this project's machines set it), every process
    would compile each of the tree's modules from source again, and a tree with more or longer modules
    (docstrings included) would be charged for it at every import (about 0.2 s of a first workbench's
    imports here). The copy holds ``nas_workbench`` and ``benchmarks`` only; give its path as the tree."""
    copy = Path(folder) / f"tree{len(list(Path(folder).glob('tree*')))}"
    for part in ("nas_workbench", "benchmarks"):
        skip = shutil.ignore_patterns("__pycache__", "results")
        shutil.copytree(Path(tree) / part, copy / part, ignore=skip)
    compileall.compile_dir(copy, quiet=1)
    return str(copy)
