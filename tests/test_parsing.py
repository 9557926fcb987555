"""Parsing in bulk: a bad page costs that page, never the run (issue 13, part 1)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from flows.parsing import (
    SWITCH_INTERVAL_S,
    ParseFailure,
    ParseInput,
    ParseSpec,
    beside_the_loop,
    parse_pages,
)
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


def test_beside_the_loop_threads_switch_often_and_the_interval_comes_back() -> None:
    """The refresh parses on a thread beside the fetching loop under ``beside_the_loop``: the
    loop gets the GIL back within ``SWITCH_INTERVAL_S``; the process's own setting returns."""
    default = sys.getswitchinterval()
    assert default > SWITCH_INTERVAL_S  # CPython's 5 ms
    with beside_the_loop():
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S)
    assert sys.getswitchinterval() == default
    with pytest.raises(KeyboardInterrupt), beside_the_loop():
        raise KeyboardInterrupt  # a stopped run leaves the process as it found it
    assert sys.getswitchinterval() == default
