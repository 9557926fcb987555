"""Mutated fixture pages: only PageParseError, and never a code the page does not support.

Mutations: elements dropped, class attributes shuffled between elements, bytes truncated,
garbage inserted. "Supports" means: every option code returned has one of its labels in the
page's text (visible or alt/title) and some element carries an active class; every design code
has one of its value labels in the page; the country code's name is in the page unless the
record says it came from the id prefix.
"""

from __future__ import annotations

import html
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from latinno.config import load_settings
from latinno.errors import PageParseError
from latinno.record import CaseRecord
from latinno.vocabulary import COUNTRY_BY_CODE, DESIGN_FIELDS, OPTION_LISTS, normalize_label
from latinno.vocabulary import build_labels as _build_labels
from parsers import parse_case
from parsers.decoding import decode_body

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "fixtures" / "html").glob("*/case/*/index.html"))
BODIES = [(p.read_bytes(), f"https://latinno.net/{p.parts[-4]}/case/{p.parts[-2]}/") for p in PAGES]
SETTINGS = load_settings(ROOT / "config.yaml")
LABELS = _build_labels(SETTINGS.parser.extra_labels)
MARKER = SETTINGS.parser.rule()
CLASS_ATTR = re.compile(rb'class="[^"]*"')

# code -> normalized labels, per design field and option list
LABELS_OF: dict[str, dict[str, set[str]]] = {}
for _name, _table in (*LABELS.value_codes.items(), *LABELS.option_codes.items()):
    for _label, _code in _table.items():
        LABELS_OF.setdefault(_name, {}).setdefault(_code, set()).add(_label)

pages = st.sampled_from(BODIES)


def page_text(body: bytes) -> str:
    """Everything a reader (or a screen reader) could see: text, alt and title, normalized."""
    text, _ = decode_body(body)
    text = re.sub(r"<[^>]*?\b(?:alt|title)=\"([^\"]*)\"[^>]*>", r" \1 ", text)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return " " + normalize_label(text) + " "


def check(body: bytes, url: str) -> bool:
    try:
        record = parse_case(body, url, labels=LABELS, marker=MARKER)
    except PageParseError:
        return False
    assert isinstance(record, CaseRecord)
    supported(record, body)
    return True


# --- the mutations (drawn by the property tests, or by a seeded generator) ----------------------


def without_elements(body: bytes, choose: Callable[[int], Iterable[int]]) -> bytes:
    """The page without the elements ``choose`` picks among the (non-root) elements."""
    root = etree.fromstring(body, etree.HTMLParser())
    elements = [e for e in root.iter() if e.getparent() is not None]
    for index in sorted(set(choose(len(elements))), reverse=True):
        element = elements[index]
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)
    return bytes(etree.tostring(root, method="html", encoding="utf-8"))


def with_classes_shuffled(body: bytes, permute: Callable[[list[bytes]], list[bytes]]) -> bytes:
    """The page with its class attributes in the order ``permute`` gives them."""
    shuffled = permute(CLASS_ATTR.findall(body))
    parts = CLASS_ATTR.split(body)
    out = [parts[0]]
    for cls, rest in zip(shuffled, parts[1:], strict=True):
        out += [cls, rest]
    return b"".join(out)


def with_inserts(body: bytes, inserts: Iterable[tuple[float, bytes]]) -> bytes:
    """The page with each junk inserted at its relative position."""
    for where, junk in inserts:
        at = int(len(body) * where)
        body = body[:at] + junk + body[at:]
    return body


JUNK = [
    b"<",
    b">",
    b"</div>",
    b"<li class='active'>",
    b"<!--",
    b"]]>",
    b"\x00",
    b"&#0;",
    b"<script>",
    b"Means",
    b"Formalization:",
    b"</html>",
    b"\xff\xfe",
]


