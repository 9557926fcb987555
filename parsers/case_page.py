"""``parse_case``: one case page's bytes and URL in, one ``CaseRecord`` out.

How the page is read (docs/site.md: the markup is unknown, the visible text is known):

1. Decode (parsers.decoding), build the BeautifulSoup tree with the lxml builder, strained to
   ``<body>`` and the ``<link>``/``<base>`` elements (parsers.soup), and turn ``<body>`` into a
   stream of visible text pieces in reading order in one pass (parsers.stream).
2. Find the section headings as whole lines of text (Institutional design, Means, Ends,
   Policy cycle, Sources, How to quote; labels from ``Labels``). Fewer than two case sections
   (or one without the design labels) means the page is not a case page, or was cut off
   before its content: ``PageParseError`` (parsers.sections).
3. The case content is the smallest element holding all headings found; Sources end there, so
   footer links are never sources.
4. Before the first section: the country, the title and the description (parsers.preface).
5. Design fields (parsers.design), options (parsers.options), sources (links in the Sources
   section, made absolute).
6. What the page showed (``sections_present``, ``PAGE_PARTS``): Institutional design when its
   heading or any of its labels is on the page, a design field when its label has a value
   after it, Means/Ends/Policy cycle when the heading is there and lists at least one of its
   options. A missing section gets an issue of its own, so unknown never reads as "no".
7. How each list shown was read (``option_counts``: options found, options applying); a list
   read with none or all applying gets an issue naming the marker in use (parsers.options).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

from bs4.element import Tag

from latinno.errors import PageParseError
from latinno.marker import DEFAULT_MARKER, Marker
from latinno.pages import page_key
from latinno.record import (
    PAGE_PARTS,
    RECORD_FIELDS,
    CaseRecord,
    OptionCount,
    ParseIssue,
    Source,
)
from latinno.vocabulary import DESIGN_FIELDS, OPTION_LISTS, Labels, build_labels
from parsers.decoding import Decoded, decode_body, decode_page
from parsers.design import Design, find_markers, read_design
from parsers.options import (
    OptionScopes,
    OptionsRead,
    find_options,
    option_scopes,
    read_options,
)
from parsers.preface import Preface, read_country, read_description, read_preface
from parsers.sections import (
    CASE_SECTIONS,
    Heading,
    case_content,
    choose_headings,
    find_headings,
    require_case,
)
from parsers.soup import LINKS_ONLY, base_of, build_soup, canonical_of, link_elements
from parsers.stream import MAX_DEPTH, Stream, is_inside, read_stream
from parsers.version import PARSER_VERSION

_DEFAULT_LABELS: Labels | None = None

# Issues sort by the record field they concern; a missing Institutional design section comes
# just before the issues of its six fields.
_DESIGN = "institutional_design"
_ISSUE_ORDER = list(RECORD_FIELDS)
_ISSUE_ORDER.insert(_ISSUE_ORDER.index(DESIGN_FIELDS[0]), _DESIGN)
_FIELD_RANK: dict[str, int] = {name: i for i, name in enumerate(_ISSUE_ORDER)}


def default_labels() -> Labels:
    """The seen labels only (``build_labels()``), built once per process."""
    global _DEFAULT_LABELS
    if _DEFAULT_LABELS is None:
        _DEFAULT_LABELS = build_labels()
    return _DEFAULT_LABELS


def canonical_url(body: bytes, url: str = "", *, charset: str | None = None) -> str | None:
    """The page's ``<link rel="canonical">`` as an absolute http(s) URL, or None."""
    if not body or body.isspace():
        return None
    text, _codec = decode_body(body, charset)
    try:
        soup = build_soup(text, url, LINKS_ONLY)
    except PageParseError:
        return None
    return canonical_of(link_elements(soup), url)


def _design_start(stream: Stream, start: int, end: int, labels: Labels) -> int:
    """Without an Institutional design heading: where its labels or help texts begin."""
    markers = find_markers(stream, start, end, labels)
    return markers[0].at if markers else end


