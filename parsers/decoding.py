"""Turn page bytes into text: the charset a page declares, in the order a browser trusts it.

Order (the first that names a codec Python knows and decodes the bytes strictly wins):

1. the HTTP ``Content-Type`` charset the caller passes in;
2. a byte-order mark (UTF-8, UTF-16 LE/BE);
3. ``<meta charset=…>`` or ``<meta http-equiv="Content-Type" content="…; charset=…">`` in the
   first 4 KB;
4. UTF-8, strict (an incomplete multi-byte sequence cut off at the very end is dropped).

When none of them decodes the bytes strictly, the page has bytes that are invalid in every
charset it names and in UTF-8:

5. if any declaration says UTF-8, or the bytes are mostly UTF-8 (more valid multi-byte UTF-8
   characters than invalid sequences), it is UTF-8 with each invalid sequence replaced by
   U+FFFD, and the offsets of the invalid bytes are reported (the parser turns them into a
   parse issue, "invalid UTF-8 at byte N, replaced"): one bad byte must not garble a page;
6. otherwise the bytes are clearly not UTF-8: windows-1252, the encoding of old WordPress
   pages, with replacement for its five undefined bytes, so that decoding itself never fails.
   That codec is a guess, so it is reported too (a parse issue naming the first byte that is
   not UTF-8).

As in browsers (WHATWG Encoding), the labels ``iso-8859-1``, ``latin1`` and ``us-ascii`` mean
windows-1252. A declared charset other than UTF-8 that fails to decode the bytes is skipped,
not trusted.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, replace

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
_REPLACEMENT_BYTES = "\ufffd".encode()
# Offsets named one by one; a page of binary junk has thousands, the rest are counted.
_OFFSETS_NAMED = 3


@dataclass(frozen=True, slots=True)
class Decoded:
    """A page's text, the codec that decoded it, and what was not clean about it.

    ``invalid`` holds the byte offsets of the first invalid UTF-8 sequences (at most a few) and
    ``invalid_count`` how many there are in all; both are empty/zero when the bytes are valid
    in the codec used. ``guessed`` lists the declared codecs when none of them (nor UTF-8) fit
    and windows-1252 was guessed (an empty tuple: nothing was declared); None otherwise.
    """

    text: str
    codec: str
    invalid: tuple[int, ...] = ()
    invalid_count: int = 0
    guessed: tuple[str, ...] | None = None
    # NUL characters in the text (HTML parsing turns each into U+FFFD), and where the first is.
    nul_count: int = 0
    first_nul: int = -1

    def problem(self) -> str | None:
        """One line for the page's parse issue when the decoding was lossy or a guess."""
        problems = [p for p in (self._codec_problem(), self._nul_problem()) if p]
        return "; ".join(problems) or None

    def _nul_problem(self) -> str | None:
        if not self.nul_count:
            return None
        many = "s" if self.nul_count > 1 else ""
        return (
            f"{self.nul_count} NUL character{many} (the first at character {self.first_nul}), "
            "replaced"
        )

    def _codec_problem(self) -> str | None:
        if self.guessed is not None:
            declared = (
                f"the declared charset ({', '.join(self.guessed)}) does not fit"
                if self.guessed
                else "no charset declared"
            )
            return (
                f"{declared} and the bytes are not UTF-8 (invalid at byte {self.invalid[0]}): "
                "decoded as windows-1252"
            )
        if not self.invalid_count:
            return None
        first = self.invalid[0]
        if self.invalid_count == 1:
            return f"invalid UTF-8 at byte {first}, replaced"
        more = self.invalid_count - 1
        return (
            f"invalid UTF-8 at byte {first} and {more} more place{'s' if more > 1 else ''} "
            f"(bytes {', '.join(map(str, self.invalid))}{', …' if more >= _OFFSETS_NAMED else ''})"
            ", replaced"
        )


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
        # Not final: a truncated last character is kept back instead of failing.
        try:
            return codecs.utf_8_decode(body, "strict", False)[0]
        except UnicodeDecodeError:
            return None
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        return None


def declared_charsets(body: bytes, charset: str | None) -> list[str]:
    """Codecs the page declares, in trust order: HTTP charset, BOM, ``<meta>``."""
    order: list[str] = []
    for label in (charset, _bom_codec(body), _meta_codec(body)):
        codec = _codec(label)
        if codec and codec not in order:
            order.append(codec)
    return order


def _bom_codec(body: bytes) -> str | None:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec
    return None


def _meta_codec(body: bytes) -> str | None:
    match = _META_CHARSET.search(body, 0, _SNIFF_BYTES)
    return match.group(1).decode("ascii") if match else None


def _invalid_offsets(body: bytes, limit: int) -> tuple[int, ...]:
    """Byte offsets of the first ``limit`` invalid UTF-8 sequences (a cut-off end excluded)."""
    offsets: list[int] = []
    view = memoryview(body)
    pos = 0
    while len(offsets) < limit:
        try:
            codecs.utf_8_decode(view[pos:], "strict", False)
            break
        except UnicodeDecodeError as exc:
            offsets.append(pos + exc.start)
            pos += exc.end
    return tuple(offsets)


def _utf8_replacing(body: bytes) -> Decoded:
    text = codecs.utf_8_decode(body, "replace", False)[0]
    # U+FFFD spelled correctly in the page is text, not a replacement.
    count = text.count("\ufffd") - body.count(_REPLACEMENT_BYTES)
    return Decoded(text, "utf-8", _invalid_offsets(body, _OFFSETS_NAMED), count)


def _mostly_utf8(decoded: Decoded) -> bool:
    """More characters decoded from valid multi-byte UTF-8 than invalid sequences."""
    text = decoded.text
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return non_ascii - decoded.invalid_count > decoded.invalid_count


def decode_page(body: bytes, charset: str | None = None) -> Decoded:
    """The page's text, its codec and any replaced UTF-8 bytes (order: module docstring), and
    the NUL characters in it: no page has them, so each is said, not silently replaced."""
    decoded = _decode(body, charset)
    nuls = decoded.text.count("\x00")
    return (
        replace(decoded, nul_count=nuls, first_nul=decoded.text.find("\x00")) if nuls else decoded
    )


def _decode(body: bytes, charset: str | None) -> Decoded:
    declared = declared_charsets(body, charset)
    for codec in (*declared, "utf-8") if "utf-8" not in declared else declared:
        text = _strict(body, codec)
        if text is not None:
            # A BOM decodes to U+FEFF under its own codec; it is not page text.
            return Decoded(text.removeprefix("\ufeff"), codec)
    replaced = _utf8_replacing(body)
    if "utf-8" in declared or _mostly_utf8(replaced):
        return Decoded(
            replaced.text.removeprefix("\ufeff"),
            "utf-8",
            replaced.invalid,
            replaced.invalid_count,
        )
    text = body.decode("cp1252", errors="replace")
    return Decoded(text, "cp1252", replaced.invalid[:1], guessed=tuple(declared))


def decode_body(body: bytes, charset: str | None = None) -> tuple[str, str]:
    """The page's text and the codec that decoded it (see ``decode_page``)."""
    decoded = decode_page(body, charset)
    return decoded.text, decoded.codec
