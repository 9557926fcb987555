"""Where an option's marker may sit, what signals its markup carries, and whether a rule matches.

Shared by the parser (``parsers.options``: does the configured ``Marker`` say this option
applies?) and by calibration (``parsers.calibration``: which signal tells the options apart?),
so both read an option's markup the same way. See ``latinno.marker`` for the rule itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from bs4.element import Tag

from latinno.marker import Marker

# A signal: (kind, name, value). kind is a marker kind; name the attribute or style property
# ("" for class and image); value a class token, a normalized attribute or style value, or an
# image file name.
Signal = tuple[str, str, str]

# Attributes that name an option or an element rather than mark a state: never signals.
_NAMING = frozenset(
    {
        "alt",
        "title",
        "id",
        "for",
        "name",
        "lang",
        "dir",
        "aria-label",
        "aria-labelledby",
        "aria-describedby",
        "aria-controls",
        "width",
        "height",
        "tabindex",
        "href",
        "target",
        "rel",
        "type",
        "loading",
        "decoding",
        "sizes",
        "xmlns",
    }
)
_IMAGE_ATTRS = ("src", "srcset", "data-src", "data-srcset", "data-lazy-src", "poster")
# SVG sprites name their icon in href (``<use href="#icon-check">``).
_SPRITE_TAGS = frozenset({"use", "image"})
_SPRITE_ATTRS = ("href", "xlink:href")
_URL_IN_CSS = re.compile(r"url\(\s*['\"]?([^'\")]+)")
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_WILD = re.compile(r"[*?\[]")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def file_name(url: str) -> str:
    """The file name an image URL ends in (``#id`` for a sprite reference), without case."""
    parts = urlsplit(url.strip())
    tail = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return (tail or parts.fragment).casefold()


def words(text: str) -> frozenset[str]:
    """The words of a name: split at anything not a letter or digit, and at camelCase."""
    return frozenset(word.casefold() for word in _WORD.findall(text))


def style_value(value: str) -> str:
    """A style value compared: no spaces, no case (``Grayscale( 100% )``: ``grayscale(100%)``)."""
    return "".join(value.split()).casefold()


def _styles(style: str) -> Iterator[tuple[str, str]]:
    for declaration in style.split(";"):
        prop, colon, value = declaration.partition(":")
        if colon and prop.strip() and value.strip():
            yield prop.strip().casefold(), style_value(value.replace("!important", ""))


def _images(element: Tag) -> Iterator[str]:
    attrs = element.attrs
    for name in _IMAGE_ATTRS:
        for part in _text(attrs.get(name)).split(","):
            url = part.strip().split(" ")[0] if part.strip() else ""
            if url:
                yield file_name(url)
    if element.name in _SPRITE_TAGS:
        for name in _SPRITE_ATTRS:
            if attrs.get(name):
                yield file_name(_text(attrs[name]))
    for url in _URL_IN_CSS.findall(_text(attrs.get("style"))):
        yield file_name(url)


def signals(element: Tag) -> Iterator[Signal]:
    """Every signal one element carries: class tokens, state attributes, image file names,
    inline style properties and its tag name."""
    for name, raw in element.attrs.items():
        value = _text(raw)
        key = name.casefold()
        if key == "class":
            for token in value.split():
                yield "class", "", token
        elif key == "style":
            for prop, prop_value in _styles(value):
                yield "style", prop, prop_value
        elif key in _NAMING or key in _IMAGE_ATTRS or key in _SPRITE_ATTRS:
            continue
        else:
            # A boolean attribute (``checked``, ``disabled``) counts by its name.
            yield "attribute", key, " ".join(value.split()).casefold() or key
    for image in _images(element):
        if image:
            yield "image", "", image
    yield "tag", "", element.name.casefold()


def scope_elements(top: Tag) -> Iterator[Tag]:
    """``top`` and every element inside it."""
    yield top
    for node in top.descendants:
        if isinstance(node, Tag):
            yield node


def owners_of(items: Sequence[tuple[str, Tag]]) -> dict[int, set[str]]:
    """Every element holding a named option (``items``: (option key, element) of every list on
    the page), mapped to the keys of the options it holds."""
    owners: dict[int, set[str]] = {}
    for key, element in items:
        node: Tag | None = element
        while node is not None:
            owners.setdefault(id(node), set()).add(key)
            node = node.parent
    return owners


def scope_tops(
    items: Sequence[tuple[str, Tag]], stop: Tag | None, owners: dict[int, set[str]]
) -> list[Tag]:
    """For each (option key, element) of one list, the highest element between it and the
    list (``stop``) that holds that option alone, of every list on the page (``owners``, from
    ``owners_of``): the option's scope is that element's subtree. Means and Ends interleaved
    in the rows of one table so never share a row's marker."""
    tops: list[Tag] = []
    for key, element in items:
        top = element
        node: Tag | None = element
        while node is not None and node is not stop and owners.get(id(node), {key}) == {key}:
            top = node
            node = node.parent
        tops.append(top)
    return tops


def _value_matches(value: str, pattern: str) -> bool:
    pattern = pattern.strip().casefold()
    return fnmatchcase(value, pattern) if _WILD.search(pattern) else value == pattern


def matches(marker: Marker, signal: Signal) -> bool:
    """True when ``signal`` is the one the rule looks for."""
    kind, name, value = signal
    if kind != marker.kind:
        return False
    if kind == "class":
        return any(fnmatchcase(value, pattern.strip()) for pattern in marker.values)
    if kind == "tag":
        return any(_value_matches(value, pattern) for pattern in marker.values)
    if kind == "image":
        names = words(value)
        return any(
            fnmatchcase(value, p.strip().casefold())
            if _WILD.search(p)
            else p.strip().casefold() in names
            for p in marker.values
        )
    if name != (marker.name or "").strip().casefold():
        return False
    if kind == "style":
        return any(_value_matches(value, style_value(p)) for p in marker.values)
    return any(_value_matches(value, " ".join(p.split())) for p in marker.values)


def _has_class(top: Tag, marker: Marker) -> bool:
    # The default rule, on every option of every page: class tokens only, no other signal.
    exact = frozenset(v.strip() for v in marker.values if not _WILD.search(v))
    patterns = [v.strip() for v in marker.values if _WILD.search(v)]
    for element in scope_elements(top):
        tokens = _text(element.attrs.get("class")).split()
        if not exact.isdisjoint(tokens):
            return True
        if patterns and any(fnmatchcase(t, p) for t in tokens for p in patterns):
            return True
    return False


def carries(top: Tag, marker: Marker) -> bool:
    """True when the scope under ``top`` carries the rule's signal."""
    if marker.kind == "class":
        return _has_class(top, marker)
    return any(matches(marker, s) for element in scope_elements(top) for s in signals(element))
