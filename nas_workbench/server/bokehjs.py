"""BokehJS served by the Jupyter server, so plots render with no internet and notebooks stay small.

``GET {base_url}nas-workbench/bokehjs/<version>/<bundle>.min.js`` answers with the BokehJS bundle of the
``bokeh`` package installed next to the server (``bokeh.min.js``, ``bokeh-gl.min.js``,
``bokeh-widgets.min.js``, ``bokeh-tables.min.js``, ``bokeh-mathjax.min.js``). The kernel side
(`nas_workbench.ui._bokehjs`) asks for the version its own ``bokeh`` needs; another version is a 404
whose message says which one the server has, because a BokehJS of another version cannot read the
kernel's documents. The version in the path also makes the files immutable, so browsers cache them.

No CDN is involved (clusters and this project's machines often have no internet), and a saved notebook
holds a loader of about a kilobyte instead of 8 MB of inlined BokehJS.
"""

from __future__ import annotations

import re
from typing import Any

import bokeh
from bokeh.util.paths import bokehjs_path
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import FileFindHandler
from jupyter_server.utils import url_path_join
from tornado import web

from nas_workbench._bokehjs_route import BUNDLES, URL_PREFIX

__all__ = ["BUNDLES", "URL_PREFIX", "BokehJSHandler", "bokehjs_routes"]

_FILE = "|".join(re.escape(name) for name in BUNDLES)


class BokehJSHandler(FileFindHandler):
    """Serves the installed package's BokehJS bundles, immutable per version.

    Reachable without logging in, like JupyterLab's own static files: it serves only the public BokehJS
    library files named in `BUNDLES`, from the bokeh package folder.
    """

    # FileFindHandler caches name -> file per class: a class of our own keeps "bokeh.min.js" ours.
    _static_paths: dict[str, str] = {}  # noqa: RUF012 - the base class's own per-class cache

    def initialize(self) -> None:  # type: ignore[override]  # the route passes no arguments: the folder is fixed
        super().initialize(path=str(bokehjs_path() / "js"))

    def set_headers(self) -> None:
        super().set_headers()
        self.set_header("Cache-Control", "public, max-age=31536000, immutable")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors as plain text, which the kernel's loader shows in the notebook as they are."""
        error = kwargs.get("exc_info", (None, None))[1]
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(
            error.log_message if isinstance(error, web.HTTPError) and error.log_message else "not found"
        )

    def _check_version(self, version: str) -> None:
        if version != bokeh.__version__:
            raise web.HTTPError(
                404,
                f"BokehJS {version} was asked for, but the Jupyter server has bokeh {bokeh.__version__}: "
                f"install bokeh=={version} in the server's environment (the kernel's version)",
            )

    @allow_unauthenticated
    def get(self, version: str, name: str, include_body: bool = True) -> Any:  # type: ignore[override]
        self._check_version(version)
        return super().get(name, include_body)

    @allow_unauthenticated
    def head(self, version: str, name: str) -> Any:  # type: ignore[override]
        self._check_version(version)
        return super().head(name)


def bokehjs_routes(base_url: str) -> list[tuple[str, type[BokehJSHandler]]]:
    """The URL pattern of `BokehJSHandler` under ``base_url``."""
    pattern = url_path_join(base_url, URL_PREFIX, r"(?P<version>[^/]+)", rf"(?P<name>(?:{_FILE})\.min\.js)$")
    return [(pattern, BokehJSHandler)]
