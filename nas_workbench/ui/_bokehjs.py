"""Load BokehJS in the browser from the Jupyter server (see `nas_workbench.server.bokehjs`), not a CDN.

`loader_bundle()` is a display bundle of about a kilobyte that jupyter_bokeh's renderer runs (the MIME
type ``application/vnd.bokehjs_load.v0+json``, run only for trusted outputs, like any script). It fetches
the bundles *synchronously* from ``{baseUrl}nas-workbench/bokehjs/<version>/``: jupyter_bokeh's widget
view needs ``window.Bokeh`` the moment it is created, and when a saved notebook is reopened the widget
views are created right after the outputs are rendered; a script that loaded asynchronously could lose
that race. The files are immutable per version, so the browser serves later loads from its cache.

When BokehJS cannot be loaded (the server extension is not enabled, or the server has another bokeh),
the loader writes the reason into its own output instead of leaving the plots blank without a word.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import bokeh

from nas_workbench._bokehjs_route import BUNDLES, URL_PREFIX

__all__ = ["LOAD_MIME_TYPE", "loader_bundle", "loader_script"]

#: The MIME type jupyter_bokeh's JupyterLab extension executes to load BokehJS.
LOAD_MIME_TYPE = "application/vnd.bokehjs_load.v0+json"

_SCRIPT = """(function () {
  var version = %(version)s, bundles = %(bundles)s, prefix = %(prefix)s;
  var output = document.currentScript && document.currentScript.parentNode;
  function fail(reason) {
    var message = "NAS Workbench: the plots need BokehJS " + version + " from the Jupyter server, but " +
      reason;
    console.error(message);
    if (output) {
      var div = document.createElement("pre");
      div.style.color = "#b00020";
      div.textContent = message;
      output.appendChild(div);
    }
  }
  if (window.Bokeh && window.Bokeh.version === version) { return; }
  var config = document.getElementById("jupyter-config-data");
  var base = config ? (JSON.parse(config.textContent).baseUrl || "/") : "/";
  for (var i = 0; i < bundles.length; i++) {
    var url = base + prefix + "/" + version + "/" + bundles[i] + ".min.js";
    var request = new XMLHttpRequest();
    try {
      request.open("GET", url, false);
      request.send();
    } catch (error) {
      return fail(url + " could not be fetched (" + error + ").");
    }
    if (request.status !== 200) {
      var plain = (request.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0;
      return fail(url + " answered " + request.status + ": " + (plain ? request.responseText :
        "is the nas_workbench server extension enabled? (jupyter server extension list)"));
    }
    var script = document.createElement("script");
    script.textContent = request.responseText + "\\n//# sourceURL=" + url;
    document.head.appendChild(script);
  }
})();
"""


def loader_script(bundles: Sequence[str] = ("bokeh",)) -> str:
    """The JavaScript that loads ``bundles`` of this kernel's BokehJS version from the Jupyter server."""
    unknown = sorted(set(bundles) - set(BUNDLES))
    if unknown:
        raise ValueError(f"unknown BokehJS bundles {unknown}; the server serves {list(BUNDLES)}")
    values = {"version": bokeh.__version__, "bundles": list(bundles), "prefix": URL_PREFIX}
    return _SCRIPT % {key: json.dumps(value) for key, value in values.items()}


def loader_bundle(bundles: Sequence[str] = ("bokeh",)) -> dict[str, str]:
    """A display bundle that loads BokehJS, for ``IPython.display.display(bundle, raw=True)``."""
    return {LOAD_MIME_TYPE: loader_script(bundles), "text/plain": ""}
