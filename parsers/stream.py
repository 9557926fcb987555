"""A page as a stream of visible text pieces in reading order, each tied to its element.

The parser reads the page the way a person copying its text reads it: as lines of
visible text. Tag names only decide where a line breaks (HTML's block elements) and which
subtrees are never visible (scripts, styles); no site- or fixture-specific tag or class is used.

The tree is bs4's (``parsers.soup``); one pass over ``<body>`` (``read_stream``) collects
everything later steps need (pieces, links, ``<link>``/``<base>`` elements), so no step searches
the tree again. Elements are compared by identity (``is``), never with ``==`` or in sets: a bs4
``Tag`` compares and hashes by its whole markup.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeGuard

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PageElement, PreformattedString, Tag

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
# Hidden elements whose content is raw text: they cannot hold a <link> or <base>.
_RAW_TEXT_TAGS: frozenset[str] = frozenset(["script", "style"])
HEADING_TAGS: frozenset[str] = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
_HEAD_TAGS = ("link", "base")

# libxml2's default nesting limit, where the parser's own tree stopped before it used bs4
# (PARSER_VERSION 1.1). bs4's builder has none, so the parser keeps it: no real page nests this
# deep, and the limit bounds every ancestor walk of the later steps (a 1 MB page of nested
# <div>s would make them quadratic).
MAX_DEPTH = 256


def text_key(text: str) -> str:
    """Lookup key of a visible text, as ``latinno.vocabulary.normalize_label`` folds labels.

    Unlike ``normalize_label`` it keeps a final colon: "Formalization:" is a help text, never a
    label (docs/site.md), so the colon must survive the lookup.
    """
    text = " ".join(text.split())
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.casefold()


def collapse(text: str) -> str:
    """Whitespace collapsed to single spaces and stripped; every other character kept."""
    return " ".join(text.split())


def attribute(element: Tag, name: str) -> str | None:
    """An attribute as one string (the soup is built without splitting multi-valued ones)."""
    value = element.attrs.get(name)
    if value is None or isinstance(value, str):
        return value
    return " ".join(value)


@dataclass(slots=True, eq=False)
class Piece:
    """One run of text (or the alt/title of a text-less element) and where it sits.

    ``element`` owns the text: the element the string sits in (text after a child element
    belongs to the parent), the named element for ``alt``/``title``. Strings separated only by
    a comment are one piece, as on the page.
    """

    raw: str
    element: Tag
    line: int
    is_attribute: bool = False
    _key: str | None = None

    @property
    def key(self) -> str:
        if self._key is None:
            self._key = text_key(self.raw)
        return self._key


@dataclass(slots=True, eq=False)
class Link:
    element: Tag
    href: str
    first: int  # index of the first piece inside the link
    end: int  # index one past its last piece


@dataclass(slots=True)
class Stream:
    pieces: list[Piece] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    # Every <link> and <base> of the page in document order (head and body, hidden ones too).
    heads: list[Tag] = field(default_factory=list)
    # Set when elements nest deeper than MAX_DEPTH: the deepest level found; nothing was read.
    too_deep: int | None = None

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


def _is_text(node: PageElement) -> TypeGuard[NavigableString]:
    """A string a reader sees, or would see were it not hidden (not a comment, PI, doctype)."""
    return isinstance(node, NavigableString) and not isinstance(node, PreformattedString)


def _is_textless(element: Tag) -> bool:
    # Script and style text counts (an element holding only a script is not text-less, as in
    # PARSER_VERSION 1.1); comments do not.
    return not any(_is_text(node) and node.strip() for node in element.descendants)


def _heads_in(element: Tag) -> list[Tag]:
    """The <link>/<base> elements inside a hidden element the walk does not enter."""
    if element.name in _RAW_TEXT_TAGS:
        return []
    return [node for node in element.find_all(_HEAD_TAGS) if isinstance(node, Tag)]


class _TooDeep(Exception):
    pass


def max_depth(root: Tag, start: int) -> int:
    """The deepest element level under ``root`` (``root`` itself at level ``start``)."""
    deepest = start
    stack = [(root, start)]
    while stack:
        element, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in element.contents if isinstance(child, Tag))
    return deepest


def _walk(roots: list[Tag], level: int, stream: Stream) -> None:
    """Append every visible piece, link and head element under ``roots`` (at ``level``)."""
    pieces = stream.pieces
    links = stream.links
    heads = stream.heads
    open_links: list[Link] = []
    line = 0
    text: list[str] = []  # strings of the current element not yet flushed into a piece
    room = MAX_DEPTH - level + 1  # frames allowed on the stack, the first one included
    # Frames: (element, iterator over its children). The first frame only yields the roots, so
    # that a root's start and end take the same path as every other element's.
    stack: list[tuple[Tag, Iterator[PageElement]]] = [(roots[0], iter(roots))]
    while stack:
        parent, children = stack[-1]
        entered = False
        for child in children:
            if isinstance(child, NavigableString):
                # A comment or PI between two strings is skipped: they run on, as on the page.
                if not isinstance(child, PreformattedString):
                    text.append(child)
                continue
            if not isinstance(child, Tag):
                continue
            if text:
                raw = text[0] if len(text) == 1 else "".join(text)
                text.clear()
                if raw and not raw.isspace():
                    pieces.append(Piece(raw, parent, line))
            name = child.name
            if name in BLOCK_TAGS:
                line += 1
            if name in HIDDEN_TAGS:
                heads.extend(_heads_in(child))
                continue  # no hidden tag is a block or a link: nothing to do at its end
            attrs = child.attrs
            if name == "a":
                href = attribute(child, "href")
                if href is not None:
                    link = Link(child, href, len(pieces), -1)
                    links.append(link)
                    open_links.append(link)
            elif name in _HEAD_TAGS:
                heads.append(child)
            if "alt" in attrs or "title" in attrs:
                named = attribute(child, "alt") or attribute(child, "title")
                if named and named.strip() and _is_textless(child):
                    pieces.append(Piece(named, child, line, is_attribute=True))
            if len(stack) > room:
                raise _TooDeep
            stack.append((child, iter(child.contents)))
            entered = True
            break
        if entered:
            continue
        stack.pop()
        if not stack:  # the first frame: every root has ended
            break
        if text:
            raw = text[0] if len(text) == 1 else "".join(text)
            text.clear()
            if raw and not raw.isspace():
                pieces.append(Piece(raw, parent, line))
        name = parent.name
        if name in BLOCK_TAGS:
            line += 1
        if name == "a" and open_links and open_links[-1].element is parent:
            open_links.pop().end = len(pieces)
    for link in open_links:  # bs4 closes every element; kept for a tree cut short
        link.end = len(pieces)


def read_stream(soup: BeautifulSoup) -> Stream:
    """Every visible text piece of ``<body>`` in document order, with lines, links and heads.

    Without a ``<body>`` (a frameset page, a page cut off in its head), the framesets are read.
    Elements nested deeper than ``MAX_DEPTH`` stop the reading: ``Stream.too_deep`` says how
    deep they go.
    """
    stream = Stream()
    # The soup is strained (parsers.soup): <html> is not built, so <body> sits at the top, and
    # beside it the head's <link>/<base>, which are never text (<head> is hidden).
    top = [child for child in soup.contents if isinstance(child, Tag)]
    roots = [child for child in top if child.name == "body"][:1] or [
        child for child in top if child.name == "frameset"
    ]
    if roots:
        try:
            _walk(roots, 2, stream)
        except _TooDeep:
            return Stream(too_deep=max(max_depth(root, 2) for root in roots))
    first = next((i for i, child in enumerate(top) if child is roots[0]), len(top)) if roots else 0
    before = [child for child in top[:first] if child.name in _HEAD_TAGS]
    after = [child for child in top[first:] if child.name in _HEAD_TAGS]
    stream.heads[:0] = before
    stream.heads.extend(after)
    return stream


def is_inside(element: Tag, container: Tag) -> bool:
    """True when ``container`` is ``element`` or one of its ancestors."""
    node: Tag | None = element
    while node is not None:
        if node is container:
            return True
        node = node.parent
    return False


def ancestors(element: Tag) -> list[Tag]:
    """``element`` and its ancestors, the root first."""
    chain: list[Tag] = []
    node: Tag | None = element
    while node is not None:
        chain.append(node)
        node = node.parent
    chain.reverse()
    return chain


def common_ancestor(elements: list[Tag]) -> Tag | None:
    """The deepest element that contains all ``elements`` (itself included)."""
    if not elements:
        return None
    path = ancestors(elements[0])
    depth = len(path)
    for element in elements[1:]:
        chain = ancestors(element)
        depth = min(depth, len(chain))
        for i in range(depth):
            if chain[i] is not path[i]:
                depth = i
                break
    return path[depth - 1] if depth else None


def in_heading(element: Tag) -> bool:
    """True when the element is or sits inside an ``h1``–``h6``."""
    node: Tag | None = element
    while node is not None:
        if node.name in HEADING_TAGS:
            return True
        node = node.parent
    return False
