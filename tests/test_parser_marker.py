"""The option marker as a declared rule: every kind of marking the rule can express is read.

The page is the base test page (tests/_parser_support) with its Means list replaced by one
marked another way; only Direct Voting and Citizen Representation apply.
"""

from __future__ import annotations

import re

import pytest
from _parser_support import PageSpec, build_page

from latinno.marker import Marker
from parsers import parse_case

URL = "https://latinno.net/en/case/17001/"
MEANS = ("Deliberation", "Direct Voting", "E-Participation", "Citizen Representation")
ON = {"Direct Voting", "Citizen Representation"}


def page_with(item: str) -> bytes:
    """The base page whose Means items are ``item.format(label=..., on=bool)``."""
    items = "".join(
        item.format(label=m, slug=m.lower().replace(" ", "-"), **_sides(m)) for m in MEANS
    )
    body = build_page(PageSpec())
    return re.sub(
        rb"(<h3>Means</h3>\s*<ul[^>]*>).*?(</ul>)",
        lambda m: m[1] + items.encode() + m[2],
        body,
        count=1,
        flags=re.S,
    )


def _sides(label: str) -> dict[str, str]:
    on = label in ON
    return {
        "bool": "true" if on else "false",
        "state": "on" if on else "off",
        "fa": "fa-check" if on else "fa-times",
        "opacity": "1" if on else "0.35",
        "off_class": "" if on else "inactive",
        "filter": "none" if on else "grayscale(100%)",
        "checked": "checked" if on else "",
        "strong": "strong" if on else "span",
    }


CASES = [
    (
        '<li role="checkbox" aria-checked="{bool}">{label}</li>',
        Marker("attribute", ("true",), "aria-checked", "applying"),
    ),
    (
        '<li><button aria-pressed="{bool}">{label}</button></li>',
        Marker("attribute", ("false",), "aria-pressed", "not_applying"),
    ),
    (
        '<li data-state="{state}"><span>{label}</span></li>',
        Marker("attribute", ("on",), "data-state", "applying"),
    ),
    (
        '<li><img src="/img/{slug}-{state}.svg" alt=""><span>{label}</span></li>',
        Marker("image", ("on",), None, "applying"),
    ),
    (
        '<li><img src="/img/{slug}-{state}.svg" alt="{label}"></li>',
        Marker("image", ("*-off.svg",), None, "not_applying"),
    ),
    ('<li><i class="fa {fa}"></i> {label}</li>', Marker("class", ("fa-check",), None, "applying")),
    (
        '<li style="opacity: {opacity}">{label}</li>',
        Marker("style", ("0.35",), "opacity", "not_applying"),
    ),
    (
        '<li><span style="filter: {filter}">{label}</span></li>',
        Marker("style", ("grayscale(100%)",), "filter", "not_applying"),
    ),
    (
        '<li class="option {off_class}">{label}</li>',
        Marker("class", ("inactive",), None, "not_applying"),
    ),
    (
        '<li><input type="checkbox" disabled {checked}><label>{label}</label></li>',
        Marker("attribute", ("checked",), "checked", "applying"),
    ),
    ("<li><{strong}>{label}</{strong}></li>", Marker("tag", ("strong",), None, "applying")),
]


@pytest.mark.parametrize(("item", "marker"), CASES)
def test_each_kind_of_marking_reads_the_applying_options(item: str, marker: Marker) -> None:
    record = parse_case(page_with(item), URL, marker=marker)
    assert record.means == ("direct_voting", "citizen_representation")
    assert record.option_counts[0].found == 4 and record.option_counts[0].applying == 2
    assert not [i for i in record.issues if i.field == "means"]


def test_the_default_marker_on_another_marking_reads_none_and_says_so() -> None:
    record = parse_case(page_with(CASES[0][0]), URL)
    assert record.means == ()
    assert "means" in record.sections_present  # shown, none applies: not NULL
    issue = next(i for i in record.issues if i.field == "means")
    assert issue.raw == "0 of 4 apply"
    assert "class 'active' marks applying" in issue.message and "latinno calibrate" in issue.message


def test_a_rule_on_not_applying_options_with_none_of_them_marked_reads_all() -> None:
    item = '<li class="option">{label}</li>'
    record = parse_case(
        page_with(item), URL, marker=Marker("class", ("inactive",), None, "not_applying")
    )
    assert len(record.means) == 4
    assert [(i.field, i.raw) for i in record.issues if i.field == "means"] == [
        ("means", "4 of 4 apply")
    ]
