"""The hostile pages of the site server's ``--hostile`` mode (``latinno.sitemodel.server``).

With ``hostile`` on, the server also serves the pages an attacker or a broken site would, at
fixed case URLs that its sitemap lists beside the real ones (``HOSTILE_PAGES``; all English,
prefix 19 = Venezuela, serials 991-997, above every fixture and generated serial):

======================  =====  ==============================================================
name                    id     what the server sends for ``/en/case/{id}/``
======================  =====  ==============================================================
``maintenance``         19991  200 text/html, body ``<h1>Maintenance</h1>``: not a case page
``double_gzip``         19992  ``Content-Encoding: gzip, gzip``: ~2 KB on the wire over 1 GiB of
                               zeros (``bomb_bytes``)
``deep_nesting``        19993  a real case page inside 1,000 nested ``<div>`` (libxml2's default
                               limit is 256 levels)
``empty``               19994  200 text/html with an empty body
``binary``              19995  200 ``text/html; charset=utf-8`` with 4 KiB of binary bytes
``invalid_utf8``        19996  a real case page declared UTF-8 (header and ``<meta>``) with one
                               invalid byte: the ``é`` of its ``<h1>`` title as latin-1 ``0xE9``
``slow_drip``           19997  a real case page, one byte every ``drip_s`` seconds (default 2)
======================  =====  ==============================================================

``hostile_spec(name)`` gives the spec the three real pages are rendered from (for expected
records). Hostile pages never get random faults and carry no validators (always 200).
"""

from __future__ import annotations

import functools
import random
import zlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from latinno.sitemodel.spec import CaseSpec


@dataclass(frozen=True, slots=True)
class HostilePage:
    """A hostile page of ``--hostile`` mode: its name, case id and what it does to a client."""

    name: str
    case_id: int
    what: str
    lang: str = "en"

    @property
    def path(self) -> str:
        return f"/{self.lang}/case/{self.case_id}/"


HOSTILE_PAGES: dict[str, HostilePage] = {
    page.name: page
    for page in (
        HostilePage("maintenance", 19991, "a page that is only <h1>Maintenance</h1>"),
        HostilePage("double_gzip", 19992, "Content-Encoding gzip, gzip over 1 GiB of zeros"),
        HostilePage("deep_nesting", 19993, "a case page inside 1,000 nested <div> elements"),
        HostilePage("empty", 19994, "a 200 answer with an empty body"),
        HostilePage("binary", 19995, "binary bytes served as UTF-8 HTML"),
        HostilePage("invalid_utf8", 19996, "a UTF-8 case page with one invalid byte"),
        HostilePage("slow_drip", 19997, "a case page dripped one byte every 2 s"),
    )
}
NEST_DEPTH = 1000
HOSTILE_BY_PATH = {page.path: page for page in HOSTILE_PAGES.values()}
_HOSTILE_TITLE = "Participatory budgeting in Mérida"


@functools.cache
def hostile_spec(name: str) -> CaseSpec:
    """The spec a real hostile page (deep_nesting, invalid_utf8, slow_drip) is rendered from."""
    from latinno.sitemodel.cases import fixture_cases
    from latinno.sitemodel.generate import case_spec
    from latinno.vocabulary import COUNTRIES

    page = HOSTILE_PAGES[name]
    country = next(c for c in COUNTRIES if c.id_prefix == page.case_id // 1000)
    templates = [spec for spec in fixture_cases() if spec.lang == "en"]
    spec = case_spec(page.case_id, country, random.Random(page.case_id), templates)
    # Plain UTF-8 text, so the one invalid byte of invalid_utf8 is the only oddity.
    return replace(spec, title=_HOSTILE_TITLE, charset="utf-8", entities=False, bom=False)


@functools.cache
def hostile_body(name: str, bomb_bytes: int = 1 << 30) -> bytes:
    """The bytes a hostile page sends (double_gzip: the coded body, ``bomb_bytes`` of zeros)."""
    from latinno.sitemodel.render import render_page

    if name == "maintenance":
        return b"<h1>Maintenance</h1>\n"
    if name == "empty":
        return b""
    if name == "binary":
        noise = random.Random(19995).randbytes(4096 - 8)
        return b"\x89PNG\r\n\x1a\n" + noise
    if name == "double_gzip":
        return _double_gzip(bomb_bytes)
    page = render_page(hostile_spec(name))
    if name == "deep_nesting":
        start = page.index(b">", page.index(b"<body")) + 1
        end = page.rindex(b"</body>")
        nested = b"<div>" * NEST_DEPTH + page[start:end] + b"</div>" * NEST_DEPTH
        return page[:start] + nested + page[end:]
    if name == "invalid_utf8":
        at = page.index(_HOSTILE_TITLE.encode(), page.index(b"<body")) + len(
            "Participatory budgeting in M"
        )
        return page[:at] + b"\xe9" + page[at + 2 :]  # é (C3 A9) as latin-1: one invalid byte
    if name == "slow_drip":
        return page
    raise KeyError(name)


def _double_gzip(size: int) -> bytes:
    step = bytes(1 << 20)
    inner = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [
        inner.compress(step[: min(len(step), size - done)]) for done in range(0, size, len(step))
    ]
    parts.append(inner.flush())
    outer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return outer.compress(b"".join(parts)) + outer.flush()
