"""The Jupyter server extension behind the NAS Workbench JupyterLab panel and launcher, which also
serves BokehJS to the notebook widgets (`nas_workbench.server.bokehjs`).

Installing the package enables it (``etc/jupyter/jupyter_server_config.d/nas_workbench.json``). It lists
the studies of the storages it is configured with, in ``jupyter_server_config.py``::

    c.NasWorkbenchServer.runs_dir = "runs"              # every *.db file in it (the default storage's folder)
    c.NasWorkbenchServer.storages = ["postgresql://nas@db.example.org/nas"]
    c.NasWorkbenchServer.scan_depth = 3                 # Optuna SQLite files this deep under the root
                                                        # (e.g. sqlite:///mine.db beside a notebook); -1: none

and nothing else: the browser can only name those storages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets import Float, Int, List, Unicode
from traitlets.config import Configurable

__all__ = ["NasWorkbenchServer"]


class NasWorkbenchServer(Configurable):
    """Settings of the NAS Workbench server extension."""

    storages = List(
        Unicode(),
        help="Optuna storage URLs (SQLAlchemy) whose studies the side panel lists, besides the runs folder. "
        "A relative SQLite path is relative to the server's root directory.",
    ).tag(config=True)

    runs_dir = Unicode(
        "runs",
        help="Folder whose *.db SQLite files are Optuna storages to list (by default, searches write "
        "runs/nas_workbench.db). Relative to the server's root directory.",
    ).tag(config=True)

    scan_depth = Int(
        3,
        help="Folder levels below the server's root searched for Optuna SQLite files (*.db, *.sqlite, "
        "*.sqlite3 with SQLite's header and Optuna's tables; hidden folders are skipped). 0: the root only; "
        "-1: no search.",
    ).tag(config=True)

    scan_limit = Int(
        20_000, help="Directory entries looked at per search for SQLite files; the search stops there."
    ).tag(config=True)

    scan_interval = Float(
        10.0, help="Seconds a search's result is reused before the root is searched again."
    ).tag(config=True)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nas_workbench.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the REST handlers (with the storages configured for ``serverapp``) and BokehJS."""
    from nas_workbench.server.bokehjs import bokehjs_routes
    from nas_workbench.server.catalog import StorageCatalog
    from nas_workbench.server.discovery import StudyFileFinder
    from nas_workbench.server.handlers import routes

    settings = NasWorkbenchServer(parent=serverapp)
    root = Path(serverapp.root_dir)
    finder = (
        StudyFileFinder(root, settings.scan_depth, settings.scan_limit, settings.scan_interval)
        if settings.scan_depth >= 0
        else None
    )
    catalog = StorageCatalog(settings.storages, Path(settings.runs_dir), root, finder)
    serverapp.web_app.add_handlers(".*$", routes(serverapp.base_url, catalog))
    serverapp.web_app.add_handlers(".*$", bokehjs_routes(serverapp.base_url))  # plots render offline
    serverapp.log.info("NAS Workbench: listing studies of %d storage(s)", len(catalog.storages()))