def marked_texts(body: bytes) -> list[str]:
    """Normalized text (with alt/title) of every element carrying an active class."""
    text, _ = decode_body(body)
    try:
        root = etree.fromstring(text, etree.HTMLParser())
    except (etree.ParserError, ValueError):
        return []
    out = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if not set((element.get("class") or "").split()) & set(MARKER.values):
            continue
        # The marker sits in the option's item: on the naming element, an ancestor of it, or
        # beside it (an icon next to the label: its parent names the option).
        for scope in (element, element.getparent()):
            if scope is None:
                continue
            names = [
                a
                for e in scope.iter()
                if isinstance(e.tag, str)
                for a in (e.get("alt"), e.get("title"))
                if a
            ]
            out.append(" " + normalize_label(" ".join([*scope.itertext(), *names])) + " ")
    return out


def supported(record: CaseRecord, body: bytes) -> None:
    text = page_text(body)
    marked = marked_texts(body) if any(getattr(record, n) for n in OPTION_LISTS) else []
    for name in OPTION_LISTS:
        for code in getattr(record, name):
            labels = LABELS_OF[name][code]
            # The marker sits in the option's item: a subtree near it names the option.
            assert any(label in m for label in labels for m in marked), (name, code)
    for name in DESIGN_FIELDS:
        value = getattr(record, name)
        if value is None or name == "co_governance":
            continue
        for code in value if isinstance(value, tuple) else (value,):
            assert any(label in text for label in LABELS_OF[name][code]), (name, code)
    if record.country_code and record.country is not None:
        country = COUNTRY_BY_CODE[record.country_code]
        names = {normalize_label(n) for n in (country.name_en, *country.names.values())}
        assert any(n in text for n in names)
    if record.country is None:
        assert "country" in {i.field for i in record.issues}


COMMON = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@COMMON
@given(page=pages, data=st.data())
def test_dropped_elements(page: tuple[bytes, str], data: st.DataObject) -> None:
    body, url = page

    def choose(n: int) -> set[int]:
        return data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=40))

    check(without_elements(body, choose), url)


@COMMON
@given(page=pages, data=st.data())
def test_shuffled_classes(page: tuple[bytes, str], data: st.DataObject) -> None:
    body, url = page
    check(with_classes_shuffled(body, lambda classes: data.draw(st.permutations(classes))), url)


@COMMON
@given(page=pages, cut=st.floats(0, 1))
def test_truncated_bytes(page: tuple[bytes, str], cut: float) -> None:
    body, url = page
    check(body[: int(len(body) * cut)], url)


@COMMON
@given(
    page=pages,
    inserts=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.one_of(st.binary(min_size=1, max_size=30), st.sampled_from(JUNK)),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_garbage_inserted(page: tuple[bytes, str], inserts: list[tuple[float, bytes]]) -> None:
    body, url = page
    check(with_inserts(body, inserts), url)


@COMMON
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(alphabet=st.sampled_from(list("<>/=\"' abcdhlmpt?:&#;\x00é")), max_size=300).map(
            lambda t: t.encode("utf-8")
        ),
    ),
    url=st.sampled_from(["https://latinno.net/en/case/1001/", "not a url", ""]),
)
def test_arbitrary_bytes(body: bytes, url: str) -> None:
    try:
        record = parse_case(body, url, labels=LABELS, marker=MARKER)
    except PageParseError:
        return
    supported(record, body)


def test_mutations_mostly_still_parse() -> None:
    # Most mutated pages must still give records, or the properties above were checked on
    # errors only. Its own seeded sample (each page, one mutation of each kind in turn), so it
    # holds alone and in any order.
    rng = random.Random(20)

    def some(n: int) -> list[int]:
        return rng.sample(range(n), min(n, rng.randint(1, 40)))

    mutations: list[Callable[[bytes], bytes]] = [
        lambda body: without_elements(body, some),
        lambda body: with_classes_shuffled(body, lambda found: rng.sample(found, len(found))),
        lambda body: body[: int(len(body) * rng.random())],
        lambda body: with_inserts(body, [(rng.random(), rng.choice(JUNK)) for _ in range(8)]),
    ]
    outcomes = Counter(
        check(mutations[i % len(mutations)](body), url) for i, (body, url) in enumerate(BODIES)
    )
    assert outcomes[True] > outcomes[False], outcomes


def test_unmutated_pages_pass_the_support_check() -> None:
    # The check itself must accept every real fixture page, or it tests nothing.
    for body, url in BODIES:
        supported(parse_case(body, url, labels=LABELS, marker=MARKER), body)
