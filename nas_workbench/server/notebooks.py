"""The notebooks the extension writes: one that loads a study into the workbench, and a new search.

Both are built with nbformat and saved through Jupyter's contents manager, which keeps them inside the
server's root and refuses hidden folders, exactly as when a user saves a notebook.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import nbformat
import sqlalchemy
from jupyter_core.utils import ensure_async
from nbformat import v4

from nas_workbench.engine.storage_urls import PASSWORD_NOTE, url_without_password
from nas_workbench.server.catalog import Storage

__all__ = ["new_search_notebook", "notebook_storage_url", "save_notebook", "study_notebook"]

#: The settings of a new search, as the template's config cell writes them.
NEW_SEARCH_CONFIG = (
    'config = nw.SearchConfig(space="chain", strategy="tpe", objectives=["accuracy", "latency_ms"], '
    'budget={"latency_ms": 1.0}, n_trials=30)'
)


def _literal(text: str) -> str:
    """``text`` as a double-quoted Python string literal (JSON escapes are valid Python escapes)."""
    return json.dumps(text, ensure_ascii=False)


def study_notebook(study: str, storage_url: str, label: str, kernelspec: dict[str, str] | None) -> Any:
    """A notebook that loads study ``study`` from ``storage_url`` (which carries no password, see
    `notebook_storage_url`) into the workbench widget."""
    where = f"From the storage `{label}`." + ("" if storage_url.startswith("sqlite") else f" {PASSWORD_NOTE}")
    return _notebook(
        [
            v4.new_markdown_cell(f"# NAS study `{study}`\n\n{where}"),
            v4.new_code_cell(
                "import nas_workbench as nw\n"
                f"wb = nw.Workbench.load({_literal(study)}, storage={_literal(storage_url)})\n"
                "wb"
            ),
        ],
        kernelspec,
    )


def new_search_notebook(kernelspec: dict[str, str] | None) -> Any:
    """The "New NAS search" template: what to do, a config cell, and the workbench widget."""
    return _notebook(
        [
            v4.new_markdown_cell(
                "# New NAS search\n\n"
                "Edit the config (search space, strategy, objectives, hardware budget, number of trials), "
                "run the notebook, and press **Start** in the workbench. Results are stored in "
                "`runs/nas_workbench.db` and listed in the NAS Workbench side panel."
            ),
            v4.new_code_cell(f"import nas_workbench as nw\n\n{NEW_SEARCH_CONFIG}"),
            v4.new_code_cell("nw.Workbench(config)"),
        ],
        kernelspec,
    )


def _notebook(cells: list[Any], kernelspec: dict[str, str] | None) -> Any:
    notebook = v4.new_notebook(cells=cells)
    if kernelspec is not None:
        notebook.metadata["kernelspec"] = kernelspec
    nbformat.validate(notebook)
    return notebook


def notebook_storage_url(storage: Storage, notebook_dir: Path) -> str:
    """The URL a notebook in ``notebook_dir`` uses to open ``storage``.

    A kernel starts in its notebook's folder, so a SQLite file is named relative to that folder (the
    notebook keeps working when the project folder moves); a database server keeps its URL without the
    password, which never leaves the server (the kernel's driver finds it as libpq does).
    """
    if storage.sqlite_path is None:
        return url_without_password(storage.url)
    relative = Path(os.path.relpath(storage.sqlite_path, notebook_dir)).as_posix()
    return (
        sqlalchemy.engine.make_url(storage.url).set(database=relative).render_as_string(hide_password=False)
    )


def notebook_name(stem: str) -> str:
    """A safe file name from ``stem`` (a study name may hold any character)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "study"
    return f"{safe[:80]}.ipynb"


async def save_notebook(contents_manager: Any, directory: str, stem: str, notebook: Any) -> str:
    """Save ``notebook`` as ``<stem>.ipynb`` in ``directory`` (``<stem>-1.ipynb``... when taken).

    Returns:
        The new notebook's path, relative to the server root.
    """
    name = await ensure_async(contents_manager.increment_filename(notebook_name(stem), directory, insert="-"))
    path = f"{directory}/{name}" if directory else name
    model = {"type": "notebook", "format": "json", "content": notebook}
    saved = await ensure_async(contents_manager.save(model, path))
    return str(saved["path"])
