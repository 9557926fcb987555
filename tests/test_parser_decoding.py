"""Decoding order: HTTP charset, then BOM, then <meta>, then UTF-8, then windows-1252."""

from __future__ import annotations

import codecs

import pytest

from parsers.decoding import decode_body

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


def test_wrong_declaration_is_skipped() -> None:
    # Declared UTF-8 (HTTP and meta) but really windows-1252: the declaration cannot decode it.
    text, codec = decode_body(_page('<meta charset="utf-8">').encode("cp1252"), "utf-8")
    assert codec == "cp1252" and TEXT in text


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
