"""parse_case on hand-written pages: the same visible text in other markup reads the same."""

from __future__ import annotations

import dataclasses
import re

import pytest
from _parser_support import ENDS_EN, MEANS_EN, POLICY_EN, PageSpec, build_page

from latinno.errors import PageParseError
from latinno.record import PAGE_PARTS, RECORD_FIELDS, CaseRecord, OptionCount
from latinno.vocabulary import build_labels
from parsers import PARSER_VERSION, parse_case
from parsers.design import split_participants

URL = "https://latinno.net/en/case/17001/"
LABELS = build_labels()


def parse(spec: PageSpec | bytes, url: str = URL, **kwargs: object) -> CaseRecord:
    body = spec if isinstance(spec, bytes) else build_page(spec)
    return parse_case(body, url, **kwargs)  # type: ignore[arg-type]


def issues(record: CaseRecord) -> list[tuple[str, str | None]]:
    return [(i.field, i.raw) for i in record.issues]


BASE = parse(PageSpec())


def test_base_page_reads_every_field() -> None:
    assert BASE.to_dict() == {
        "url": URL,
        "case_id": 17001,
        "lang": "en",
        "country_code": "PE",
        "country": "Peru",
        "title": "Multisectorial Open Government Forum",
        "description": "The Forum was created by a decree.\n\nIt monitors plans.",
        "formalization": "government_program_or_policy",
        "frequency": "regular",
        "participant_selection": "restricted",
        "participant_types": ["civil_society", "private_stakeholders"],
        "decisiveness": "binding",
        "co_governance": True,
        "means": ["deliberation"],
        "ends": ["accountability", "rule_of_law"],
        "policy_cycle": ["implementation"],
        "sources": [{"text": "Decree 2020", "url": "https://latinno.net/docs/decree.pdf"}],
        "sections_present": list(PAGE_PARTS),
        "option_counts": [
            {"list": "means", "found": 4, "applying": 1},
            {"list": "ends", "found": 5, "applying": 2},
            {"list": "policy_cycle", "found": 4, "applying": 1},
        ],
        "issues": [],
        "parser_version": PARSER_VERSION,
    }


@pytest.mark.parametrize("style", ["dl", "table", "divs", "inline"])
@pytest.mark.parametrize("icons", [False, True])
def test_markup_styles_read_alike(style: str, icons: bool) -> None:
    assert parse(PageSpec(style=style, icons=icons)) == BASE


# --- Labels and help texts ------------------------------------------------------------------


def test_help_texts_after_the_values_are_not_values() -> None:
    # The help panel placed after the pairs must end the last value, not extend it.
    body = build_page(PageSpec()).replace(
        b"</dl>",
        b"</dl><div><p><b>Co-governance</b>: is there involvement?</p>"
        b"<p>Decisiveness: does the innovation take a decision?</p></div>",
    )
    record = parse(body)
    assert record.co_governance is True and record.issues == ()


def test_label_with_colon_is_a_help_text_not_a_label() -> None:
    body = build_page(PageSpec()).replace(b"<dt>Frequency</dt>", b"<dt>Frequency:</dt>")
    record = parse(body)
    assert record.frequency is None
    assert issues(record) == [("frequency", None)]


def test_values_keep_reading_when_help_precedes_and_mentions_values() -> None:
    # Help texts name values ("only once, sporadically, ... regular") yet come before labels.
    assert BASE.frequency == "regular"


def test_unknown_value_is_kept_as_issue() -> None:
    values = list(PageSpec().values)
    values[1] = "  biannual  "
    values[5] = "partially"
    record = parse(PageSpec(values=tuple(values)))
    assert record.frequency is None and record.co_governance is None
    assert issues(record) == [("frequency", "biannual"), ("co_governance", "partially")]
    assert all(i.message for i in record.issues)


def test_co_governance_no_is_false() -> None:
    values = list(PageSpec().values)
    values[5] = "no"
    assert parse(PageSpec(values=tuple(values))).co_governance is False


def test_missing_design_section_gives_seven_issues_and_clean_description() -> None:
    record = parse(PageSpec(with_design=False))
    assert issues(record) == [
        (name, None)
        for name in (
            "institutional_design",
            "formalization",
            "frequency",
            "participant_selection",
            "participant_types",
            "decisiveness",
            "co_governance",
        )
    ]
    assert record.participant_types == () and record.formalization is None
    assert record.description == BASE.description
    assert record.means == BASE.means
    assert record.sections_present == ("means", "ends", "policy_cycle")
    assert "not found on the page" in record.issues[0].message


