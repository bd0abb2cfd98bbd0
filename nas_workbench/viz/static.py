"""Static PNG images of Bokeh figures, for readers who see a saved notebook without running it.

A figure shown with `nas_workbench.show` or the workbench is a live widget; nbconvert's HTML, GitHub and
nbviewer cannot draw it, so without a static copy a reader sees a blank space. `png` renders a figure to
a PNG in a headless Chromium (Debian's ``chromium``, driven by Playwright; never a downloaded browser),
with BokehJS inlined from the installed bokeh, so it works offline.

Cost: the browser starts once per process, on the first figure (one to two seconds), and stays up in a
thread of its own (Playwright's synchronous API cannot run on the kernel's event-loop thread); each figure
then takes a few hundred milliseconds. Where Playwright or Chromium is missing, `available()` is False and
`png` returns None at no cost. ``NAS_WORKBENCH_STATIC_IMAGES=0`` turns rendering off (``=1`` makes a missing
renderer an error instead of a silent skip).
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import logging
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bokeh.embed import json_item
from bokeh.model import Model
from bokeh.resources import INLINE

from nas_workbench.exceptions import MissingDependencyError

__all__ = ["SETTING", "available", "png", "warm"]

logger = logging.getLogger("nas_workbench")

#: The environment variable: ``0`` never renders, ``1`` requires a renderer, unset renders when possible.
SETTING = "NAS_WORKBENCH_STATIC_IMAGES"

#: Headless Chromium on a machine without a GPU or internet.
_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

#: The page width a figure is laid out in: JupyterLab's default output area is about this wide.
_WIDTH = 900

_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'>{js}</head>"
    f"<body style='margin:0;background:white'><div id='root' style='width:{_WIDTH}px'></div></body></html>"
)


class _NoCallbackWarning(logging.Filter):
    """Drops Bokeh's warning that Python callbacks cannot run in standalone output, which `json_item` logs
    for a figure with ``on_change`` callbacks (the workbench's): the image runs no callbacks, the live
    widget beside it keeps them, and in a notebook the warning was a red block under every search."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "real Python" not in record.getMessage()


_BOKEH_EMBED_LOG = logging.getLogger("bokeh.embed.util")

#: Embed one figure in #root (replacing the last one) and resolve once BokehJS has drawn it.
_EMBED_JS = """async (item) => {
  const root = document.getElementById("root");
  root.innerHTML = "";
  Bokeh.documents.splice(0);
  await Bokeh.embed.embed_item(item, "root");
  const doc = Bokeh.documents[Bokeh.documents.length - 1];
  if (!doc.is_idle) { await new Promise((resolve) => doc.idle.connect(resolve)); }
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}"""


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _setting() -> str:
    value = os.environ.get(SETTING, "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"{SETTING}={value!r}: use 0 (never render figures' images), 1 (always) or unset")
    return value


def available() -> bool:
    """Whether `png` renders: Playwright and Chromium are installed and the setting does not forbid it."""
    if _setting() == "0":
        return False
    found = importlib.util.find_spec("playwright") is not None and _chromium() is not None
    if not found and _setting() == "1":
        raise MissingDependencyError(
            f"{SETTING}=1 asks for static images of figures, which need Playwright (pip install playwright) "
            "and the system Chromium (apt-get install chromium)"
        )
    return found


class _Browser:
    """One headless Chromium page with BokehJS loaded, owned by one thread for the life of the process."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nas-workbench-static")
        self._page: Any = None
        self._closers: list[Any] = []

    def render(self, item: dict[str, Any], timeout: float) -> bytes:
        return self._pool.submit(self._render, item, timeout).result(timeout=timeout + 30)

    def _render(self, item: dict[str, Any], timeout: float) -> bytes:
        try:
            if self._page is None:
                self._start(timeout)
            self._page.evaluate(_EMBED_JS, item)
            shot: bytes = self._page.locator("#root > *").first.screenshot(timeout=timeout * 1000)
            return shot
        except Exception:
            # a failed Playwright keeps its event loop running in this thread, and every later start
            # would fail on it ("Sync API inside the asyncio loop"): stop it, so the next figure starts
            # afresh (found when Chromium closed its page once in a busy JupyterLab kernel)
            self._stop()
            raise

    def warm(self, timeout: float) -> None:
        """Start the browser in the background, if it is not running (returns at once)."""

        def start() -> None:
            if self._page is None:
                try:
                    self._start(timeout)
                except Exception as error:  # the next render tries again, and reports its error
                    logger.info("static image: the browser did not start (%s)", error)
                    self._stop()

        self._pool.submit(start)

    def _start(self, timeout: float) -> None:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        self._closers.append(playwright.stop)
        browser = playwright.chromium.launch(executable_path=_chromium(), headless=True, args=_ARGS)
        self._closers.append(browser.close)
        page = browser.new_page(viewport={"width": _WIDTH + 40, "height": 800})
        page.set_default_timeout(timeout * 1000)
        page.set_content(_PAGE.format(js=INLINE.render_js()))
        self._page = page

    def _stop(self) -> None:
        """Close the page's browser and Playwright (in this thread, which owns them)."""
        closers, self._closers, self._page = self._closers, [], None
        for closer in reversed(closers):
            try:
                closer()
            except Exception as error:  # already gone: nothing left to close
                logger.debug("closing the static-image browser: %s", error)

    def close(self) -> None:
        try:
            self._pool.submit(self._stop).result(timeout=30)
        except Exception as error:  # at exit: a browser that cannot be closed is killed with the process
            logger.debug("closing the static-image browser: %s", error)
        self._pool.shutdown(wait=False)


_lock = threading.Lock()


@functools.cache
def _browser() -> _Browser:
    browser = _Browser()
    atexit.register(browser.close)
    return browser


def warm(timeout: float = 60.0) -> None:
    """Start the renderer's browser now, in the background, where `png` is `available`.

    For a figure drawn later from a widget's callback (the workbench's final plots, after a search the
    Start button ran): Chromium started from there, after a search, closed its page at once in JupyterLab
    (found by the workbench's browser test), where one started while a cell runs, or when the Start button
    starts the search (`nas_workbench.ui._show.StaticImage.prepare`), keeps working.
    """
    if available():
        _browser().warm(timeout)


def png(obj: Model, timeout: float = 60.0) -> bytes | None:
    """A PNG image of ``obj`` (a Bokeh figure or layout) as it is now, or None where no renderer is
    `available`.

    The figure is laid out at the width of a notebook's output area; a figure that stretches takes that
    width. Rendering fails loudly (a Playwright error) rather than returning a blank image.
    """
    if not isinstance(obj, Model):
        raise TypeError(f"png() takes a Bokeh figure or layout, not {type(obj).__name__}")
    if not available():
        return None
    quiet = _NoCallbackWarning()
    _BOKEH_EMBED_LOG.addFilter(quiet)
    try:
        item = dict(json_item(obj))  # serialised here, on the caller's thread, which owns the document
    finally:
        _BOKEH_EMBED_LOG.removeFilter(quiet)
    with _lock:
        try:
            return _browser().render(item, timeout)
        except Exception as error:  # once more, in a fresh browser: a crash or a closed page is rare
            logger.info(
                "static image: the browser failed (%s: %s); trying a fresh one", type(error).__name__, error
            )
            return _browser().render(item, timeout)
