"""Parsing in bulk: a bad page costs that page, never the run (issue 13, part 1)."""

from __future__ import annotations

from pathlib import Path

from flows.parsing import ParseFailure, ParseInput, ParseSpec, parse_pages
from latinno.config_sections import ParserSettings
from latinno.pages import page_key
from latinno.record import CaseRecord

REPO = Path(__file__).resolve().parent.parent
SPEC = ParseSpec.of(ParserSettings())


def fixture_pages() -> list[ParseInput]:
    pages: list[ParseInput] = []
    for path in sorted((REPO / "fixtures" / "html").glob("*/case/*/index.html")):
        lang, _, case_id = path.parts[-4:-1]
        pages.append((path.read_bytes(), f"https://latinno.net/{lang}/case/{case_id}/", None))
    return pages


BAD: list[ParseInput] = [
    (b"<h1>Maintenance</h1>", "https://latinno.net/en/case/19991/", None),
    (b"", "https://latinno.net/en/case/19994/", None),
    (bytes(range(256)) * 16, "https://latinno.net/en/case/19995/", "utf-8"),
    # Not bytes at all: the parser fails with an AttributeError, a bug, not a PageParseError.
    (12345, "https://latinno.net/en/case/19998/", None),  # type: ignore[list-item]
]


def test_every_page_gives_a_record_or_a_failure_naming_it() -> None:
    good = fixture_pages()
    outcomes = parse_pages([*good[:5], *BAD], SPEC)
    assert all(isinstance(o, CaseRecord) for o in outcomes[:5])
    failures = outcomes[5:]
    assert all(isinstance(f, ParseFailure) for f in failures)
    assert [f.url for f in failures] == [url for _, url, _ in BAD]  # type: ignore[union-attr]
    assert "not a case page" in failures[0].reason  # type: ignore[union-attr]
    assert failures[3].reason.startswith("parser error: AttributeError")  # type: ignore[union-attr]


def test_failures_name_their_page() -> None:
    (failure,) = parse_pages(BAD[:1], SPEC)
    assert isinstance(failure, ParseFailure)
    assert page_key(failure.url) == (19991, "en")
