"""REST handlers of the NAS Workbench server extension, under ``{base_url}nas-workbench/api/``.

``GET  studies``                              every study of every storage, with per-storage errors
``GET  studies/<storage>/<study>``            one study's details (Pareto front, best architecture)
``POST studies/<storage>/<study>/notebook``   write a notebook that loads the study; body ``{"directory"}``
``POST notebooks``                            write a "New NAS search" notebook; body ``{"directory"}``

Every handler needs Jupyter's authentication and authorization. The browser names storages only by the
ids the listing gave it; a study by its name; a folder by its contents path, which the contents manager
keeps inside the server root. Errors are JSON ``{"message", "reason"}`` with a fitting status code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from http.client import responses
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from nas_workbench.exceptions import ConfigError
from nas_workbench.server import notebooks
from nas_workbench.server.catalog import (
    STORAGE_ID,
    Storage,
    StorageCatalog,
    StorageError,
    UnknownStorageError,
)
from nas_workbench.server.studies import StudyNotFoundError, StudySummaries
from nas_workbench.storage_checks import check_study_name

__all__ = ["ApiError", "routes"]

T = TypeVar("T")


class ApiError(web.HTTPError):
    """An error the client caused or should see, sent as JSON with ``message`` verbatim."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message.replace("%", "%%"))  # tornado logs log_message % args
        self.message = message


def _shown(value: str, limit: int = 80) -> str:
    """A client-given value quoted for an error message, cut to ``limit`` characters."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


class _Handler(APIHandler):
    """Shared checks of the NAS Workbench handlers."""

    auth_resource = "nas_workbench"

    def initialize(self, catalog: StorageCatalog) -> None:
        self.catalog = catalog

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None))[1]
        if not isinstance(error, ApiError):
            super().write_error(status_code, **kwargs)
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": error.message, "reason": responses.get(status_code, "")}))

    def storage(self, storage_id: str) -> Storage:
        """The configured storage ``storage_id`` names (400 when malformed, 404 when unknown)."""
        if not STORAGE_ID.fullmatch(storage_id):
            raise ApiError(
                400, f"malformed storage id {_shown(storage_id)}: expected 12 hex digits from the listing"
            )
        try:
            return self.catalog.get(storage_id)
        except UnknownStorageError as error:
            raise ApiError(404, str(error)) from None

    @staticmethod
    def study_name(name: str) -> str:
        """``name`` if it can be a study name, by the config's rule (400 otherwise)."""
        try:
            check_study_name("study", name)
        except ConfigError as error:
            raise ApiError(400, f"malformed study name {_shown(name)}: {error.allowed}") from None
        return name

    def body(self) -> dict[str, Any]:
        """The JSON object sent (400 when it is not one)."""
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as error:
            raise ApiError(400, f"the request body is not JSON: {error}") from None
        if not isinstance(data, dict):
            raise ApiError(400, f"the request body must be a JSON object, not {type(data).__name__}")
        return data

    async def directory(self) -> str:
        """The ``directory`` field: an existing, visible folder of the contents manager (else 400, 404)."""
        value = self.body().get("directory", "")
        if not isinstance(value, str):
            raise ApiError(
                400, f"directory must be a string (a folder relative to the server root), not {value!r}"
            )
        parts = [p for p in value.strip("/").split("/") if p not in ("", ".")]
        if value.startswith("/") or "\\" in value or "\x00" in value or ".." in parts:
            raise ApiError(400, f"directory {_shown(value)} must be a folder relative to the server root")
        directory = "/".join(parts)
        manager = self.contents_manager
        if not await ensure_async(manager.dir_exists(directory)) or await ensure_async(
            manager.is_hidden(directory)
        ):
            raise ApiError(404, f"no folder {_shown(directory)} on the server")
        return directory

    def kernelspec(self) -> dict[str, str] | None:
        """The server's default kernel, to write into new notebooks' metadata."""
        name = self.kernel_manager.default_kernel_name
        try:
            spec = self.kernel_spec_manager.get_kernel_spec(name)
        except Exception:  # jupyter_client raises NoSuchKernel or OSError; either way, leave it to the user
            return None
        return {"name": name, "display_name": spec.display_name, "language": spec.language}

    async def read(self, function: Callable[..., T], *args: Any) -> T:
        """Run a storage read in a thread (the server keeps serving kernels) and map its errors."""
        try:
            return await asyncio.to_thread(function, *args)
        except StudyNotFoundError as error:
            raise ApiError(404, str(error)) from None
        except StorageError as error:
            raise ApiError(503, str(error)) from None
        except sqlalchemy.exc.SQLAlchemyError as error:  # e.g. a database server that went away
            raise ApiError(503, f"the storage cannot be read: {type(error).__name__}: {error}") from None

    async def open(self, storage: Storage) -> StudySummaries:
        """The studies of ``storage`` (503 when unreadable, 404 when the file is not there)."""
        opened = await self.read(self.catalog.open, storage)
        if opened is None:
            raise ApiError(404, f"the storage {storage.label} has no studies yet")
        return opened