def _sources(
    stream: Stream, start: int, end: int, container: Tag | None, base: str
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


@dataclass(slots=True)
class _Page:
    """A page read far enough to know it is worth parsing: its stream, key and canonical URL."""

    stream: Stream
    case_id: int
    lang: str
    canonical: str | None
    decoded: Decoded


def _read_page(body: bytes, url: str, charset: str | None) -> _Page:
    """Decode, build the tree and read the stream; raise for pages with nothing to parse."""
    if not body or body.isspace():
        raise PageParseError(url, "empty body")
    decoded = decode_page(body, charset)
    stream = read_stream(build_soup(decoded.text, url))
    canonical = canonical_of(stream.heads, url)
    key = page_key(url) or (page_key(canonical) if canonical else None)
    if key is None:
        raise PageParseError(url, "the URL names no case page (expected …/{lang}/case/{id}/)")
    if stream.too_deep is not None:
        raise PageParseError(
            url,
            f"nested too deep: elements nest {stream.too_deep} levels, more than the "
            f"{MAX_DEPTH} the parser reads",
        )
    if not stream.pieces:
        raise PageParseError(url, "empty page: no visible text in <body>")
    return _Page(stream, key[0], key[1], canonical, decoded)


@dataclass(slots=True)
class _Layout:
    """Where the case sections are: each chosen heading, where its zone ends, the container."""

    headings: list[Heading]
    by_section: dict[str, Heading]
    zone_end: dict[str, int]
    container: Tag | None


def _layout(body: bytes, url: str, stream: Stream, labels: Labels) -> _Layout:
    headings = choose_headings(find_headings(stream, labels))
    found = {h.section for h in headings} & set(CASE_SECTIONS)
    # One case heading alone needs the design labels as a second witness (see require_case).
    has_labels = len(found) == 1 and any(
        m.field for m in find_markers(stream, 0, len(stream.pieces), labels)
    )
    require_case(body, url, headings, has_labels)
    container, content_end = case_content(stream, headings)
    zone_end = {
        h.section: (headings[i + 1].first if i + 1 < len(headings) else content_end)
        for i, h in enumerate(headings)
    }
    return _Layout(headings, {h.section: h for h in headings}, zone_end, container)


def _options(
    stream: Stream, layout: _Layout, labels: Labels, marker: Marker
) -> tuple[dict[str, tuple[str, ...]], set[str], list[OptionCount], list[ParseIssue]]:
    """Marked codes of Means, Ends and Policy cycle, the lists shown and how they were read,
    an issue per list not shown and per list read with none or all of its options applying."""
    by_section = layout.by_section
    present = [name for name in OPTION_LISTS if name in by_section]
    read: dict[str, OptionsRead | None] = {}
    if present:
        first = min(by_section[n].end for n in present)
        last = max(layout.zone_end[n] for n in present)
        read = read_options(stream, first, last, labels, marker, present)
    options: dict[str, tuple[str, ...]] = {}
    shown: set[str] = set()
    counts: list[OptionCount] = []
    issues: list[ParseIssue] = []
    for name in OPTION_LISTS:
        got = read.get(name)
        options[name] = got.codes if got is not None else ()
        if got is not None:
            shown.add(name)
            counts.append(OptionCount(name, got.found, len(got.codes)))
            if not got.codes or len(got.codes) == got.found:
                issues.append(_uniform_issue(name, got, marker))
        elif name in by_section:
            issues.append(
                ParseIssue(name, None, f"section '{name}' lists none of its options: not read")
            )
        else:
            issues.append(ParseIssue(name, None, f"section '{name}' not found on the page"))
    return options, shown, counts, issues


def _uniform_issue(name: str, got: OptionsRead, marker: Marker) -> ParseIssue:
    """A list read with none or all of its options applying: true of some cases, but on most
    pages it means the marker does not fit the site."""
    how = "none" if not got.codes else "all"
    return ParseIssue(
        name,
        f"{len(got.codes)} of {got.found} apply",
        f"section '{name}': {how} of its {got.found} options read as applying under "
        f"parser.marker ({marker.describe()}); if that is wrong for this case, run "
        "`latinno calibrate`",
    )


def _description_and_design(
    stream: Stream, layout: _Layout, preface: Preface, labels: Labels, issues: list[ParseIssue]
) -> tuple[str | None, Design]:
    """The description and the design fields; their issues are added to ``issues``."""
    begin = layout.headings[0].first
    design_heading = layout.by_section.get(_DESIGN)
    if design_heading is not None:
        design_start = design_heading.end
        design_end = layout.zone_end[_DESIGN]
        description_end = design_heading.first
    else:
        # The heading may be gone while the labels remain: read them, and keep them out of
        # the description. Each field not found gets its own issue from read_design.
        design_start = _design_start(stream, preface.title_line_end, begin, labels)
        design_end, description_end = begin, design_start
    description = read_description(stream, preface.title_line_end, description_end)
    if description is None:
        issues.append(ParseIssue("description", None, "no description found"))
    design = read_design(stream, design_start, design_end, labels)
    issues.extend(design.issues)
    return description, design


def _page_sources(stream: Stream, layout: _Layout, page_url: str) -> list[Source]:
    """The links of the Sources section, if the page has one."""
    if "sources" not in layout.by_section:
        return []
    # Relative links resolve against the canonical URL, so a page fetched from a mirror or
    # our local site server yields the same record as from latinno.net.
    base = base_of(stream.heads, page_url)
    start, end = layout.by_section["sources"].end, layout.zone_end["sources"]
    return _sources(stream, start, end, layout.container, base)


def parse_case(
    body: bytes,
    url: str,
    *,
    charset: str | None = None,
    labels: Labels | None = None,
    marker: Marker | None = None,
    active_classes: Sequence[str] | None = None,
) -> CaseRecord:
    """Parse one case page. Raises only ``PageParseError`` (not a case page, empty, cut off).

    ``marker`` is the rule telling applying options (``parser.marker``); ``active_classes``,
    the old form, stands for a class rule. Default: class ``active`` marks applying options.
    """
    labels = labels or default_labels()
    if marker is None:
        marker = Marker.of_classes(active_classes) if active_classes else DEFAULT_MARKER
    page = _read_page(body, url, charset)
    stream = page.stream
    layout = _layout(body, url, stream, labels)
    begin = layout.headings[0].first
    issues: list[ParseIssue] = []

    preface = read_preface(stream, begin, labels)
    country_code, country, country_issue = read_country(stream, preface, page.case_id, labels)
    if country_issue is not None:
        issues.append(country_issue)
    if preface.title is None:
        issues.append(ParseIssue("title", None, "no title found before the case content"))

    description, design = _description_and_design(stream, layout, preface, labels, issues)
    shown = set(design.shown)
    if _DESIGN in layout.by_section or design.labelled:
        shown.add(_DESIGN)
    else:
        issues.append(ParseIssue(_DESIGN, None, f"section '{_DESIGN}' not found on the page"))
    options, shown_lists, counts, missing = _options(stream, layout, labels, marker)
    shown |= shown_lists
    issues.extend(missing)
    sources = _page_sources(stream, layout, page.canonical or url)

    problem = page.decoded.problem()
    if problem is not None:
        issues.append(ParseIssue("encoding", None, problem))
    issues.sort(key=lambda issue: _FIELD_RANK.get(issue.field, len(RECORD_FIELDS)))
    values = design.values

    return CaseRecord(
        url=page.canonical or url,
        case_id=page.case_id,
        lang=page.lang,
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
        sections_present=tuple(part for part in PAGE_PARTS if part in shown),
        option_counts=tuple(counts),
        issues=tuple(issues),
        parser_version=PARSER_VERSION,
    )


@dataclass(frozen=True, slots=True)
class PageOptions:
    """A case page's option lists as calibration reads them (``parsers.calibration``): each
    list shown with its options' scopes, the option sections whose heading is missing, and
    the stream (for labels nobody placed)."""

    url: str
    case_id: int
    lang: str
    title: str | None
    lists: dict[str, OptionScopes]
    missing: tuple[str, ...]
    stream: Stream


def page_options(
    body: bytes, url: str, *, charset: str | None = None, labels: Labels | None = None
) -> PageOptions:
    """Read a page as ``parse_case`` does up to its option lists, without any marker.
    Raises ``PageParseError`` for what is not a case page."""
    labels = labels or default_labels()
    page = _read_page(body, url, charset)
    stream = page.stream
    layout = _layout(body, url, stream, labels)
    preface = read_preface(stream, layout.headings[0].first, labels)
    present = [name for name in OPTION_LISTS if name in layout.by_section]
    lists: dict[str, OptionScopes] = {}
    if present:
        first = min(layout.by_section[n].end for n in present)
        last = max(layout.zone_end[n] for n in present)
        lists = option_scopes(find_options(stream, first, last, labels, present))
    missing = tuple(name for name in OPTION_LISTS if name not in layout.by_section)
    url = page.canonical or url
    return PageOptions(url, page.case_id, page.lang, preface.title, lists, missing, stream)
