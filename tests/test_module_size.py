"""Small modules with one job: no module of the package grows past `LIMIT` lines (split it by job)."""

from __future__ import annotations

from pathlib import Path

import nas_workbench

LIMIT = 400


def test_no_module_of_the_package_is_over_the_limit():
    root = Path(nas_workbench.__file__).parent
    sizes = {str(path.relative_to(root)): len(path.read_text().splitlines()) for path in root.rglob("*.py")}
    assert len(sizes) > 100  # the package, not an empty folder
    assert {name: lines for name, lines in sizes.items() if lines > LIMIT} == {}
