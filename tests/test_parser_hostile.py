"""Pages that try to break the parser: bad bytes in a declared charset, absurd nesting."""

from __future__ import annotations

import dataclasses

import pytest
from _parser_support import PageSpec, build_page

from latinno.errors import PageParseError
from latinno.record import CaseRecord, ParseIssue
from parsers import parse_case
from parsers.stream import MAX_DEPTH

URL = "https://latinno.net/en/case/17001/"
TITLE = PageSpec().title
BASE = parse_case(build_page(PageSpec()), URL)


def _with_bad_title_byte() -> tuple[bytes, int]:
    """The base page (UTF-8, declared in its meta) with one invalid byte inside its <h1>."""
    page = build_page(PageSpec(paragraphs=("Créée – “2013”.", "It monitors plans.")))
    h1 = f"<h1>{TITLE}</h1>".encode()
    at = page.index(h1) + len("<h1>Multisectorial")
    return page[:at] + b"\x81" + page[at:], at


@pytest.mark.parametrize("charset", [None, "utf-8", "UTF-8"])
def test_one_invalid_byte_is_replaced_and_reported(charset: str | None) -> None:
    body, at = _with_bad_title_byte()
    record = parse_case(body, URL, charset=charset)
    assert record.title == "Multisectorial\ufffd Open Government Forum"
    # The rest of the page's UTF-8 is read as UTF-8, not re-decoded as windows-1252.
    assert record.description == "Créée – “2013”.\n\nIt monitors plans."
    assert record.issues == (ParseIssue("encoding", None, f"invalid UTF-8 at byte {at}, replaced"),)
    changed = {"title", "description", "issues"}
    unchanged = {f.name for f in dataclasses.fields(CaseRecord)} - changed
    assert {name: getattr(record, name) for name in unchanged} == {
        name: getattr(BASE, name) for name in unchanged
    }


def test_encoding_issue_comes_after_the_field_issues() -> None:
    body, _ = _with_bad_title_byte()
    body = body.replace(b"<dd>regular</dd>", b"<dd>biannual</dd>")
    record = parse_case(body, URL)
    assert [(i.field, i.raw) for i in record.issues] == [
        ("frequency", "biannual"),
        ("encoding", None),
    ]


def test_page_in_windows_1252_without_declaration_is_read_and_flagged() -> None:
    spec = PageSpec(charset="windows-1252", paragraphs=("Créée – “2013”.", "It monitors plans."))
    body = build_page(spec).replace(b'<meta charset="windows-1252">', b"")
    record = parse_case(body, URL)
    assert record.description == "Créée – “2013”.\n\nIt monitors plans."
    assert [(i.field, i.raw) for i in record.issues] == [("encoding", None)]
    assert "decoded as windows-1252" in record.issues[0].message
    # Declared, the same bytes decode cleanly: no issue.
    assert parse_case(build_page(spec), URL).issues == ()


def _nested(levels: int, around_content: bool) -> bytes:
    """The base page with ``levels`` nested <div>s, around the case content or after it."""
    page = build_page(PageSpec())
    if around_content:
        return page.replace(b"<main>", b"<main>" + b"<div>" * levels).replace(
            b"</main>", b"</div>" * levels + b"</main>"
        )
    deep = b"<div>" * levels + b"deep" + b"</div>" * levels
    return page.replace(b"</footer>", b"</footer>" + deep)


def test_nesting_up_to_the_limit_parses() -> None:
    # body is level 2 (html is 1): the innermost of 254 divs sits exactly at the limit.
    assert parse_case(_nested(MAX_DEPTH - 2, around_content=False), URL) == BASE
    assert parse_case(_nested(200, around_content=True), URL) == BASE


def test_one_level_deeper_is_nested_too_deep() -> None:
    with pytest.raises(PageParseError) as caught:
        parse_case(_nested(MAX_DEPTH - 1, around_content=False), URL)
    assert caught.value.reason == (
        f"nested too deep: elements nest {MAX_DEPTH + 1} levels, more than the {MAX_DEPTH} "
        "the parser reads"
    )
    assert caught.value.url == URL


@pytest.mark.parametrize("levels", [300, 20_000])
def test_case_content_buried_deep_is_nested_too_deep_not_empty(levels: int) -> None:
    # lxml's own tree stopped at this depth and the page came out "empty page"; bs4 builds it
    # all, and the parser says what is wrong and how deep the page goes.
    body = _nested(levels, around_content=True)
    with pytest.raises(PageParseError) as caught:
        parse_case(body, URL)
    reason = caught.value.reason
    assert reason.startswith("nested too deep: elements nest ") and "empty" not in reason
    depth = int(reason.split()[5])
    assert levels + 3 < depth < levels + 12  # html, body, main, the divs, then the article


def test_deep_page_without_a_case_url_still_names_the_url_problem() -> None:
    # The URL check comes first, as for every other page.
    with pytest.raises(PageParseError, match="names no case page"):
        parse_case(_nested(300, around_content=True).replace(b"canonical", b"x"), "file:///p")


def test_stray_closing_html_in_the_head_does_not_hide_the_body() -> None:
    body = build_page(PageSpec()).replace(b"<style>", b"</html><style>")
    assert body.index(b"</html>") < body.index(b"<body>")
    assert parse_case(body, URL) == BASE
