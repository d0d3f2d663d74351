"""The README's and docs' relative links resolve: the file exists and so does the anchor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs/searcher-experiments.md", "benchmarks/README.md")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """Explicit ``<a id="...">`` anchors and GitHub's heading slugs (lower case, punctuation
    other than hyphens dropped, spaces to hyphens)."""
    text = path.read_text(encoding="utf-8")
    found = set(re.findall(r'<a id="([^"]+)"', text))
    for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE):
        found.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return found


def relative_links(document: Path) -> list[str]:
    return [target for target in _LINK.findall(document.read_text(encoding="utf-8"))
            if not target.startswith(("http://", "https://", "mailto:"))]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_relative_links_resolve(name: str) -> None:
    document = ROOT / name
    broken = []
    for target in relative_links(document):
        file, _, anchor = target.partition("#")
        path = (document.parent / file) if file else document
        if not path.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target} (no such anchor)")
    assert not broken, f"{name}: {broken}"


def test_the_check_sees_links_and_anchors() -> None:
    # The README links into the experiments file and to its own sections, so a check that
    # found no links, or no anchors, would pass vacuously.
    links = relative_links(ROOT / "README.md")
    assert any(link.startswith("docs/searcher-experiments.md#") for link in links)
    assert any(link.startswith("#") for link in links)
    assert {"predictor-goals", "hvi-lead", "on-a-cluster---executor-ray"} <= anchors(ROOT / "README.md")
    assert "predictor-gaps" in anchors(ROOT / "docs/searcher-experiments.md")
