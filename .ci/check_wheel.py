"""Check that the built wheel ships the JupyterLab extension (production build) and its server config."""

import sys
import zipfile
from pathlib import Path

wheel = next(Path(sys.argv[1]).glob("nas_workbench-*.whl"))
names = zipfile.ZipFile(wheel).namelist()
ext = [n for n in names if "/data/share/jupyter/labextensions/nas-workbench/" in n]
for required in ("package.json", "install.json", "static/style.js"):
    assert any(n.endswith("labextensions/nas-workbench/" + required) for n in ext), required
assert any("/static/remoteEntry." in n for n in ext), "no remoteEntry: the extension was not built"
assert any(n.endswith("etc/jupyter/jupyter_server_config.d/nas_workbench.json") for n in names), "server config"
assert not [n for n in ext if n.endswith((".map", "build_log.json"))], "a development build was packaged"
print(f"{wheel.name}: the JupyterLab extension and the server extension's config are in the wheel")
