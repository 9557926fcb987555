"""Helpers for the fixtures tests: load the generated pages and read our own markup back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lxml.html

from latinno.sitemodel.build_fixtures import FIXTURES_DIR

CASE_GLOB = "*/case/*/index.html"


def fixture_pages(root: Path = FIXTURES_DIR) -> list[Path]:
    return sorted(root.glob(CASE_GLOB))


def load_expected(page: Path) -> dict[str, Any]:
    return json.loads((page.parent / "expected.json").read_text(encoding="utf-8"))


def active_option_names(data: bytes, encoding: str = "utf-8") -> set[str]:
    """Names of options marked `active` inside the case container (our markup, not the real one).

    Reads the model back, to prove the renderer put the marker where the spec says; the real
    parser must not rely on any of these tags or classes.
    """
    doc = lxml.html.document_fromstring(data.decode(encoding).lstrip("\ufeff"))
    container = doc.xpath("//main | //article | //div[@id='content']")[0]
    names = set()
    for element in container.iter():
        if not isinstance(element.tag, str) or "active" not in element.get("class", "").split():
            continue
        named = [e for e in element.iter() if e.get("alt") or e.get("title")]
        name = named[0].get("alt") or named[0].get("title") if named else element.text_content()
        names.add(" ".join(name.split()))
    return names