def test_design_heading_gone_but_labels_present() -> None:
    body = build_page(PageSpec()).replace(b"Institutional design", b"")
    record = parse(body)
    assert record.description == BASE.description
    assert record.formalization == BASE.formalization and record.issues == ()
    assert record.sections_present == PAGE_PARTS  # the labels show the section


# --- What the page showed: unknown is not "no" -----------------------------------------------

_LIST_BLOCK = {
    "means": rb"<h3>Means</h3><ul.*?</ul>",
    "ends": rb"<h3>Ends</h3><ul.*?</ul>",
    "policy_cycle": rb"<h3>Policy cycle</h3><ul.*?</ul>",
}


@pytest.mark.parametrize("section", ["means", "ends", "policy_cycle"])
@pytest.mark.parametrize("icons", [False, True])
def test_a_missing_list_section_is_not_shown_and_says_so(section: str, icons: bool) -> None:
    body, cut = re.subn(_LIST_BLOCK[section], b"", build_page(PageSpec(icons=icons)), flags=re.S)
    assert cut == 1
    record = parse(body)
    assert record.sections_present == tuple(p for p in PAGE_PARTS if p != section)
    assert getattr(record, section) == ()
    [issue] = record.issues
    assert (issue.field, issue.raw) == (section, None)
    assert issue.message == f"section '{section}' not found on the page"
    for other in {"means", "ends", "policy_cycle"} - {section}:  # the others read as before
        assert getattr(record, other) == getattr(BASE, other)


@pytest.mark.parametrize("section", ["means", "ends", "policy_cycle"])
def test_a_heading_that_lists_none_of_its_options_is_not_read_as_none(section: str) -> None:
    # Every real page lists all options: a heading without any says nothing about them.
    heading = {"means": b"Means", "ends": b"Ends", "policy_cycle": b"Policy cycle"}[section]
    body = re.sub(
        _LIST_BLOCK[section],
        b"<h3>" + heading + b"</h3><p>See the report.</p>",
        build_page(PageSpec()),
        flags=re.S,
    )
    record = parse(body)
    assert section not in record.sections_present and getattr(record, section) == ()
    assert issues(record) == [(section, None)]
    assert "lists none of its options" in record.issues[0].message


def test_a_list_whose_options_are_all_off_is_shown_and_means_no() -> None:
    # Shown, none applies: [] and in sections_present (not NULL), with the evidence of it.
    record = parse(PageSpec(means=frozenset()))
    assert record.means == () and record.sections_present == PAGE_PARTS
    assert issues(record) == [("means", "0 of 4 apply")]
    assert record.option_counts[0] == OptionCount("means", 4, 0)
    assert "class 'active' marks applying options" in record.issues[0].message


@pytest.mark.parametrize("index", range(6))
def test_a_design_field_without_its_label_or_value_is_not_shown(index: int) -> None:
    name = PAGE_PARTS[1 + index]
    spec = PageSpec()
    without = PageSpec(
        labels=spec.labels[:index] + spec.labels[index + 1 :],
        values=spec.values[:index] + spec.values[index + 1 :],
    )
    empty = PageSpec(values=(*spec.values[:index], "", *spec.values[index + 1 :]))
    for record in (parse(without), parse(empty)):
        assert record.sections_present == tuple(p for p in PAGE_PARTS if p != name)
        assert issues(record) == [(name, None)]
        assert getattr(record, name) in (None, ())


def test_a_value_outside_the_vocabulary_is_shown_but_not_coded() -> None:
    values = list(PageSpec().values)
    values[3] = ("trade unions",)
    record = parse(PageSpec(values=tuple(values)))
    assert record.participant_types == () and record.sections_present == PAGE_PARTS
    assert issues(record) == [("participant_types", "trade unions")]


