"""Before the first case section: the country, the title and the description.

The country is the nearest piece of text that is exactly a country name, starts its line and is
not one item of a list of country names (the site's menu names all 18); the title is the text
right after it (without a country: the nearest ``h1``-``h6`` line); the description is every
line between the title and the design section, one paragraph per line, joined by a blank line.
"""

from __future__ import annotations

from dataclasses import dataclass

from bs4.element import Tag

from latinno.record import ParseIssue
from latinno.vocabulary import COUNTRY_BY_CODE, Labels, country_for_case_id
from parsers.sections import MAX_HEADING_CHARS, TOGGLES
from parsers.stream import Stream, collapse, in_heading

_LIST_LEVELS = 4  # how far up two menu items may meet


@dataclass(slots=True)
class Preface:
    country_piece: int | None
    title: str | None
    title_line_end: int  # first piece after the title's line


def _is_country(stream: Stream, index: int, labels: Labels) -> bool:
    piece = stream.pieces[index]
    return len(piece.raw) <= MAX_HEADING_CHARS and piece.key in labels.country_by_name


def _chain(element: Tag, levels: int) -> list[Tag]:
    chain = [element]
    parent = element.parent
    while len(chain) <= levels and parent is not None:
        chain.append(parent)
        parent = parent.parent
    return chain


def _same_list(stream: Stream, a: int, b: int, levels: int = _LIST_LEVELS) -> bool:
    """Two country pieces that are parallel items of one list (a menu), not a lone link.

    They are when, a few levels up, both reach the same element through the same tags
    (``ul > li > a > span`` twice); a country link next to the menu meets it far higher.
    """
    first = _chain(stream.pieces[a].element, levels)
    second = _chain(stream.pieces[b].element, levels)
    for depth in range(1, min(len(first), len(second))):
        if first[depth] is second[depth]:
            return all(x.name == y.name for x, y in zip(first[:depth], second[:depth], strict=True))
    return False


def read_preface(stream: Stream, end: int, labels: Labels) -> Preface:
    """Country and title: the country line nearest the case content, then the text after it."""
    pieces = stream.pieces
    texts = [i for i in range(end) if not pieces[i].is_attribute]
    for pos in range(len(texts) - 1, -1, -1):
        index = texts[pos]
        if not _is_country(stream, index, labels):
            continue
        if pos > 0 and pieces[texts[pos - 1]].line == pieces[index].line:
            continue  # a country named inside running text
        neighbours = [texts[p] for p in (pos - 1, pos + 1) if 0 <= p < len(texts)]
        if any(
            _is_country(stream, other, labels) and _same_list(stream, index, other)
            for other in neighbours
        ):
            continue  # an item of a list of countries: the site navigation
        rest = [i for i in texts[pos + 1 :] if pieces[i].line == pieces[index].line]
        if rest:
            return Preface(index, stream.text_of(rest) or None, rest[-1] + 1)
        following = texts[pos + 1] if pos + 1 < len(texts) else None
        if following is None:
            return Preface(index, None, end)
        line = [i for i in texts[pos + 1 :] if pieces[i].line == pieces[following].line]
        return Preface(index, stream.text_of(line) or None, line[-1] + 1)
    # No country shown: the title is the last heading-tag line before the content.
    for pos in range(len(texts) - 1, -1, -1):
        index = texts[pos]
        if in_heading(pieces[index].element):
            line = [i for i in texts if pieces[i].line == pieces[index].line]
            return Preface(None, stream.text_of(line) or None, line[-1] + 1)
    return Preface(None, None, end)


def read_description(stream: Stream, start: int, end: int) -> str | None:
    """One paragraph per line, joined by a blank line; a help toggle left behind is dropped."""
    paragraphs = [p for p in (stream.text_of(line) for line in stream.lines(start, end)) if p]
    while paragraphs and paragraphs[-1] in TOGGLES:
        paragraphs.pop()
    return "\n\n".join(paragraphs) or None


def read_country(
    stream: Stream, preface: Preface, case_id: int, labels: Labels
) -> tuple[str | None, str | None, ParseIssue | None]:
    """Country code, country text and an issue when it is missing or disagrees with the id."""
    expected = country_for_case_id(case_id)
    if preface.country_piece is None:
        if expected is None:
            message = f"no country shown and id {case_id} has no known country prefix"
            return None, None, ParseIssue("country", None, message)
        message = f"no country shown; code taken from the id prefix ({expected.name_en})"
        return expected.code, None, ParseIssue("country", None, message)
    piece = stream.pieces[preface.country_piece]
    text = collapse(piece.raw)
    code = labels.country_by_name[piece.key]
    if expected is not None and expected.code == code:
        return code, text, None
    named = expected.name_en if expected else "no known country"
    message = f"page shows {COUNTRY_BY_CODE[code].name_en} but id {case_id} names {named}"
    return code, text, ParseIssue("country", text, message)
