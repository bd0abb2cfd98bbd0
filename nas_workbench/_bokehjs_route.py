"""Where the Jupyter server serves BokehJS: the URL path and the bundles it may serve.

Shared by the server extension that serves the files (`nas_workbench.server.bokehjs`) and the notebook
widgets that load them (`nas_workbench.ui._bokehjs`), so the kernel side need not import the server
extension (jupyter_server, tornado) to know the address.
"""

from __future__ import annotations

__all__ = ["BUNDLES", "URL_PREFIX"]

#: Path of the BokehJS files under the server's base URL.
URL_PREFIX = "nas-workbench/bokehjs"

#: The BokehJS bundles that may be requested (the minified files of the bokeh package, nothing else).
BUNDLES = ("bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables", "bokeh-mathjax")
