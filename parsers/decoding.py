"""Turn page bytes into text: the charset a page declares, in the order a browser trusts it.

Order (first that names a codec Python knows and decodes the bytes strictly wins):

1. the HTTP ``Content-Type`` charset the caller passes in;
2. a byte-order mark (UTF-8, UTF-16 LE/BE);
3. ``<meta charset=…>`` or ``<meta http-equiv="Content-Type" content="…; charset=…">`` in the
   first 4 KB;
4. UTF-8, strict (an incomplete multi-byte sequence cut off at the very end is dropped);
5. windows-1252, the encoding of old WordPress pages, with replacement for its five undefined
   bytes, so that decoding itself never fails.

As in browsers (WHATWG Encoding), the labels ``iso-8859-1``, ``latin1`` and ``us-ascii`` mean
windows-1252. A declared charset that fails to decode the bytes is skipped, not trusted.
"""

from __future__ import annotations

import codecs
import re

_SNIFF_BYTES = 4096
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG: these labels are decoded as windows-1252 by every browser.
_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252"}


def _codec(label: str | bytes | None) -> str | None:
    """Python's canonical codec name for a charset label, or None when unknown."""
    if not label:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "replace")
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return _ALIASES.get(name, name)


def _strict(body: bytes, codec: str) -> str | None:
    if codec == "utf-8":
        # An incremental decoder keeps a truncated last character back instead of failing.
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            return decoder.decode(body, final=False)
        except UnicodeDecodeError:
            return None
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        return None


def declared_charsets(body: bytes, charset: str | None) -> list[str]:
    """Codecs to try, in trust order: HTTP charset, BOM, ``<meta>``, then UTF-8."""
    order: list[str] = []
    for label in (charset, _bom_codec(body), _meta_codec(body)):
        codec = _codec(label)
        if codec and codec not in order:
            order.append(codec)
    if "utf-8" not in order:
        order.append("utf-8")
    return order


def _bom_codec(body: bytes) -> str | None:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec
    return None


def _meta_codec(body: bytes) -> str | None:
    match = _META_CHARSET.search(body, 0, _SNIFF_BYTES)
    return match.group(1).decode("ascii") if match else None


def decode_body(body: bytes, charset: str | None = None) -> tuple[str, str]:
    """The page's text and the codec that decoded it (see the module docstring for the order)."""
    for codec in declared_charsets(body, charset):
        text = _strict(body, codec)
        if text is not None:
            # A BOM decodes to U+FEFF under its own codec; it is not page text.
            return text.removeprefix("\ufeff"), codec
    return body.decode("cp1252", errors="replace"), "cp1252"