class StudiesHandler(_Handler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        storages, studies = [], []
        for storage in self.catalog.storages():
            error = None
            try:
                opened = await self.read(self.catalog.open, storage)
                rows = [] if opened is None else await self.read(opened.rows)
            except ApiError as failure:  # one unreadable storage: say so, list the others
                error, rows = failure.message, []
            storages.append({"id": storage.id, "label": storage.label, "error": error})
            studies += [{"storage": storage.id, **row} for row in rows]
        self.finish(json.dumps({"storages": storages, "studies": studies}))


class StudyHandler(_Handler):
    @web.authenticated
    @authorized
    async def get(self, storage_id: str, study: str) -> None:
        storage, name = self.storage(storage_id), self.study_name(study)
        details = await self.read((await self.open(storage)).details, name)
        self.finish(json.dumps({"storage": storage.id, "storage_label": storage.label, **details}))


class StudyNotebookHandler(_Handler):
    @web.authenticated
    @authorized(resource="contents")
    async def post(self, storage_id: str, study: str) -> None:
        storage, name = self.storage(storage_id), self.study_name(study)
        directory = await self.directory()
        await self.read((await self.open(storage)).details, name)  # 404 for a study that is not there
        root = Path(getattr(self.contents_manager, "root_dir", self.catalog.root_dir))
        url = notebooks.notebook_storage_url(storage, root / directory)
        notebook = notebooks.study_notebook(name, url, storage.label, self.kernelspec())
        path = await notebooks.save_notebook(self.contents_manager, directory, name, notebook)
        self.set_status(201)
        self.finish(json.dumps({"path": path}))


class SearchNotebookHandler(_Handler):
    @web.authenticated
    @authorized(resource="contents")
    async def post(self) -> None:
        directory = await self.directory()
        notebook = notebooks.new_search_notebook(self.kernelspec())
        path = await notebooks.save_notebook(self.contents_manager, directory, "nas_search", notebook)
        self.set_status(201)
        self.finish(json.dumps({"path": path}))


class NoEndpointHandler(_Handler):
    """Any other path under the API: a JSON 404 (tornado's own would be an HTML page)."""

    @web.authenticated
    def get(self, path: str) -> None:
        raise ApiError(404, f"no NAS Workbench endpoint {_shown(path)}: see nas_workbench/server/handlers.py")

    post = put = patch = delete = get


def routes(base_url: str, catalog: StorageCatalog) -> list[tuple[str, type[_Handler], dict[str, Any]]]:
    """The URL patterns of the extension, each handler bound to ``catalog``."""
    api = url_path_join(base_url, "nas-workbench", "api")
    study = r"studies/(?P<storage_id>[^/]+)/(?P<study>[^/]+)"
    patterns = [
        ("studies", StudiesHandler),
        (study, StudyHandler),
        (study + "/notebook", StudyNotebookHandler),
        ("notebooks", SearchNotebookHandler),
        ("(?P<path>.*)", NoEndpointHandler),  # last: the patterns are tried in order
    ]
    return [
        (url_path_join(api, pattern) + "/?$", handler, {"catalog": catalog}) for pattern, handler in patterns
    ]