# --- Participant types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codes", "unknown"),
    [
        (
            "citizens civil society private stakeholders",
            ("citizens", "civil_society", "private_stakeholders"),
            [],
        ),
        ("civil society private stakeholders", ("civil_society", "private_stakeholders"), []),
        ("Citizens,  Civil Society", ("citizens", "civil_society"), []),
        ("sociedad civil organización privada", ("civil_society", "private_stakeholders"), []),
        ("cidadãos sociedade civil", ("citizens", "civil_society"), []),
        ("citizens trade unions civil society", ("citizens", "civil_society"), ["trade unions"]),
        ("society civil", (), ["society civil"]),
        ("civil", (), ["civil"]),
    ],
)
def test_split_participants(text: str, codes: tuple[str, ...], unknown: list[str]) -> None:
    assert split_participants(text, LABELS.value_codes["participant_types"]) == (codes, unknown)


def test_participants_from_plain_text_and_elements_read_alike() -> None:
    values = list(PageSpec().values)
    values[3] = "private stakeholders   citizens"
    record = parse(PageSpec(values=tuple(values)))
    assert record.participant_types == ("citizens", "private_stakeholders")  # vocabulary order


def test_unknown_participant_part_is_an_issue_and_known_parts_stay() -> None:
    values = list(PageSpec().values)
    values[3] = ("citizens", "trade unions")
    record = parse(PageSpec(values=tuple(values)))
    assert record.participant_types == ("citizens",)
    assert issues(record) == [("participant_types", "trade unions")]


# --- Means, Ends, Policy cycle --------------------------------------------------------------


def test_only_marked_options_are_returned_in_vocabulary_order() -> None:
    spec = PageSpec(
        means=frozenset(MEANS_EN[::-1][:2]), ends=frozenset(), policy=frozenset(POLICY_EN)
    )
    record = parse(spec)
    assert record.means == ("e_participation", "citizen_representation")
    assert record.ends == ()
    assert record.policy_cycle == (
        "agenda_setting",
        "formulation_and_decision_making",
        "implementation",
        "policy_evaluation",
    )


def test_marker_on_the_list_itself_does_not_mark_every_option() -> None:
    body = build_page(PageSpec()).replace(b'<ul class="opts">', b'<ul class="opts active">')
    assert parse(body).means == ("deliberation",)


def test_marker_on_a_wrapper_between_item_and_list() -> None:
    body = build_page(PageSpec(means=frozenset())).replace(
        b"<li><span>Direct Voting</span></li>",
        b'<li><div class="x active"><span class="y"><b>Direct Voting</b></span></div></li>',
    )
    assert parse(body).means == ("direct_voting",)


def test_marker_on_a_sibling_icon_in_the_option_item_marks_the_option() -> None:
    # PARSER_VERSION 3.0: the rule is looked for in the option's whole item (the highest
    # element holding that option alone), so an icon beside the label counts; 2.0 did not.
    body = build_page(PageSpec(means=frozenset())).replace(
        b"<li><span>Direct Voting</span></li>",
        b'<li><i class="active"></i><span>Direct Voting</span></li>',
    )
    assert parse(body).means == ("direct_voting",)


def test_configured_marker_class() -> None:
    body = build_page(PageSpec()).replace(b'class="active"', b'class="is-on"')
    assert parse(body).means == ()
    assert parse(body, active_classes=("selected", "is-on")).means == ("deliberation",)


@pytest.mark.parametrize(
    "item",
    [
        b'<li class="active" title="Direct Voting"><i class="icon"></i></li>',
        b'<li class="active"><i class="icon" title="Direct Voting"></i></li>',
        b'<li><span class="wrap active"><img src="x.svg" alt="Direct Voting"></span></li>',
        b'<li><img class="active" src="x.svg" alt="Direct Voting" title="ignored"></li>',
    ],
)
def test_icon_only_options_named_by_alt_or_title(item: bytes) -> None:
    body = build_page(PageSpec(means=frozenset())).replace(
        b"<li><span>Direct Voting</span></li>", item
    )
    assert parse(body).means == ("direct_voting",)


def test_inactive_icon_with_title_is_not_returned() -> None:
    body = build_page(PageSpec(means=frozenset())).replace(
        b"<li><span>Direct Voting</span></li>", b'<li class="off" title="Direct Voting"></li>'
    )
    assert parse(body).means == ()


