"""A real Jupyter server (pytest-jupyter) with the NAS Workbench server extension enabled."""

from __future__ import annotations

from typing import Any

import pytest

# pytest-jupyter's fixtures (jp_fetch, ...) and async-test hooks, for this folder only (its autouse
# fixtures change the environment, which the other UI tests must not see).
from pytest_jupyter.jupyter_server import *  # noqa: F403


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"nas_workbench.server": True}}}
