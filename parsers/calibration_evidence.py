"""What a learned marker makes of the sample, as evidence a person can check (``latinno
calibrate``), and the labels calibration could not place. Pure, like ``parsers.calibration``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bs4.element import Tag

from latinno.errors import PageParseError
from latinno.marker import Marker
from latinno.record import CaseRecord
from latinno.vocabulary import OPTION_LISTS, OPTION_TERMS, Labels
from parsers.case_page import PageOptions, parse_case
from parsers.marker import carries
from parsers.stream import attribute, collapse, is_inside, text_key

Page = tuple[bytes, str]  # body, URL


@dataclass(frozen=True, slots=True)
class Evidence:
    """The sample read with one rule."""

    pages: int  # pages read as case pages
    signal_pages: int  # pages on which the rule's signal appears at all
    options: int  # options found on those pages
    lists: dict[str, tuple[int, float, int]]  # list -> (pages showing it, mean applying, none)
    records: tuple[CaseRecord, ...]


def read_with(pages: Sequence[Page], rule: Marker, labels: Labels) -> list[CaseRecord]:
    """Every page that parses, read with ``rule``."""
    out: list[CaseRecord] = []
    for body, url in pages:
        try:
            out.append(parse_case(body, url, labels=labels, marker=rule))
        except PageParseError:
            continue
    return out


def evidence(
    pages: Sequence[Page], sample: Sequence[PageOptions], rule: Marker, labels: Labels
) -> Evidence:
    records = read_with(pages, rule, labels)
    signal_pages = 0
    options = 0
    for page in sample:
        tops = [top for scopes in page.lists.values() for _code, top in scopes.options]
        if any(carries(top, rule) for top in tops):
            signal_pages += 1
            options += len(tops)
    lists: dict[str, tuple[int, float, int]] = {}
    for name in OPTION_LISTS:
        counts = [c for r in records for c in r.option_counts if c.list == name]
        if counts:
            mean = sum(c.applying for c in counts) / len(counts)
            lists[name] = (len(counts), mean, sum(1 for c in counts if c.applying == 0))
    return Evidence(len(records), signal_pages, options, lists, tuple(records))


def _text(element: Tag) -> str:
    text = collapse(element.get_text(" "))
    if text:
        return text
    for node in (element, *element.find_all(True)):
        named = attribute(node, "alt") or attribute(node, "title")
        if named and named.strip():
            return collapse(named)
    return ""


def _unplaced_options(page: PageOptions) -> list[str]:
    out: list[str] = []
    for name, scopes in page.lists.items():
        holder = scopes.holder
        if holder is None:
            continue
        items = [c for c in holder.children if isinstance(c, Tag) and _text(c)]
        terms = OPTION_TERMS[name]
        for index, item in enumerate(items):
            if any(is_inside(top, item) or is_inside(item, top) for _, top in scopes.options):
                continue
            code = terms[index].code if len(items) == len(terms) else "<code>"
            out.append(
                f"option {_text(item)!r} in {name}: parser.extra_labels.{name}.{code}: "
                f"[{_text(item)!r}]"
            )
    return out


def _unplaced_headings(page: PageOptions, labels: Labels) -> list[str]:
    """A missing section whose options are on the page: the line before its first option is
    most likely its heading, in words nobody configured."""
    out: list[str] = []
    pieces = page.stream.pieces
    for name in page.missing:
        codes = labels.option_codes[name]
        first = next((i for i, p in enumerate(pieces) if p.key in codes), None)
        if first is None:
            continue
        line = pieces[first].line
        before = [p for p in pieces[:first] if p.line < line and not p.is_attribute]
        if not before:
            continue
        last_line = before[-1].line
        text = collapse(" ".join(p.raw for p in before if p.line == last_line))
        if text and len(text) <= 80 and text_key(text) not in labels.section_by_heading:
            out.append(
                f"heading {text!r} before the {name} options: "
                f"parser.extra_labels.sections.{name}: [{text!r}]"
            )
    return out


def unplaced(sample: Sequence[PageOptions], labels: Labels) -> list[str]:
    """Headings and option labels the parser could not place, each with the
    ``parser.extra_labels`` entry that would place it (most frequent first)."""
    counts: dict[str, int] = {}
    for page in sample:
        for line in (*_unplaced_options(page), *_unplaced_headings(page, labels)):
            counts[line] = counts.get(line, 0) + 1
    return [line for line, _ in sorted(counts.items(), key=lambda item: -item[1])]