def test_means_and_ends_side_by_side_in_one_table() -> None:
    rows = "".join(
        f"<tr><td{' class=active' if m == 'Direct Voting' else ''}>{m}</td>"
        f"<td{' class=active' if e == 'Rule of Law' else ''}>{e}</td></tr>"
        for m, e in zip((*MEANS_EN, ""), ENDS_EN, strict=True)
    )
    table = f"<table><tr><th>Means</th><th>Ends</th></tr>{rows}</table>".encode()
    body = re.sub(
        rb"<h3>Means</h3>.*?<h3>Policy cycle</h3>",
        table + b"<h3>Policy cycle</h3>",
        build_page(PageSpec()),
        flags=re.S,
    )
    record = parse(body)
    assert (record.means, record.ends) == (("direct_voting",), ("rule_of_law",))


def test_missing_policy_cycle_section() -> None:
    record = parse(PageSpec(policy=None))
    assert record.policy_cycle == ()
    assert issues(record) == [("policy_cycle", None)]


def test_spanish_page_with_configured_labels() -> None:
    from latinno.config import load_settings

    settings = load_settings(None, env={})
    spec = PageSpec(
        labels=(
            "Formalización",
            "Frecuencia",
            "Modo de selección de los participantes",
            "Tipo de participantes",
            "Capacidad de tomar decisiones vinculantes",
            "Co-gobernanza",
        ),
        values=(
            "embedded in the constitution/legislation",
            "sporadic",
            "open",
            ("ciudadanos", "organización privada"),
            "no toma decisión",
            "no",
        ),
        headings={
            "design": "Diseño institucional",
            "means": "Medios",
            "ends": "Fines",
            "policy": "Ciclo de políticas",
            "sources": "Fuentes",
            "quote": "Cómo citar",
        },
        option_names=(
            ("Deliberación", "Voto directo", "E-participación", "Representación ciudadana"),
            (
                "Rendición de cuentas",
                "Responsividad",
                "Estado de derecho",
                "Inclusión política",
                "Igualdad social",
            ),
            POLICY_EN,
        ),
        means=frozenset({"Voto directo"}),
        ends=frozenset({"Igualdad social"}),
        country="Perú",
        canonical="https://latinno.net/es/case/17001/",
    )
    labels = build_labels(settings.parser.extra_labels)
    record = parse(spec, "https://latinno.net/es/case/17001/", labels=labels)
    assert (record.lang, record.country, record.country_code) == ("es", "Perú", "PE")
    assert record.formalization == "constitution_or_legislation"
    assert record.participant_types == ("citizens", "private_stakeholders")
    assert (record.decisiveness, record.co_governance) == ("no_decision", False)
    assert (record.means, record.ends) == (("direct_voting",), ("social_equality",))
    assert record.sources == BASE.sources and record.issues == ()
    # Without the configured (unseen) labels the Spanish design heading is not known.
    assert parse(spec, "https://latinno.net/es/case/17001/").means == ()


# --- Country, title, description, sources, URL ----------------------------------------------


def test_country_not_taken_from_the_navigation() -> None:
    record = parse(PageSpec(country=None))
    assert (record.country, record.country_code) == (None, "PE")
    assert issues(record) == [("country", None)]
    assert record.title == BASE.title


def _menu_last(body: bytes) -> bytes:
    # The Countries menu as the last thing before the case: nothing between menu and content.
    body = re.sub(rb'<li><a href="/en/about/">About</a></li>', b"", body)
    body = re.sub(rb'<ul class="lang">.*?</ul></header>', b"</header>", body, flags=re.S)
    return re.sub(rb"</ul></li></ul></nav>", rb"</ul></li></ul></nav>", body)


def test_country_right_after_the_country_menu() -> None:
    body = _menu_last(build_page(PageSpec()))
    assert body.index(b"Venezuela</a></li></ul></li></ul></nav></header><main>") > 0
    record = parse(body)
    assert (record.country, record.title, record.issues) == ("Peru", BASE.title, ())


def test_nested_menu_items_are_never_the_case_country() -> None:
    body = build_page(PageSpec(country=None))
    body = re.sub(rb'(/">)([A-Z][a-z]+(?: [A-Z][a-z]+)?)(</a></li>)', rb"\1<span>\2</span>\3", body)
    assert b"<span>Venezuela</span>" in body
    record = parse(_menu_last(body))
    assert (record.country, record.country_code) == (None, "PE")
    assert record.title == BASE.title


