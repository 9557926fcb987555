"""The page's tree: ``BeautifulSoup(…, "lxml")``, built for what the parser reads.

Only ``<body>`` (everything in it) and the ``<link>``/``<base>`` elements are built: a
``SoupStrainer`` keeps bs4 from creating objects for the rest of ``<head>`` (scripts, styles,
JSON blobs, meta). Attributes are kept as the page spells them (``multi_valued_attributes=None``):
no ``class`` is split into a list the parser would join again. The page is decoded before
(parsers.decoding); bs4 gets that text as UTF-8 bytes with the encoding named, so neither bs4
nor its builder guesses again.
"""

from __future__ import annotations

import warnings
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning
from bs4.builder import ParserRejectedMarkup
from bs4.element import Tag
from bs4.filter import SoupStrainer

from latinno.errors import PageParseError
from parsers.stream import attribute

# <frameset> only matters on a page without <body>; the parser then reads it instead.
PAGE_PARTS = SoupStrainer(["body", "link", "base", "frameset"])
LINKS_ONLY = SoupStrainer("link")
_SHORT = 256  # bs4 checks text this short for looking like a file name or URL


def build_soup(text: str, url: str, parse_only: SoupStrainer = PAGE_PARTS) -> BeautifulSoup:
    """The strained soup of a decoded page; ``PageParseError`` when there is nothing to parse."""
    # A leftover XML declaration would only make bs4 warn that this is XML: the text is decoded.
    if text.lstrip().startswith("<?xml"):
        text = text[text.find("?>") + 2 :]
    if not text.strip():
        raise PageParseError(url, "empty body")
    try:
        if len(text) <= _SHORT and "<" not in text:
            # Text that looks like a file name is still a page here; bs4 would warn otherwise.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
                return _soup(text, parse_only)
        return _soup(text, parse_only)
    except ParserRejectedMarkup as exc:
        reason = str(exc).strip().splitlines()[-1].strip()
        raise PageParseError(url, f"not HTML: {reason}") from None
    except ValueError as exc:  # text lxml cannot take, e.g. a lone surrogate from UTF-7
        raise PageParseError(url, f"not HTML: {exc}") from None


def _soup(text: str, parse_only: SoupStrainer) -> BeautifulSoup:
    # The decoded text goes in as UTF-8 bytes with that encoding named: the builder then reads
    # its native encoding, about 15% faster than taking a Python str, and ignores any <meta>
    # charset (the page was decoded already).
    return BeautifulSoup(
        text.encode("utf-8"),
        "lxml",
        from_encoding="utf-8",
        parse_only=parse_only,
        multi_valued_attributes=None,
    )


def canonical_of(heads: list[Tag], url: str) -> str | None:
    """The first ``<link rel="canonical">`` as an absolute http(s) URL, or None."""
    for link in heads:
        if link.name != "link":
            continue
        rel = (attribute(link, "rel") or "").lower().split()
        href = (attribute(link, "href") or "").strip()
        if "canonical" in rel and href:
            absolute = urljoin(url, href) if urlsplit(url).scheme else href
            return absolute if urlsplit(absolute).scheme in ("http", "https") else None
    return None


def base_of(heads: list[Tag], url: str) -> str:
    """The page's ``<base href>`` resolved against ``url``, or ``url`` itself."""
    for base in heads:
        if base.name != "base":
            continue
        href = (attribute(base, "href") or "").strip()
        if href:
            return urljoin(url, href)
    return url


def link_elements(soup: BeautifulSoup) -> list[Tag]:
    """Every element of a soup strained to ``LINKS_ONLY`` (all at its top level)."""
    return [node for node in soup.contents if isinstance(node, Tag)]
