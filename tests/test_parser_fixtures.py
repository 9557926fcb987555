"""Every fixture page parsed and compared WHOLE to its expected.json (fixtures/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from latinno.config import load_settings
from latinno.errors import PageParseError
from latinno.marker import Marker
from latinno.vocabulary import Labels, build_labels
from parsers import PARSER_VERSION, canonical_url, parse_case

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "html"
PAGES = sorted(FIXTURES.glob("*/case/*/index.html"))
EDGE_PAGES = sorted((FIXTURES / "_edge").glob("*.html"))
# fixtures/README.md, "Edge pages": the URL each edge page is parsed under (others: canonical).
EDGE_URLS = {
    "country-page": "https://latinno.net/en/case/17999/",
    "empty-body": "https://latinno.net/en/case/4087/",
    "zero-bytes": "https://latinno.net/en/case/4087/",
    "truncated": "https://latinno.net/en/case/13245/",
    "missing-design": "https://latinno.net/en/case/16030/",
    "no-country": "https://latinno.net/en/case/7029/",
}


@pytest.fixture(scope="module")
def config() -> tuple[Labels, Marker]:
    settings = load_settings(ROOT / "config.yaml")
    return build_labels(settings.parser.extra_labels), settings.parser.rule()


def _page_id(path: Path) -> str:
    lang, _, case_id = path.parts[-4:-1]
    return f"{lang}/{case_id}"


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """The record as expected.json states it: no parser_version, issues as (field, raw)."""
    out = dict(record)
    out.pop("parser_version", None)
    for issue in out["issues"]:
        assert isinstance(issue["message"], str) and issue["message"].strip(), issue
    out["issues"] = [{"field": i["field"], "raw": i["raw"]} for i in out["issues"]]
    return out


def test_fixture_pages_exist() -> None:
    # The issue asks for at least 60; fewer means the glob or the layout broke.
    assert len(PAGES) >= 60


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_matches_expected_record(page: Path, config: tuple[Labels, Marker]) -> None:
    labels, active = config
    lang, _, case_id = page.parts[-4:-1]
    record = parse_case(
        page.read_bytes(),
        f"https://latinno.net/{lang}/case/{case_id}/",
        labels=labels,
        marker=active,
    )
    assert record.parser_version == PARSER_VERSION
    expected = json.loads((page.parent / "expected.json").read_text(encoding="utf-8"))
    assert _comparable(record.to_dict()) == expected


@pytest.mark.parametrize("page", EDGE_PAGES, ids=lambda p: p.stem)
def test_edge_page(page: Path, config: tuple[Labels, Marker]) -> None:
    labels, active = config
    body = page.read_bytes()
    expected = json.loads(page.with_suffix(".expected.json").read_text("utf-8"))
    url = EDGE_URLS.get(page.stem) or canonical_url(body)
    assert url, f"{page.name}: add the URL it is parsed under to EDGE_URLS"
    if "error" in expected:
        with pytest.raises(PageParseError) as caught:
            parse_case(body, url, labels=labels, marker=active)
        assert expected["error"] in caught.value.reason
        assert caught.value.url == url
        return
    record = parse_case(body, url, labels=labels, marker=active)
    assert _comparable(record.to_dict()) == expected
