"""BokehJS from the Jupyter server: the files the kernel's loader asks for, and nothing else."""

from __future__ import annotations

import json
import re

import bokeh
import pytest
from bokeh.util.paths import bokehjs_path
from tornado.httpclient import HTTPClientError

from nas_workbench._bokehjs_route import URL_PREFIX
from nas_workbench.ui._bokehjs import LOAD_MIME_TYPE, loader_bundle, loader_script


async def test_serves_the_installed_bokehjs_immutable(jp_fetch):
    response = await jp_fetch(URL_PREFIX, bokeh.__version__, "bokeh.min.js")
    assert response.code == 200
    assert response.body == (bokehjs_path() / "js" / "bokeh.min.js").read_bytes()
    assert "immutable" in response.headers["Cache-Control"]
    assert "javascript" in response.headers["Content-Type"]


async def test_serves_without_login_like_jupyterlab_static_files(jp_fetch):
    response = await jp_fetch(
        URL_PREFIX, bokeh.__version__, "bokeh-widgets.min.js", headers={"Authorization": ""}
    )
    assert response.code == 200


async def test_another_version_is_refused_with_the_reason(jp_fetch):
    with pytest.raises(HTTPClientError) as failure:
        await jp_fetch(URL_PREFIX, "0.0.1", "bokeh.min.js")
    assert failure.value.code == 404
    assert f"bokeh {bokeh.__version__}" in failure.value.response.body.decode()


@pytest.mark.parametrize("name", ["compiler.js", "bokeh.js", "..%2F..%2F__init__.py", "lib/models/index.js"])
async def test_nothing_else_is_served(jp_fetch, name):
    with pytest.raises(HTTPClientError) as failure:
        await jp_fetch(URL_PREFIX, bokeh.__version__, name)
    assert failure.value.code == 404


def test_the_loader_asks_for_this_kernels_version_from_the_server():
    bundle = loader_bundle()
    script = bundle[LOAD_MIME_TYPE]
    assert json.dumps(bokeh.__version__) in script and json.dumps(URL_PREFIX) in script
    assert "jupyter-config-data" in script  # the server's base URL, read from the page
    assert re.search(
        r"\.open\(\"GET\", url, false\)", script
    )  # synchronous: Bokeh exists before widgets render
    assert len(json.dumps(bundle)) < 4_000  # what a notebook keeps, instead of megabytes of BokehJS


def test_the_loader_refuses_unknown_bundles():
    with pytest.raises(ValueError, match="unknown BokehJS bundles"):
        loader_script(["bokeh", "bokeh-everything"])
