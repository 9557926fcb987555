"""The fixture site covers what issue 2 asks for, and its expected records obey the contract."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from latinno.record import PAGE_PARTS, CaseRecord
from latinno.sitemodel.build_fixtures import FIXTURES_DIR
from latinno.sitemodel.cases import fixture_cases
from latinno.sitemodel.expected import EXPECTED_FIELDS
from latinno.sitemodel.labels import option_label, unseen_labels
from latinno.vocabulary import (
    COUNTRIES,
    DESIGN_FIELDS,
    FIELD_TERMS,
    OPTION_TERMS,
    build_labels,
    codes_for,
    normalize_label,
)
from tests._fixtures_support import active_option_names, fixture_pages, load_expected

REPO = Path(__file__).resolve().parent.parent
PAGES = fixture_pages()
EXPECTED = {page: load_expected(page) for page in PAGES}
SPECS = fixture_cases()


def test_at_least_sixty_pages_one_per_spec() -> None:
    assert len(PAGES) >= 60
    on_disk = {(p.parent.parent.parent.name, int(p.parent.name)) for p in PAGES}
    assert on_disk == {(s.lang, s.case_id) for s in SPECS}


def test_expected_keys_follow_the_contract_and_load_as_records() -> None:
    for page, record in EXPECTED.items():
        assert tuple(record) == EXPECTED_FIELDS, page
        full = {
            **record,
            "issues": [{**i, "message": "x"} for i in record["issues"]],
            "parser_version": "test",
        }
        loaded = CaseRecord.from_dict(full)
        assert loaded.url == f"https://latinno.net/{loaded.lang}/case/{loaded.case_id}/"
        assert f'<link rel="canonical" href="{loaded.url}"'.encode() in page.read_bytes()


def test_every_page_part_is_missing_somewhere_and_a_missing_part_is_said() -> None:
    # Generated pages and the hand-kept edge records together lack every part of a page once.
    edge = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((FIXTURES_DIR / "_edge").glob("*.expected.json"))
    ]
    records = [*EXPECTED.values(), *(r for r in edge if "error" not in r)]
    lacking: Counter[str] = Counter()
    for record in records:
        shown = record["sections_present"]
        assert shown == [p for p in PAGE_PARTS if p in shown], record["url"]  # page order
        missing = [p for p in PAGE_PARTS if p not in shown]
        for part in missing:
            assert {"field": part, "raw": None} in record["issues"], (record["url"], part)
            if part in record:  # a field: nothing read (the section itself has no field)
                assert record[part] in (None, []), (record["url"], part)
        lacking.update(missing)
    assert set(lacking) == set(PAGE_PARTS)
    assert lacking["means"] == lacking["ends"] == 1 and lacking["policy_cycle"] >= 4


def test_every_country_appears_with_ids_following_the_prefix_rule() -> None:
    en = [r for r in EXPECTED.values() if r["lang"] == "en"]
    assert {r["case_id"] // 1000 for r in en} == {c.id_prefix for c in COUNTRIES}
    by_prefix = {c.id_prefix: c.code for c in COUNTRIES}
    mismatched = [
        r for r in EXPECTED.values() if by_prefix[r["case_id"] // 1000] != r["country_code"]
    ]
    # Exactly the deliberate disagreement page, and it carries the country issue.
    assert [r["case_id"] for r in mismatched] == [12059]
    assert {"field": "country", "raw": "Guatemala"} in mismatched[0]["issues"]


@pytest.mark.parametrize("field", [*DESIGN_FIELDS, *OPTION_TERMS])
def test_every_code_of_every_field_is_covered(field: str) -> None:
    seen: set[str] = set()
    for record in EXPECTED.values():
        value = record[field]
        if isinstance(value, list):
            seen.update(value)
        elif value is not None:
            seen.add(str(value).lower())
    assert seen == set(codes_for(field))


def test_all_participant_type_combinations() -> None:
    combos = {tuple(r["participant_types"]) for r in EXPECTED.values() if r["participant_types"]}
    codes = codes_for("participant_types")
    wanted = {c for n in range(1, 4) for c in itertools.combinations(codes, n)}
    assert combos == wanted


def test_none_some_and_all_options_active() -> None:
    for name in OPTION_TERMS:
        sizes = {len(r[name]) for r in EXPECTED.values() if name not in _missing(r)}
        assert {0, len(OPTION_TERMS[name])} <= sizes, name
        assert len(sizes) >= 3, name


def _missing(record: dict) -> set[str]:
    return {i["field"] for i in record["issues"] if i["raw"] is None}


def test_es_and_pt_pages_with_translated_values() -> None:
    counts = Counter(r["lang"] for r in EXPECTED.values())
    assert counts["es"] >= 5 and counts["pt"] >= 5
    for lang in ("es", "pt"):
        records = [r for r in EXPECTED.values() if r["lang"] == lang]
        assert {t for r in records for t in r["participant_types"]} == set(
            codes_for("participant_types")
        )
        assert {r["decisiveness"] for r in records} == set(codes_for("decisiveness"))


def test_unseen_translations_are_the_configured_ones() -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    extra = config["parser"]["extra_labels"]
    for group, targets in unseen_labels().items():
        for target, labels in targets.items():
            assert set(labels) <= set(extra[group][target]), (group, target)
    labels = build_labels(extra)
    for name, terms in OPTION_TERMS.items():
        for lang in ("en", "es", "pt"):
            for term in terms:
                shown = normalize_label(option_label(name, term.code, lang))
                assert labels.option_codes[name][shown] == term.code


def test_markup_styles_are_spread_across_pages() -> None:
    markups = [s.markup for s in SPECS]
    assert {m.style for m in markups} == {"dl", "table", "div"}
    assert {m.options for m in markups} == {"text", "alt", "title"}
    assert {m.active_on for m in markups} == {"item", "wrapper"}
    assert {m.types for m in markups} == {"elements", "text"}
    assert {m.container for m in markups} == {"main", "article", "div"}
    assert len({m.heading for m in markups}) >= 4
    assert min(Counter(m.style for m in markups).values()) >= 15


def test_page_sizes_are_realistic() -> None:
    sizes = [p.stat().st_size for p in PAGES]
    assert min(sizes) >= 15_000 and max(sizes) <= 45_000


def test_active_markers_match_the_expected_options() -> None:
    for page, record in EXPECTED.items():
        encoding = "cp1252" if b'charset="windows-1252"' in page.read_bytes()[:400] else "utf-8"
        wanted = {
            option_label(name, code, record["lang"])
            for name in OPTION_TERMS
            for code in record[name]
        }
        assert active_option_names(page.read_bytes(), encoding) == wanted, page


def test_windows_1252_page_is_really_cp1252() -> None:
    pages = [p for p in PAGES if b'<meta charset="windows-1252">' in p.read_bytes()]
    assert pages
    for page in pages:
        data = page.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        text = data.decode("cp1252")
        for char in "“”–é’":
            assert char in text
        assert "“" in EXPECTED[page]["description"]


def test_entities_defects_sources_and_sections_are_present() -> None:
    raw = {p: p.read_bytes() for p in PAGES}
    assert any(b"&eacute;" in d and b"&#8211;" in d and b"&amp;" in d for d in raw.values())
    defects = [r for r in EXPECTED.values() if "?s " in r["description"]]
    assert any(r["description"].count("\n\n") >= 2 for r in defects)
    assert any(r["sources"] for r in EXPECTED.values())
    assert any(not r["sources"] for r in EXPECTED.values())
    no_cycle = [
        r for r in EXPECTED.values() if {"field": "policy_cycle", "raw": None} in r["issues"]
    ]
    assert no_cycle and all(r["policy_cycle"] == [] for r in no_cycle)
    assert any(r["lang"] != "en" for r in no_cycle)
    unseen = {i["field"] for r in EXPECTED.values() for i in r["issues"] if i["raw"]}
    assert {"frequency", "participant_selection", "co_governance"} <= unseen


def test_issues_are_ordered_and_name_record_fields() -> None:
    order = {name: i for i, name in enumerate(EXPECTED_FIELDS)}
    for record in EXPECTED.values():
        fields = [i["field"] for i in record["issues"]]
        assert fields == sorted(fields, key=order.__getitem__)
        for issue in record["issues"]:
            if issue["raw"] is not None and issue["field"] in FIELD_TERMS:
                assert record[issue["field"]] in (None, [])


def test_expected_codes_are_in_the_vocabulary() -> None:
    for page, record in EXPECTED.items():
        for field in (*DESIGN_FIELDS, *OPTION_TERMS):
            value = record[field]
            values = value if isinstance(value, list) else [value]
            for code in values:
                if code is not None:
                    assert str(code).lower() in codes_for(field), (page, field, code)


def test_some_cases_have_no_english_page() -> None:
    """The demo site shows what issue 15 is about: cases only in Spanish, only in Portuguese,
    and in both but not in English."""
    langs: dict[int, set[str]] = {}
    for record in EXPECTED.values():
        langs.setdefault(record["case_id"], set()).add(record["lang"])
    shapes = {frozenset(found) for found in langs.values()}
    assert {frozenset({"es"}), frozenset({"pt"}), frozenset({"es", "pt"})} <= shapes
    assert frozenset({"en", "es", "pt"}) in shapes and frozenset({"en"}) in shapes
