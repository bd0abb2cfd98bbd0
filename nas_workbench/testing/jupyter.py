"""A real JupyterLab 4 or Notebook 7 server and the system Chromium, for browser tests and benchmarks.

`jupyter_server` starts a server on a free loopback port with the NAS Workbench server extension, widget
state saved with notebooks (the package's lab settings) and no news pop-up, isolated from the user's
Jupyter configuration; the helpers open a notebook in Playwright's page and read what the page shows.
Playwright and Chromium are needed only by the functions that use them (``apt-get install chromium``;
never ``playwright install``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

__all__ = [
    "CHROMIUM_ARGS",
    "FRONTENDS",
    "JupyterServer",
    "chromium_path",
    "jupyter_server",
    "open_notebook",
    "plot_points",
    "run_all_cells",
    "serve_notebook",
    "wait_plot_points",
]

#: Flags for headless Chromium on a machine without a GPU or internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

#: The front ends: the module that starts each, and its application class (for its settings).
FRONTENDS = {"lab": ("jupyterlab", "LabApp"), "notebook": ("notebook", "JupyterNotebookApp")}

_LAB_SETTINGS = Path(__file__).resolve().parents[2] / "jupyter-config" / "lab-settings"

#: Whether the open notebook's kernel is started and idle.
_KERNEL_IDLE_JS = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session &&
    widget.sessionContext.session.kernel;
  return Boolean(kernel && kernel.status === "idle");
}"""

#: Rows of the first Bokeh source named NAME in the page (-1: no BokehJS; -2: no such source).
_POINTS_JS = """(name) => {
  if (!window.Bokeh) return -1;
  for (const doc of Bokeh.documents) {
    const source = doc.get_model_by_name(name);
    if (source) return source.get_length();
  }
  return -2;
}"""


def chromium_path() -> str | None:
    """The system Chromium, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class JupyterServer:
    """A running server: its base URL, token, root folder, front end ("lab" or "notebook") and process id."""

    url: str
    token: str
    root: Path
    frontend: str
    pid: int

    def notebook_url(self, name: str) -> str:
        """The URL that opens notebook ``name`` alone (JupyterLab: in a fresh workspace of its own)."""
        if self.frontend == "lab":
            return f"{self.url}/lab/workspaces/{name.replace('.', '-')}/tree/{name}?reset&token={self.token}"
        return f"{self.url}/notebooks/{name}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(process: psutil.Process) -> float:
    """The CPU time ``process`` has used so far, user and system (0 once it is gone)."""
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _wait_until_answering(
    server: subprocess.Popen[bytes], url: str, token: str, cpu_timeout: float, wall_timeout: float
) -> str | None:
    """Poll the server's status until it answers; None then, else why it never will.

    The limit that a start stuck in a loop meets is ``cpu_timeout`` seconds of the server's own CPU time,
    not of the wall clock: on a loaded machine (2 cores, others' work beside the tests at nice 19) the
    same start spends minutes waiting for a core, and a wall-clock minute failed it. A server that hangs
    without using the CPU is caught by ``wall_timeout``.
    """
    process = psutil.Process(server.pid)
    wall_deadline = time.monotonic() + wall_timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                return None
        except OSError:
            if server.poll() is not None:
                return f"it exited with status {server.returncode}"
            if _cpu_seconds(process) > cpu_timeout:
                return f"it used {cpu_timeout:g} s of CPU time without answering"
            if time.monotonic() > wall_deadline:
                return f"it did not answer in {wall_timeout:g} s"
            time.sleep(0.25)


@contextmanager
def jupyter_server(
    root: Path,
    frontend: str = "lab",
    timeout: float = 60.0,
    jupyter_path: Path | None = None,
    wall_timeout: float = 240.0,
) -> Iterator[JupyterServer]:
    """Run a JupyterLab ("lab") or Notebook 7 ("notebook") server on ``root`` until the block ends.

    Args:
        timeout: Seconds of the server's CPU time its start may take (about 3 on an idle 2-core machine).
        jupyter_path: A Jupyter data folder searched before the installed ones (``JUPYTER_PATH``), e.g.
            one whose ``labextensions/`` holds a fresh build of the extension under test.
        wall_timeout: Seconds of the wall clock after which a start that is not using the CPU has hung.
    """
    module, app = FRONTENDS[frontend]
    with tempfile.TemporaryDirectory(prefix="nas-jupyter-") as home_name:
        home = Path(home_name)
        settings = home / "app-settings"
        shutil.copytree(_LAB_SETTINGS, settings)  # widget state saved with notebooks
        quiet = {
            "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}
        }
        (settings / "overrides.json").write_text(json.dumps(quiet))
        port, token = _free_port(), secrets.token_hex(16)
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        }
        if jupyter_path is not None:
            env["JUPYTER_PATH"] = os.pathsep.join(
                filter(None, [str(jupyter_path), os.environ.get("JUPYTER_PATH")])
            )
        command = [
            sys.executable,
            "-m",
            module,
            "--allow-root",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.jpserver_extensions={'nas_workbench.server': True}",
            f"--{app}.expose_app_in_browser=True",
            # Notebook 7 reads settings through JupyterLab's handlers when both are installed: set both
            f"--LabApp.app_settings_dir={settings}",
            f"--JupyterNotebookApp.app_settings_dir={settings}",
            f"--LabApp.user_settings_dir={home / 'user-settings'}",
            f"--LabApp.workspaces_dir={home / 'workspaces'}",
        ]
        log_path = home / "server.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
            url = f"http://127.0.0.1:{port}"
            try:
                problem = _wait_until_answering(server, url, token, timeout, wall_timeout)
                if problem is not None:
                    raise RuntimeError(f"Jupyter did not start ({problem}):\n{log_path.read_text()[-3000:]}")
                yield JupyterServer(url, token, root, frontend, server.pid)
            finally:
                server.terminate()  # shuts its kernels down too
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()


@contextmanager
def serve_notebook(root: Path, name: str, source: str, frontend: str = "lab") -> Iterator[JupyterServer]:
    """`jupyter_server` on ``root``, after writing there notebook ``name``: one code cell of ``source``, for
    the Python 3 kernel."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / name)
    with jupyter_server(root, frontend) as running:
        yield running


def open_notebook(page: Any, server: JupyterServer, name: str, timeout_ms: float = 60_000) -> None:
    """Open notebook ``name`` in ``page`` and wait until its kernel is idle (so running it asks nothing)."""
    page.goto(server.notebook_url(name))
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout_ms)


def run_all_cells(page: Any) -> None:
    """Run every cell of the open notebook, without waiting for them to finish."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def plot_points(page: Any, name: str = "nas_trials") -> int:
    """Rows of the Bokeh source ``name`` as the page has it (-1: BokehJS not loaded; -2: no such source)."""
    return int(page.evaluate(_POINTS_JS, name))


def wait_plot_points(page: Any, condition: str, name: str = "nas_trials", timeout_ms: float = 40_000) -> int:
    """Wait until the source's row count satisfies ``condition`` (JavaScript, e.g. ``"> 3"``); return it."""
    page.wait_for_function(f"(name) => ({_POINTS_JS})(name) {condition}", arg=name, timeout=timeout_ms)
    return plot_points(page, name)
