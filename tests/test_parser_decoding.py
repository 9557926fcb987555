"""Decoding order: HTTP charset, then BOM, then <meta>, then UTF-8; bytes none of them decode are
UTF-8 with U+FFFD (declared UTF-8, or mostly UTF-8) or else windows-1252, and reported."""

from __future__ import annotations

import codecs

import pytest

from parsers.decoding import decode_body, decode_page

TEXT = "Formalização – “council’s” café"


def _page(meta: str, text: str = TEXT) -> str:
    return f"<html><head>{meta}</head><body><p>{text}</p></body></html>"


def test_http_charset_wins_over_meta() -> None:
    body = _page('<meta charset="utf-8">').encode("cp1252")
    text, codec = decode_body(body, "windows-1252")
    assert codec == "cp1252" and TEXT in text


def test_bom_wins_over_meta() -> None:
    body = codecs.BOM_UTF8 + _page('<meta charset="windows-1252">').encode("utf-8")
    text, codec = decode_body(body)
    assert codec == "utf-8" and TEXT in text
    assert not text.startswith("\ufeff")


def test_utf16_bom() -> None:
    body = codecs.BOM_UTF16_LE + _page("").encode("utf-16-le")
    text, codec = decode_body(body)
    assert codec == "utf-16-le" and TEXT in text and text.startswith("<html>")


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="windows-1252">',
        "<meta charset=windows-1252>",
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">',
        "<META HTTP-EQUIV='content-type' CONTENT='text/html;charset=Windows-1252'>",
    ],
)
def test_meta_charset_forms(meta: str) -> None:
    text, codec = decode_body(_page(meta).encode("cp1252"))
    assert codec == "cp1252" and TEXT in text


def test_iso_8859_1_means_windows_1252() -> None:
    # As in browsers: the curly quotes (0x93/0x94) only exist in windows-1252.
    text, codec = decode_body(_page('<meta charset="iso-8859-1">').encode("cp1252"))
    assert codec == "cp1252" and "“council’s”" in text


def test_undeclared_utf8_then_cp1252() -> None:
    assert decode_body(_page("").encode("utf-8")) == (_page(""), "utf-8")
    text, codec = decode_body(_page("").encode("cp1252"))
    assert codec == "cp1252" and TEXT in text


def test_declared_utf8_is_kept_and_invalid_bytes_replaced() -> None:
    # Declared UTF-8 (HTTP and meta) but windows-1252 bytes: the declaration is trusted, as a
    # browser does; each invalid byte becomes U+FFFD and is reported, never silently re-guessed.
    body = _page('<meta charset="utf-8">').encode("cp1252")
    decoded = decode_page(body, "utf-8")
    assert decoded.codec == "utf-8" and decoded.guessed is None
    assert "Formaliza\ufffd\ufffdo \ufffd \ufffdcouncil\ufffds\ufffd caf\ufffd" in decoded.text
    high = [i for i, byte in enumerate(body) if byte > 0x7F]
    assert decoded.invalid == tuple(high[:3]) and decoded.invalid_count == len(high) == 7
    assert decoded.problem() == (
        f"invalid UTF-8 at byte {high[0]} and 6 more places "
        f"(bytes {high[0]}, {high[1]}, {high[2]}, …), replaced"
    )


def test_one_invalid_byte_in_a_utf8_page() -> None:
    # The case: a UTF-8 page (declared in the header and the meta) with one bad byte.
    good = _page('<meta charset="utf-8">').encode("utf-8")
    at = good.index(b"caf")
    body = good[:at] + b"\x81" + good[at:]
    for charset in ("utf-8", None):
        decoded = decode_page(body, charset)
        assert decoded.codec == "utf-8"
        assert decoded.text == _page('<meta charset="utf-8">', TEXT.replace("caf", "\ufffdcaf"))
        assert (decoded.invalid, decoded.invalid_count) == ((at,), 1)
        assert decoded.problem() == f"invalid UTF-8 at byte {at}, replaced"


def test_undeclared_mostly_utf8_page_stays_utf8() -> None:
    # No declaration, but many valid UTF-8 characters and one stray byte: UTF-8, not a guess.
    body = _page("").encode("utf-8").replace(b"caf", b"\xffcaf")
    decoded = decode_page(body)
    assert decoded.codec == "utf-8" and "“council’s” \ufffdcafé" in decoded.text
    assert decoded.invalid_count == 1 and decoded.guessed is None


def test_undeclared_page_that_is_not_utf8_is_a_reported_guess() -> None:
    body = _page("").encode("cp1252")
    decoded = decode_page(body)
    assert decoded.codec == "cp1252" and TEXT in decoded.text and decoded.guessed == ()
    first = next(i for i, byte in enumerate(body) if byte > 0x7F)
    assert decoded.problem() == (
        f"no charset declared and the bytes are not UTF-8 (invalid at byte {first}): "
        "decoded as windows-1252"
    )


def test_conflicting_declarations_the_one_that_fits_wins() -> None:
    # A blanket HTTP charset=utf-8 in front of a windows-1252 page that says so in its meta.
    body = _page('<meta charset="windows-1252">').encode("cp1252")
    decoded = decode_page(body, "utf-8")
    assert decoded.codec == "cp1252" and TEXT in decoded.text and decoded.problem() is None


def test_clean_pages_report_nothing() -> None:
    assert decode_page(_page("").encode("utf-8")).problem() is None
    assert decode_page(_page('<meta charset="windows-1252">').encode("cp1252")).problem() is None


def test_a_replacement_character_spelled_in_the_page_is_not_counted() -> None:
    body = _page('<meta charset="utf-8">', "ok \ufffd here").encode("utf-8") + b"\xc0"
    decoded = decode_page(body)
    assert decoded.invalid_count == 1 and decoded.invalid == (len(body) - 1,)


def test_a_character_cut_at_the_end_is_dropped_not_reported() -> None:
    body = _page('<meta charset="utf-8">').encode("utf-8").replace(b"caf", b"\x81caf")
    cut = body[: body.index("é".encode()) + 1]
    decoded = decode_page(cut)
    assert decoded.text.endswith("\ufffdcaf") and decoded.invalid_count == 1


def test_unknown_label_is_ignored() -> None:
    text, codec = decode_body(_page('<meta charset="x-no-such">').encode("utf-8"), "bogus")
    assert codec == "utf-8" and TEXT in text


def test_utf8_cut_inside_a_character_stays_utf8() -> None:
    body = _page("").encode("utf-8")
    cut = body[: body.index("é".encode()) + 1]  # half of the two bytes of "é"
    text, codec = decode_body(cut)
    assert codec == "utf-8" and text.endswith("caf")


def test_cp1252_undefined_bytes_never_fail() -> None:
    text, codec = decode_body(b"<p>\x81\x8d\x9d caf\xe9</p>")
    assert codec == "cp1252" and text.endswith("café</p>")
