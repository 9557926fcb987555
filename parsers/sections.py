"""The case sections of a page: headings found as whole lines of text, and the case content.

A heading is a line whose text is a section label (Institutional design, Means, Ends, Policy
cycle, Sources, How to quote; labels from ``Labels``), optionally followed by the help toggle.
Fewer than two case sections (or one without the design labels) means the page is not a case
page, or was cut off before its content. The case content is the smallest element holding all
headings found; Sources end there, so footer links are never sources.
"""

from __future__ import annotations

from dataclasses import dataclass

from bs4.element import Tag

from latinno.errors import PageParseError
from latinno.vocabulary import OPTION_LISTS, Labels
from parsers.stream import Stream, collapse, common_ancestor, is_inside, text_key

CASE_SECTIONS: tuple[str, ...] = ("institutional_design", *OPTION_LISTS)
# A heading line may end in the help toggle ("Institutional design ?").
TOGGLES = frozenset(("", "?", "(?)", "[?]"))
MAX_HEADING_CHARS = 80
_TAIL_BYTES = 4096


# eq=False: compared and hashed by identity (a bs4 Tag compares and hashes by its markup).
@dataclass(frozen=True, slots=True, eq=False)
class Heading:
    section: str
    first: int  # first piece of the heading line
    end: int  # one past its last piece
    element: Tag


def _heading_of(stream: Stream, texts: list[int], labels: Labels) -> str | None:
    """The section a line of text pieces heads, or None."""
    pieces = stream.pieces
    first = pieces[texts[0]]
    if len(texts) > 3 or len(first.raw) > MAX_HEADING_CHARS:
        return None
    section = labels.section_by_heading.get(first.key)
    if len(texts) == 1:
        return section
    rest = collapse("".join(pieces[i].raw for i in texts[1:]))
    if section is not None and rest in TOGGLES:
        return section
    return labels.section_by_heading.get(text_key(stream.text_of(texts)))


def find_headings(stream: Stream, labels: Labels) -> list[Heading]:
    """Every line that is a section heading (optionally followed by the ``?`` toggle)."""
    headings: list[Heading] = []
    texts: list[int] = []
    line = None
    pieces = stream.pieces
    for index in range(len(pieces) + 1):
        piece = pieces[index] if index < len(pieces) else None
        if piece is not None and piece.line == line:
            if not piece.is_attribute:
                texts.append(index)
            continue
        if texts:
            section = _heading_of(stream, texts, labels)
            if section is not None:
                end = index
                headings.append(Heading(section, texts[0], end, pieces[texts[0]].element))
        if piece is None:
            break
        line = piece.line
        texts = [] if piece.is_attribute else [index]
    return headings


def choose_headings(headings: list[Heading]) -> list[Heading]:
    """First heading of each case section; Sources/How to quote only after the case begins."""
    chosen: dict[str, Heading] = {}
    for heading in headings:
        if heading.section in CASE_SECTIONS and heading.section not in chosen:
            chosen[heading.section] = heading
    if not chosen:
        return []
    begin = min(h.first for h in chosen.values())
    for heading in headings:
        if heading.first > begin and heading.section not in chosen:
            chosen[heading.section] = heading
    return sorted(chosen.values(), key=lambda h: h.first)


def is_truncated(body: bytes) -> bool:
    """An HTML page without its closing ``</html>``: the transfer (or the file) was cut off."""
    head = body[:_TAIL_BYTES].lower()
    looks_html = any(tag in head for tag in (b"<!doctype html", b"<html", b"<head", b"<body"))
    return looks_html and b"</html" not in body[-_TAIL_BYTES:].lower()


def require_case(body: bytes, url: str, headings: list[Heading], has_labels: bool) -> None:
    """Raise unless the page shows case content and is not cut off inside it.

    A case page shows at least two of the four case sections, or one of them and the design
    labels; one stray "Means" heading (a country essay) is not enough. "How to quote" always
    closes a case page, so a page without ``</html>`` that lacks it was cut off.
    """
    truncated = is_truncated(body)
    sections = {h.section for h in headings} & set(CASE_SECTIONS)
    if len(sections) >= 2 or (sections and has_labels):
        if truncated and "how_to_quote" not in {h.section for h in headings}:
            raise PageParseError(
                url, "truncated: the page ends without </html> before 'How to quote'"
            )
        return
    if truncated:
        raise PageParseError(
            url, "truncated: the page ends without </html> before its case content"
        )
    raise PageParseError(
        url,
        "no case content: the headings Institutional design, Means, Ends and Policy cycle "
        "are missing (not a case page)",
    )


def case_content(stream: Stream, headings: list[Heading]) -> tuple[Tag | None, int]:
    """The case container (the element holding every heading) and one past its last piece."""
    elements = [h.element for h in headings if h.section != "how_to_quote"]
    container = common_ancestor(elements)
    if container is not None and len(elements) == 1 and container.parent is not None:
        container = container.parent
    if container is None:
        return None, len(stream.pieces)
    for index in range(headings[-1].end, len(stream.pieces)):
        if not is_inside(stream.pieces[index].element, container):
            return container, index
    return container, len(stream.pieces)
