"""The rich display of an `ArchSpec`: a MIME bundle that JupyterLab's NAS Workbench extension draws.

``application/vnd.nas-workbench.arch+json`` carries the spec and, when its space is registered, the
space's ``describe()`` rows (a cell's edges, or a network's layer table) and ``summary()``; the
extension draws the cell's DAG or the network's blocks from them. ``text/html`` (the same rows as a
table) and ``text/plain`` are the fallbacks for front ends without the extension. The Jupyter server
extension sends the same payload for a study's best architecture.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Container, Mapping
from typing import Any

from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.spec import ArchSpec

__all__ = ["MIME_TYPE", "arch_payload", "mimebundle"]

logger = logging.getLogger("nas_workbench")

MIME_TYPE = "application/vnd.nas-workbench.arch+json"


def arch_payload(spec: ArchSpec | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON payload of ``spec``: ``{"spec", "id", "summary", "describe"}``.

    ``summary`` and ``describe`` are None when the spec's space is not registered here or rejects the
    spec (a study written by a newer version); the renderer then shows the choices.
    """
    if not isinstance(spec, ArchSpec):
        spec = ArchSpec.from_dict(spec)
    payload: dict[str, Any] = {"spec": spec.to_dict(), "id": spec.id, "summary": None, "describe": None}
    from nas_workbench import spaces  # torch: only when an architecture is shown

    try:
        space = spaces.get(spec.space, **spec.options)
        space.validate(spec)
        payload["summary"] = space.summary(spec)
        # describe() rows may hold tuples (shapes): round-trip through JSON to send plain lists
        payload["describe"] = json.loads(json.dumps(space.describe(spec), default=str))
    except NasWorkbenchError as error:
        logger.debug("no description of %s: %s", spec, error)
    return payload


def mimebundle(
    spec: ArchSpec, include: Container[str] | None = None, exclude: Container[str] | None = None
) -> dict[str, Any]:
    """The MIME bundle of ``spec``, as IPython's ``_repr_mimebundle_`` returns it."""
    payload = arch_payload(spec)
    bundle = {
        MIME_TYPE: payload,
        "text/html": _html(payload),
        "text/plain": f"{spec} {payload['summary'] or spec.to_json()}",
    }
    return {
        key: value
        for key, value in bundle.items()
        if (include is None or key in include) and (exclude is None or key not in exclude)
    }


def _html(payload: Mapping[str, Any]) -> str:
    """A plain table of the describe rows (or of the choices) under the summary."""
    rows = payload["describe"] or [
        {"decision": k, "choice": v} for k, v in payload["spec"]["choices"].items()
    ]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    title = f"{payload['spec']['space']}:{payload['id']}"
    summary = payload["summary"] or ""
    return (
        f"<div><b>{html.escape(title)}</b> <code>{html.escape(summary)}</code>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    return str(value)
