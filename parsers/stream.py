"""A page as a stream of visible text pieces in reading order, each tied to its element.

The parser reads the page the way the text copies in ../shared/seed read it: as lines of
visible text. Tag names only decide where a line breaks (HTML's block elements) and which
subtrees are never visible (scripts, styles); no site- or fixture-specific tag or class is used.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from lxml import etree
from lxml.etree import _Element as HtmlElement

# HTML's block-level elements (plus cells and <br>): each starts and ends a visual line.
BLOCK_TAGS: frozenset[str] = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "br",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "frame",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "legend",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "option",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "title",
        "tr",
        "ul",
    ]
)
# Never shown to a reader; their text is code or styling.
HIDDEN_TAGS: frozenset[str] = frozenset(
    ["head", "script", "style", "noscript", "template", "iframe", "object", "embed"]
)
HEADING_TAGS: frozenset[str] = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])


def text_key(text: str) -> str:
    """Lookup key of a visible text, as ``latinno.vocabulary.normalize_label`` folds labels.

    Unlike ``normalize_label`` it keeps a final colon: "Formalization:" is a help text, never a
    label (SITE.md), so the colon must survive the lookup.
    """
    text = " ".join(text.split())
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.casefold()


def collapse(text: str) -> str:
    """Whitespace collapsed to single spaces and stripped; every other character kept."""
    return " ".join(text.split())


@dataclass(slots=True)
class Piece:
    """One text node (or the alt/title of a text-less element) and where it sits.

    ``element`` owns the text: the node's element for ``.text``, the parent for a ``.tail``,
    the named element for ``alt``/``title``.
    """

    raw: str
    element: HtmlElement
    line: int
    is_attribute: bool = False
    _key: str | None = None

    @property
    def key(self) -> str:
        if self._key is None:
            self._key = text_key(self.raw)
        return self._key


@dataclass(slots=True)
class Link:
    element: HtmlElement
    href: str
    first: int  # index of the first piece inside the link
    end: int  # index one past its last piece


@dataclass(slots=True)
class Stream:
    pieces: list[Piece] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    def lines(self, start: int = 0, end: int | None = None) -> list[list[int]]:
        """Piece indexes grouped by visual line, for pieces ``start:end``."""
        grouped: list[list[int]] = []
        last = None
        for index in range(start, len(self.pieces) if end is None else end):
            line = self.pieces[index].line
            if line != last:
                grouped.append([])
                last = line
            grouped[-1].append(index)
        return grouped

    def text_of(self, indexes: list[int] | range) -> str:
        """Visible text of some pieces: text pieces concatenated as on the page, collapsed."""
        return collapse(
            "".join(self.pieces[i].raw for i in indexes if not self.pieces[i].is_attribute)
        )


_NAMED = etree.XPath("descendant-or-self::*[@alt or @title]")


def _is_textless(element: HtmlElement) -> bool:
    return not any(t.strip() for t in element.itertext())


def read_stream(root: HtmlElement) -> Stream:
    """Every visible text piece under ``root`` in document order, with line numbers and links."""
    stream = Stream()
    pieces = stream.pieces
    open_links: list[Link] = []
    line = 0
    # Elements named by alt/title, found in C: asking every element costs more than this.
    named = set(_NAMED(root))
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag
        if event == "start":
            if not isinstance(tag, str):  # comment or processing instruction: no text, only tail
                walker.skip_subtree()
                continue
            if tag in BLOCK_TAGS:
                line += 1
            if tag in HIDDEN_TAGS:
                walker.skip_subtree()
                continue
            if tag == "a":
                href = element.get("href")
                if href is not None:
                    link = Link(element, href, len(pieces), -1)
                    stream.links.append(link)
                    open_links.append(link)
            text = element.text
            if text and not text.isspace():
                pieces.append(Piece(text, element, line))
            if element in named:
                name = element.get("alt") or element.get("title")
                if name and name.strip() and _is_textless(element):
                    pieces.append(Piece(name, element, line, is_attribute=True))
        else:
            if isinstance(tag, str):
                if tag in BLOCK_TAGS:
                    line += 1
                if tag == "a" and open_links and open_links[-1].element is element:
                    open_links.pop().end = len(pieces)
            tail = element.tail
            if tail and not tail.isspace():
                parent = element.getparent()
                if parent is not None:
                    pieces.append(Piece(tail, parent, line))
    for link in open_links:  # a page cut off inside a link
        link.end = len(pieces)
    return stream


def is_inside(element: HtmlElement, container: HtmlElement) -> bool:
    """True when ``container`` is ``element`` or one of its ancestors."""
    node: HtmlElement | None = element
    while node is not None:
        if node is container:
            return True
        node = node.getparent()
    return False


def common_ancestor(elements: list[HtmlElement]) -> HtmlElement | None:
    """The deepest element that contains all ``elements`` (itself included)."""
    if not elements:
        return None
    path = [*list(elements[0].iterancestors())[::-1], elements[0]]
    depth = len(path)
    for element in elements[1:]:
        chain = [*list(element.iterancestors())[::-1], element]
        depth = min(depth, len(chain))
        for i in range(depth):
            if chain[i] is not path[i]:
                depth = i
                break
    return path[depth - 1] if depth else None


def in_heading(element: HtmlElement) -> bool:
    """True when the element is or sits inside an ``h1``–``h6``."""
    node: HtmlElement | None = element
    while node is not None:
        if node.tag in HEADING_TAGS:
            return True
        node = node.getparent()
    return False