def test_country_disagreeing_with_id_prefix_is_kept_with_issue() -> None:
    record = parse(PageSpec(country="Guatemala"))
    assert (record.country, record.country_code) == ("Guatemala", "GT")
    assert issues(record) == [("country", "Guatemala")]


def test_country_named_in_running_text_is_not_the_case_country() -> None:
    body = build_page(PageSpec(country=None)).replace(
        b"It monitors plans.", b'It monitors plans in <a href="/b/">Brazil</a> too.'
    )
    record = parse(body)
    assert record.country is None and record.description.endswith("in Brazil too.")


def test_description_keeps_page_characters() -> None:
    record = parse(PageSpec(paragraphs=("The council?s   role\n  (2013 ? 2019) &amp;",)))
    assert record.description == "The council?s role (2013 ? 2019) &amp;"


def test_sources_absolute_and_footer_links_excluded() -> None:
    spec = PageSpec(sources=(("A", "/a.pdf"), ("B", "https://example.org/b"), ("", "rel/c")))
    record = parse(spec)
    assert [(s.text, s.url) for s in record.sources] == [
        ("A", "https://latinno.net/a.pdf"),
        ("B", "https://example.org/b"),
        ("https://latinno.net/en/case/17001/rel/c", "https://latinno.net/en/case/17001/rel/c"),
    ]


def test_no_sources_section_no_issue() -> None:
    record = parse(PageSpec(sources=()))
    assert record.sources == () and record.issues == ()


def test_url_comes_from_canonical_and_key_from_given_url() -> None:
    record = parse(PageSpec(), "http://127.0.0.1:8765/en/case/17001")
    assert record.url == URL and record.case_id == 17001
    record = parse(PageSpec(canonical=None), "http://127.0.0.1:8765/en/case/17001")
    assert record.url == "http://127.0.0.1:8765/en/case/17001"


def test_key_from_canonical_when_url_names_no_case() -> None:
    record = parse(PageSpec(), "file:///tmp/page.html")
    assert (record.lang, record.case_id) == ("en", 17001)
    with pytest.raises(PageParseError, match="names no case page"):
        parse(PageSpec(canonical=None), "file:///tmp/page.html")


def test_issues_follow_record_field_order() -> None:
    values = list(PageSpec().values)
    values[0], values[4] = "sometimes", "maybe"
    record = parse(PageSpec(values=tuple(values), country="Chile", policy=None))
    fields = [i.field for i in record.issues]
    assert fields == ["country", "formalization", "decisiveness", "policy_cycle"]
    assert fields == sorted(fields, key=RECORD_FIELDS.index)


# --- Pages that are not records -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"  \n\t", "empty"),
        (b"<html><head><title>x</title></head><body>  </body></html>", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "no case content"),
        (
            b"<html><body><h1>Peru</h1><h2>Means</h2><p>An essay.</p></body></html>",
            "no case content",
        ),
    ],
)
def test_not_a_case_page(body: bytes, reason: str) -> None:
    with pytest.raises(PageParseError) as caught:
        parse_case(body, URL)
    assert reason in caught.value.reason and caught.value.url == URL


def test_page_cut_inside_the_case_content_is_truncated() -> None:
    body = build_page(PageSpec())
    cut = body[: body.index(b"<h3>Ends</h3>") + 20]
    with pytest.raises(PageParseError, match="truncated"):
        parse(cut)
    # Cut after "How to quote": everything of the case is there, so it parses.
    whole = body[: body.index(b"</footer>")]
    assert dataclasses.replace(parse(whole)) == BASE


def test_labels_and_headings_split_by_inline_markup_or_decomposed() -> None:
    import unicodedata

    body = (
        build_page(PageSpec())
        .replace(
            b"<dt>Mode of selection of participants</dt>",
            b"<dt>Mode of <em>selection</em> of participants</dt>",
        )
        .replace(b"<h3>Policy cycle</h3>", b"<h3>Policy <span>cycle</span></h3>")
        .replace(b"<dt>Decisiveness</dt>", b"<dt>DECISIVENESS</dt>")
    )
    assert parse(body) == BASE
    # NFD text (a decomposed "ç") still matches the NFC vocabulary.
    pt_label = unicodedata.normalize("NFD", "Formalização").encode()
    body = build_page(PageSpec()).replace(b"<dt>Formalization</dt>", b"<dt>" + pt_label + b"</dt>")
    assert parse(body).formalization == BASE.formalization
