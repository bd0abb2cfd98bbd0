"""The documentation's relative links resolve: every markdown link in the repository's own `.md` files
names a file or folder that exists, and a `#section` names a heading of its target.

The README sends readers to `benchmarks/<area>/README.md` for the analyses behind its figures, and text
moves between those files; a link left pointing at the old place would fail silently on GitHub.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def _markdown_files() -> list[Path]:
    """The repository's tracked `.md` files (git's list, so that build output and node_modules stay out)."""
    listed = subprocess.run(
        ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in listed if "node_modules" not in name]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = INLINE_CODE.sub(lambda m: m.group(0).strip("`"), heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {_slug(line.lstrip("#")) for line in text.splitlines() if re.match(r"#{1,6} ", line)}


def _links(path: Path) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", path.read_text()))
    return [m.group(1) for m in LINK.finditer(text)]


def test_every_relative_link_in_the_docs_resolves():
    files = _markdown_files()
    assert any(path.name == "README.md" and path.parent == ROOT for path in files)
    broken = []
    for path in files:
        for target in _links(path):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not checked offline
                continue
            name, _, anchor = target.partition("#")
            resolved = (path.parent / name).resolve() if name else path
            if not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such path)")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []
