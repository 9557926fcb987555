"""``parse_case``: one case page's bytes and URL in, one ``CaseRecord`` out.

How the page is read (SITE.md: the markup is unknown, the visible text is known):

1. Decode (parsers.decoding), parse with lxml, and turn ``<body>`` into a stream of visible
   text pieces in reading order (parsers.stream).
2. Find the section headings as whole lines of text (Institutional design, Means, Ends,
   Policy cycle, Sources, How to quote; labels from ``Labels``). Fewer than two case sections
   (or one without the design labels) means the page is not a case page, or was cut off
   before its content: ``PageParseError``.
3. The case content is the smallest element holding all headings found; Sources end there, so
   footer links are never sources.
4. Before the first section: the country is the nearest piece of text that is exactly a
   country name, starts its line and is not one item of a list of country names (the site's
   menu names all 18); the title is the text right after it (without a country: the nearest
   ``h1``-``h6`` line); the description is every line between the title and the design
   section, one paragraph per line, joined by a blank line.
5. Design fields (parsers.design), options (parsers.options), sources (links in the Sources
   section, made absolute).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.etree import _Element as HtmlElement

from latinno.errors import PageParseError
from latinno.pages import page_key
from latinno.record import RECORD_FIELDS, CaseRecord, ParseIssue, Source
from latinno.vocabulary import (
    COUNTRY_BY_CODE,
    OPTION_LISTS,
    Labels,
    build_labels,
    country_for_case_id,
)
from parsers.decoding import decode_body
from parsers.design import find_markers, read_design
from parsers.options import read_options
from parsers.stream import (
    Stream,
    collapse,
    common_ancestor,
    in_heading,
    is_inside,
    read_stream,
    text_key,
)
from parsers.version import PARSER_VERSION

CASE_SECTIONS: tuple[str, ...] = ("institutional_design", *OPTION_LISTS)
# A heading line may end in the help toggle ("Institutional design ?").
_TOGGLES = frozenset(("", "?", "(?)", "[?]"))
_MAX_HEADING_CHARS = 80
_TAIL_BYTES = 4096
_LIST_LEVELS = 4  # how far up two menu items may meet

_DEFAULT_LABELS: Labels | None = None
_HTML_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True)

# Issues sort by the record field they concern.
_FIELD_RANK: dict[str, int] = {name: i for i, name in enumerate(RECORD_FIELDS)}


def default_labels() -> Labels:
    """The seen labels only (``build_labels()``), built once per process."""
    global _DEFAULT_LABELS
    if _DEFAULT_LABELS is None:
        _DEFAULT_LABELS = build_labels()
    return _DEFAULT_LABELS


@dataclass(frozen=True, slots=True)
class Heading:
    section: str
    first: int  # first piece of the heading line
    end: int  # one past its last piece
    element: HtmlElement


def _parse_html(text: str, url: str) -> HtmlElement:
    # lxml refuses str input that carries an XML encoding declaration; the text is decoded.
    if text.lstrip().startswith("<?xml"):
        text = text[text.find("?>") + 2 :]
    if not text.strip():
        raise PageParseError(url, "empty body")
    try:
        # Plain etree elements: lxml.html's Python-level element classes cost a third of the
        # parse time and nothing here needs them.
        root = etree.fromstring(text, _HTML_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise PageParseError(url, f"not HTML: {exc}") from None
    if root is None:
        raise PageParseError(url, "empty body")
    return root


def _canonical(root: HtmlElement, url: str) -> str | None:
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rel and href:
            absolute = urljoin(url, href) if urlsplit(url).scheme else href
            return absolute if urlsplit(absolute).scheme in ("http", "https") else None
    return None


def canonical_url(body: bytes, url: str = "", *, charset: str | None = None) -> str | None:
    """The page's ``<link rel="canonical">`` as an absolute http(s) URL, or None."""
    if not body or body.isspace():
        return None
    text, _codec = decode_body(body, charset)
    try:
        root = _parse_html(text, url)
    except PageParseError:
        return None
    return _canonical(root, url)


def _base_url(root: HtmlElement, url: str) -> str:
    for base in root.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            return urljoin(url, href)
    return url


def _heading_of(stream: Stream, texts: list[int], labels: Labels) -> str | None:
    """The section a line of text pieces heads, or None."""
    pieces = stream.pieces
    first = pieces[texts[0]]
    if len(texts) > 3 or len(first.raw) > _MAX_HEADING_CHARS:
        return None
    section = labels.section_by_heading.get(first.key)
    if len(texts) == 1:
        return section
    rest = collapse("".join(pieces[i].raw for i in texts[1:]))
    if section is not None and rest in _TOGGLES:
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


def _choose_headings(headings: list[Heading]) -> list[Heading]:
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


def _is_truncated(body: bytes) -> bool:
    """An HTML page without its closing ``</html>``: the transfer (or the file) was cut off."""
    head = body[:_TAIL_BYTES].lower()
    looks_html = any(tag in head for tag in (b"<!doctype html", b"<html", b"<head", b"<body"))
    return looks_html and b"</html" not in body[-_TAIL_BYTES:].lower()


def _require_case(body: bytes, url: str, headings: list[Heading], has_labels: bool) -> None:
    """Raise unless the page shows case content and is not cut off inside it.

    A case page shows at least two of the four case sections, or one of them and the design
    labels; one stray "Means" heading (a country essay) is not enough. "How to quote" always
    closes a case page, so a page without ``</html>`` that lacks it was cut off.
    """
    truncated = _is_truncated(body)
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


def _content(stream: Stream, headings: list[Heading]) -> tuple[HtmlElement | None, int]:
    """The case container (the element holding every heading) and one past its last piece."""
    elements = [h.element for h in headings if h.section != "how_to_quote"]
    container = common_ancestor(elements)
    if container is not None and len(elements) == 1 and container.getparent() is not None:
        container = container.getparent()
    if container is None:
        return None, len(stream.pieces)
    for index in range(headings[-1].end, len(stream.pieces)):
        if not is_inside(stream.pieces[index].element, container):
            return container, index
    return container, len(stream.pieces)


@dataclass(slots=True)
class Preface:
    country_piece: int | None
    title: str | None
    title_line_end: int  # first piece after the title's line


def _is_country(stream: Stream, index: int, labels: Labels) -> bool:
    piece = stream.pieces[index]
    return len(piece.raw) <= _MAX_HEADING_CHARS and piece.key in labels.country_by_name


def _chain(element: HtmlElement, levels: int) -> list[HtmlElement]:
    chain = [element]
    while len(chain) <= levels and chain[-1].getparent() is not None:
        chain.append(chain[-1].getparent())
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
            return all(x.tag == y.tag for x, y in zip(first[:depth], second[:depth], strict=True))
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


def _design_start(stream: Stream, start: int, end: int, labels: Labels) -> int:
    """Without an Institutional design heading: where its labels or help texts begin."""
    markers = find_markers(stream, start, end, labels)
    return markers[0].at if markers else end


def _description(stream: Stream, start: int, end: int) -> str | None:
    """One paragraph per line, joined by a blank line; a help toggle left behind is dropped."""
    paragraphs = [p for p in (stream.text_of(line) for line in stream.lines(start, end)) if p]
    while paragraphs and paragraphs[-1] in _TOGGLES:
        paragraphs.pop()
    return "\n\n".join(paragraphs) or None


def _sources(
    stream: Stream, start: int, end: int, container: HtmlElement | None, base: str
) -> list[Source]:
    """Links between pieces ``start`` and ``end`` inside the case container, made absolute."""
    sources: list[Source] = []
    for link in stream.links:
        # A link without text sits between pieces: at ``end`` it still precedes the next heading.
        empty_at_end = link.first == end == link.end
        if not (start <= link.first < end or empty_at_end):
            continue
        if container is not None and not is_inside(link.element, container):
            continue
        href = link.href.strip()
        if not href or href.startswith(("#", "javascript:")):
            continue
        url = urljoin(base, href)
        sources.append(Source(stream.text_of(range(link.first, link.end)) or url, url))
    return sources


def _country(
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


def parse_case(
    body: bytes,
    url: str,
    *,
    charset: str | None = None,
    labels: Labels | None = None,
    active_classes: Sequence[str] = ("active",),
) -> CaseRecord:
    """Parse one case page. Raises only ``PageParseError`` (not a case page, empty, cut off)."""
    if not body or body.isspace():
        raise PageParseError(url, "empty body")
    labels = labels or default_labels()
    text, _codec = decode_body(body, charset)
    root = _parse_html(text, url)
    canonical = _canonical(root, url)
    key = page_key(url) or (page_key(canonical) if canonical else None)
    if key is None:
        raise PageParseError(url, "the URL names no case page (expected …/{lang}/case/{id}/)")
    case_id, lang = key
    body_element = root.find("body")
    stream = read_stream(body_element if body_element is not None else root)

    if not stream.pieces:
        raise PageParseError(url, "empty page: no visible text in <body>")

    headings = _choose_headings(find_headings(stream, labels))
    found = {h.section for h in headings} & set(CASE_SECTIONS)
    # One case heading alone needs the design labels as a second witness (see _require_case).
    has_labels = len(found) == 1 and any(
        m.field for m in find_markers(stream, 0, len(stream.pieces), labels)
    )
    _require_case(body, url, headings, has_labels)
    container, content_end = _content(stream, headings)
    by_section = {h.section: h for h in headings}
    zone_end = {
        h.section: (headings[i + 1].first if i + 1 < len(headings) else content_end)
        for i, h in enumerate(headings)
    }
    begin = headings[0].first
    issues: list[ParseIssue] = []

    preface = read_preface(stream, begin, labels)
    country_code, country, country_issue = _country(stream, preface, case_id, labels)
    if country_issue is not None:
        issues.append(country_issue)
    if preface.title is None:
        issues.append(ParseIssue("title", None, "no title found before the case content"))

    design_heading = by_section.get("institutional_design")
    if design_heading is not None:
        design_start, design_end = design_heading.end, zone_end["institutional_design"]
        description_end = design_heading.first
    else:
        # The heading may be gone while the labels remain: read them, and keep them out of
        # the description. Each field not found gets its own issue from read_design.
        design_start = _design_start(stream, preface.title_line_end, begin, labels)
        design_end, description_end = begin, design_start
    description = _description(stream, preface.title_line_end, description_end)
    if description is None:
        issues.append(ParseIssue("description", None, "no description found"))
    design = read_design(stream, design_start, design_end, labels)
    issues.extend(design.issues)

    present = [name for name in OPTION_LISTS if name in by_section]
    options: dict[str, tuple[str, ...]] = {name: () for name in OPTION_LISTS}
    if present:
        first = min(by_section[n].end for n in present)
        last = max(zone_end[n] for n in present)
        options.update(read_options(stream, first, last, labels, active_classes, present))
    issues.extend(
        ParseIssue(name, None, f"section '{name}' not found")
        for name in OPTION_LISTS
        if name not in by_section
    )

    sources: list[Source] = []
    if "sources" in by_section:
        # Relative links resolve against the canonical URL, so a page fetched from a mirror or
        # our local site server yields the same record as from latinno.net.
        base = _base_url(root, canonical or url)
        sources = _sources(stream, by_section["sources"].end, zone_end["sources"], container, base)

    issues.sort(key=lambda issue: _FIELD_RANK.get(issue.field, len(RECORD_FIELDS)))
    values = design.values

    return CaseRecord(
        url=canonical or url,
        case_id=case_id,
        lang=lang,
        country_code=country_code,
        country=country,
        title=preface.title,
        description=description,
        formalization=values["formalization"],  # type: ignore[arg-type]
        frequency=values["frequency"],  # type: ignore[arg-type]
        participant_selection=values["participant_selection"],  # type: ignore[arg-type]
        participant_types=values["participant_types"],  # type: ignore[arg-type]
        decisiveness=values["decisiveness"],  # type: ignore[arg-type]
        co_governance=values["co_governance"],  # type: ignore[arg-type]
        means=options["means"],
        ends=options["ends"],
        policy_cycle=options["policy_cycle"],
        sources=tuple(sources),
        issues=tuple(issues),
        parser_version=PARSER_VERSION,
    )
