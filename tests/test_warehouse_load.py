"""Loading records into a real DuckDB file: whole rows after load, reload, change, withdraw."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from _warehouse_support import day, issue, make_record, naive, rows, snapshot

from latinno.errors import WarehouseError
from latinno.record import PAGE_PARTS, Source
from warehouse.content import canonical_json, case_content
from warehouse.db import connect
from warehouse.load import LoadStats, load_records, mark_withdrawn, touch_seen


@pytest.fixture()
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "wh.duckdb")
    yield con
    con.close()


def _load(con, records, n: int = 0, run: str = "r1") -> LoadStats:
    return load_records(con, records, run_id=run, seen_at=day(n), primary_lang="en")


def _hash(record) -> str:
    return hashlib.sha256(canonical_json(case_content(record)).encode()).hexdigest()


def test_first_load_writes_whole_rows(con) -> None:
    en = make_record(17001, issues=(issue(),))
    es = make_record(17001, "es")
    other = make_record(5099, country_code="CO", means=(), sources=(), co_governance=None)
    stats = _load(con, [en, es, other])
    assert stats == LoadStats(new=2, changed=0, unchanged=0, texts=3, reactivated=0, issues=1)

    t = naive(0)
    every = list(PAGE_PARTS)
    assert rows(con, "cases", exclude=("quick_hash",)) == [
        (5099, "CO", other.title, other.description, "government_program_or_policy",
         "regular", "restricted", "non_binding", None, other.url, "en", "active",
         t, t, t, "1.0", _hash(other), every),
        (17001, "PE", en.title, en.description, "government_program_or_policy", "regular",
         "restricted", "non_binding", True, en.url, "en", "active", t, t, t, "1.0", _hash(en),
         every),
    ]  # fmt: skip
    assert rows(con, "case_participant_types") == [
        (5099, "citizens"), (5099, "civil_society"), (17001, "citizens"), (17001, "civil_society")
    ]  # fmt: skip
    assert rows(con, "case_means") == [(17001, "deliberation")]
    assert rows(con, "case_ends") == [
        (5099, "accountability"), (5099, "responsiveness"),
        (17001, "accountability"), (17001, "responsiveness"),
    ]  # fmt: skip
    assert rows(con, "case_policy_cycle") == [
        (5099, "agenda_setting"), (5099, "implementation"),
        (17001, "agenda_setting"), (17001, "implementation"),
    ]  # fmt: skip
    assert rows(con, "case_texts") == [
        (5099, "en", other.title, other.description, other.url, t, t, t),
        (17001, "en", en.title, en.description, en.url, t, t, t),
        (17001, "es", es.title, es.description, es.url, t, t, t),
    ]
    assert rows(con, "case_sources") == [
        (17001, 1, "Government portal", "https://www.gob.pe/forum")
    ]
    history = rows(con, "case_history", exclude=("record",))
    assert history == [
        (5099, 1, t, None, "active", "new", _hash(other), "r1"),
        (17001, 1, t, None, "active", "new", _hash(en), "r1"),
    ]
    records = con.execute("SELECT record::VARCHAR FROM case_history ORDER BY case_id").fetchall()
    assert records == [
        (canonical_json(case_content(other)),),
        (canonical_json(case_content(en)),),
    ]
    assert rows(con, "parse_issues") == [
        ("r1", 17001, "en", en.url, "ends", "Other", "unknown option")
    ]


def test_reload_changes_nothing_but_last_seen_at(con) -> None:
    records = [make_record(17001, issues=(issue(),)), make_record(17001, "es"), make_record(5099)]
    _load(con, records)
    before = snapshot(con, exclude=("last_seen_at",))
    stats = _load(con, list(reversed(records)), n=7, run="r2")
    assert stats == LoadStats(new=0, changed=0, unchanged=2, texts=3, reactivated=0, issues=1)
    assert snapshot(con, exclude=("last_seen_at",)) == before
    assert con.execute("SELECT DISTINCT last_seen_at FROM cases").fetchall() == [(naive(7),)]
    assert con.execute("SELECT DISTINCT last_seen_at FROM case_texts").fetchall() == [(naive(7),)]


def test_list_order_and_duplicates_are_no_change(con) -> None:
    _load(con, [make_record()])
    # quick_hash is of the raw lists: it follows the new order (bookkeeping, not content).
    before = snapshot(con, exclude=("last_seen_at", "quick_hash"))
    shuffled = make_record(
        ends=("accountability", "responsiveness", "accountability"),
        participant_types=("citizens", "civil_society"),
    )
    assert _load(con, [shuffled], n=1).unchanged == 1
    assert snapshot(con, exclude=("last_seen_at", "quick_hash")) == before


def test_a_stale_quick_hash_falls_back_to_the_content_hash(con) -> None:
    """As after a DuckDB upgrade that changes hash(): no spurious version, hash repaired."""
    _load(con, [make_record(), make_record(5099)])
    before = snapshot(con, exclude=("last_seen_at",))
    con.execute("UPDATE cases SET quick_hash = 42")
    stats = _load(con, [make_record(), make_record(5099, title="Changed")], n=1, run="r2")
    assert (stats.changed, stats.unchanged) == (1, 1)
    after = snapshot(con, exclude=("last_seen_at",))
    assert after["cases"][1] == before["cases"][1]  # 17001: quick_hash repaired, nothing else
    assert con.execute("SELECT count(*) FROM case_history").fetchall() == [(3,)]
    stale = con.execute("SELECT count(*) FROM cases WHERE quick_hash = 42").fetchall()
    assert stale == [(0,)]


def test_change_adds_one_version_and_case_changes_names_the_fields(con) -> None:
    _load(con, [make_record(), make_record(5099)])
    changed = make_record(title="Renamed forum", means=("deliberation", "e_participation"))
    stats = _load(con, [changed, make_record(5099)], n=3, run="r2")
    assert (stats.new, stats.changed, stats.unchanged) == (0, 1, 1)

    assert rows(con, "case_history", exclude=("record", "content_hash")) == [
        (5099, 1, naive(0), None, "active", "new", "r1"),
        (17001, 1, naive(0), naive(3), "active", "new", "r1"),
        (17001, 2, naive(3), None, "active", "changed", "r2"),
    ]
    assert con.execute(
        "SELECT case_id, version, changed_at, run_id, change, field, old_value, new_value "
        "FROM case_changes ORDER BY field"
    ).fetchall() == [
        (17001, 2, naive(3), "r2", "changed", "means", '["deliberation"]',
         '["deliberation","e_participation"]'),
        (17001, 2, naive(3), "r2", "changed", "title",
         "Multisectoral Open Government Forum (en)", "Renamed forum"),
    ]  # fmt: skip
    assert con.execute(
        "SELECT title, first_seen_at, last_seen_at, last_changed_at, content_hash FROM cases "
        "WHERE case_id = 17001"
    ).fetchall() == [("Renamed forum", naive(0), naive(3), naive(3), _hash(changed))]
    assert rows(con, "case_means") == [
        (5099, "deliberation"), (17001, "deliberation"), (17001, "e_participation")
    ]  # fmt: skip
    assert rows(con, "case_texts", exclude=("description", "url")) == [
        (5099, "en", make_record(5099).title, naive(0), naive(3), naive(0)),
        (17001, "en", "Renamed forum", naive(0), naive(3), naive(3)),
    ]
    # Loading the same changed record again adds nothing.
    _load(con, [changed], n=4, run="r3")
    assert con.execute("SELECT count(*) FROM case_history").fetchone() == (3,)


def test_withdraw_then_reappear(con) -> None:
    _load(con, [make_record(), make_record(5099)])
    assert mark_withdrawn(con, [17001, 99999], day(2), run_id="r2") == 1
    assert mark_withdrawn(con, [17001], day(3)) == 0  # already withdrawn: nothing again
    assert rows(con, "cases", exclude=("content_hash",))[1][11:15] == (
        "withdrawn",
        naive(0),
        naive(0),
        naive(2),
    )
    assert _load(con, [make_record()], n=5, run="r3").reactivated == 1
    assert rows(con, "case_history", exclude=("record", "content_hash")) == [
        (5099, 1, naive(0), None, "active", "new", "r1"),
        (17001, 1, naive(0), naive(2), "active", "new", "r1"),
        (17001, 2, naive(2), naive(5), "withdrawn", "withdrawn", "r2"),
        (17001, 3, naive(5), None, "active", "reactivated", "r3"),
    ]
    assert con.execute(
        "SELECT version, field, old_value, new_value FROM case_changes ORDER BY version"
    ).fetchall() == [(2, "status", "active", "withdrawn"), (3, "status", "withdrawn", "active")]
    assert con.execute(
        "SELECT status, last_changed_at FROM cases WHERE case_id = 17001"
    ).fetchall() == [("active", naive(5))]


def test_touch_seen_moves_only_last_seen_at(con) -> None:
    _load(con, [make_record(), make_record(17001, "es"), make_record(5099)])
    before = snapshot(con, exclude=("last_seen_at",))
    assert touch_seen(con, [(17001, "es"), (4242, "en")], day(9)) == 1
    assert snapshot(con, exclude=("last_seen_at",)) == before
    seen = con.execute("SELECT case_id, lang, last_seen_at FROM case_texts ORDER BY ALL").fetchall()
    assert seen == [
        (5099, "en", naive(0)), (17001, "en", naive(0)), (17001, "es", naive(9))
    ]  # fmt: skip
    assert con.execute("SELECT case_id, last_seen_at FROM cases ORDER BY 1").fetchall() == [
        (5099, naive(0)), (17001, naive(9))
    ]  # fmt: skip


def test_touch_seen_reactivates_a_withdrawn_case(con) -> None:
    _load(con, [make_record()])
    mark_withdrawn(con, [17001], day(1))
    touch_seen(con, [(17001, "en")], day(2))
    assert con.execute("SELECT status FROM cases").fetchall() == [("active",)]
    assert con.execute(
        "SELECT version, status, change FROM case_history ORDER BY version"
    ).fetchall() == [
        (1, "active", "new"),
        (2, "withdrawn", "withdrawn"),
        (3, "active", "reactivated"),
    ]


def test_other_language_alone_updates_only_its_text(con) -> None:
    _load(con, [make_record(), make_record(17001, "es")])
    before = rows(con, "cases")
    es = make_record(17001, "es", title="Foro renombrado", means=("direct_voting",))
    stats = _load(con, [es], n=2)
    assert (stats.new, stats.changed, stats.unchanged, stats.texts) == (0, 0, 0, 1)
    after = rows(con, "cases")
    assert [r[:16] for r in after] == [(*before[0][:13], naive(2), *before[0][14:16])]
    assert con.execute(
        "SELECT title, last_changed_at FROM case_texts WHERE lang = 'es'"
    ).fetchall() == [("Foro renombrado", naive(2))]
    assert rows(con, "case_means") == [(17001, "deliberation")]


def test_case_without_primary_language_is_built_from_another(con) -> None:
    es = make_record(5099, "es")
    _load(con, [es])
    assert con.execute("SELECT title, lang, url FROM cases").fetchall() == [
        (es.title, "es", es.url)
    ]
    en = make_record(5099, "en")
    # The English page takes over the row; in a later run that is a new version.
    assert _load(con, [en], n=1, run="r2").changed == 1
    assert con.execute("SELECT title, lang FROM cases").fetchall() == [(en.title, "en")]


def test_languages_in_separate_batches_of_one_run_make_one_version(con) -> None:
    es, en = make_record(5099, "es"), make_record(5099, "en")
    assert _load(con, [es], run="r1").new == 1  # the Spanish batch came first
    stats = _load(con, [en], run="r1")
    assert (stats.new, stats.changed, stats.amended) == (0, 0, 1)
    assert rows(con, "case_history", exclude=("record",)) == [
        (5099, 1, naive(0), None, "active", "new", _hash(en), "r1")
    ]
    assert con.execute("SELECT record::VARCHAR FROM case_history").fetchall() == [
        (canonical_json(case_content(en)),)
    ]
    assert con.execute("SELECT count(*) FROM case_changes").fetchall() == [(0,)]
    # The next run that sees a real change adds a version as usual.
    assert _load(con, [replace(en, title="New")], n=1, run="r2").changed == 1
    assert con.execute("SELECT field FROM case_changes").fetchall() == [("title",)]


def test_sql_hash_matches_python_reference_for_awkward_text(con) -> None:
    awkward = make_record(
        title='Quote " backslash \\ slash / tab\t newline\n ctrl \x01\x1f del \x7f',
        description="Ação, participación, 中文, emoji 😀, \u2028 separator, \\u001f literal",
        means=("e_participation", "Unknown Means", "deliberation", "Another"),
        country_code=None,
        co_governance=False,
        sources=(Source("a", "https://x/?q=1&b=2"), Source('b "q"', "https://y/")),
    )
    _load(con, [awkward])
    stored = con.execute("SELECT record::VARCHAR, content_hash FROM case_history").fetchone()
    assert stored == (canonical_json(case_content(awkward)), _hash(awkward))
    assert rows(con, "case_means") == [
        (17001, "Another"), (17001, "Unknown Means"), (17001, "deliberation"),
        (17001, "e_participation"),
    ]  # fmt: skip


def test_parse_issues_are_replaced_not_piled_up(con) -> None:
    first = make_record(issues=(issue(), issue("means", None, "no option marked")))
    _load(con, [first])
    _load(con, [first], n=1, run="r2")
    assert rows(con, "parse_issues", exclude=("url",)) == [
        ("r1", 17001, "en", "ends", "Other", "unknown option"),
        ("r1", 17001, "en", "means", None, "no option marked"),
    ]
    fixed = replace(first, issues=(issue("means", None, "no option marked"), issue("title")))
    _load(con, [fixed], n=2, run="r3")
    assert rows(con, "parse_issues", exclude=("url",)) == [
        ("r1", 17001, "en", "means", None, "no option marked"),
        ("r3", 17001, "en", "title", "Other", "unknown option"),
    ]
    _load(con, [replace(first, issues=())], n=3, run="r4")
    assert rows(con, "parse_issues") == []


def test_failed_load_leaves_everything_as_it_was(con) -> None:
    _load(con, [make_record()])
    before = snapshot(con)
    # The last statement of the load (parse issues) fails: message must not be NULL.
    broken = make_record(title="Changed", issues=(issue(message=None),))  # type: ignore[arg-type]
    with pytest.raises(WarehouseError, match="run r2"):
        _load(con, [broken, make_record(5099)], n=1, run="r2")
    assert snapshot(con) == before
    assert _load(con, [make_record(5099)], n=2).new == 1  # the connection is still usable


def test_empty_inputs_do_nothing(con) -> None:
    assert _load(con, []) == LoadStats()
    assert touch_seen(con, [], day(1)) == 0
    assert mark_withdrawn(con, [], day(1)) == 0
    assert all(not r for r in snapshot(con).values())


def test_natural_keys_stay_unique_through_a_lifecycle(con) -> None:
    """Bridge tables, sources and history have no PRIMARY KEY index: the loader keeps keys."""
    record = make_record(means=("deliberation", "deliberation"), sources=(Source("a", "u"),) * 2)
    _load(con, [record, record, make_record(17001, "es")])
    _load(con, [record], n=1, run="r2")
    _load(con, [replace(record, means=("direct_voting",))], n=2, run="r3")
    mark_withdrawn(con, [17001], day(3))
    _load(con, [record], n=4, run="r4")
    touch_seen(con, [(17001, "en")], day(5))
    keys = {
        "case_participant_types": "case_id, participant_type",
        "case_means": "case_id, means",
        "case_ends": "case_id, ends",
        "case_policy_cycle": "case_id, stage",
        "case_sources": "case_id, position",
        "case_history": "case_id, version",
        "case_texts": "case_id, lang",
    }
    for table, key in keys.items():
        dupes = con.execute(
            f"SELECT {key}, count(*) FROM {table} GROUP BY ALL HAVING count(*) > 1"
        ).fetchall()
        assert dupes == [], table
    assert con.execute("SELECT version, change FROM case_history ORDER BY 1").fetchall() == [
        (1, "new"), (2, "changed"), (3, "withdrawn"), (4, "reactivated")
    ]  # fmt: skip
    assert rows(con, "case_sources") == [(17001, 1, "a", "u"), (17001, 2, "a", "u")]


# --- Unknown is not "no": what the page did not show is NULL in cases_wide -------------------

_WIDE_LISTS = ("participant_types", "means", "ends", "policy_cycle")


def _wide(con: duckdb.DuckDBPyConnection, case_id: int) -> dict[str, object]:
    cursor = con.execute("SELECT * FROM cases_wide WHERE case_id = ?", [case_id])
    names = [d[0] for d in cursor.description]
    [row] = cursor.fetchall()
    return dict(zip(names, row, strict=True))


def _without(*parts: str) -> tuple[str, ...]:
    return tuple(p for p in PAGE_PARTS if p not in parts)


def _dummies(row: dict[str, object], field: str) -> list[object]:
    return [v for k, v in row.items() if k.startswith(field + "_")]


def test_a_page_without_means_gives_null_for_every_means_dummy(con) -> None:
    no_means = make_record(5099, means=(), sections_present=_without("means"))
    none_apply = make_record(5008, means=())  # Means shown, no option marked: "no"
    _load(con, [no_means, none_apply, make_record()])
    row = _wide(con, 5099)
    assert len(_dummies(row, "means")) == 4 and set(_dummies(row, "means")) == {None}
    assert _dummies(_wide(con, 5008), "means") == [False] * 4
    for field in ("participant_types", "ends", "policy_cycle"):  # the other lists: known
        values = _dummies(row, field)
        assert values and None not in values and True in values and False in values, field
    assert _wide(con, 17001)["means_deliberation"] is True
    assert con.execute(
        "SELECT count(*) FILTER (WHERE means_deliberation IS NULL), "
        "count(*) FILTER (WHERE NOT means_deliberation) FROM cases_wide"
    ).fetchone() == (1, 1)


def test_every_missing_part_is_null_and_the_rest_stays_known(con) -> None:
    """Each list alone, a design field alone, the whole design section."""
    design = ("formalization", "frequency", "participant_selection", "decisiveness")
    cases = {
        1001: make_record(
            1001, participant_types=(), sections_present=_without("participant_types")
        ),
        1002: make_record(1002, ends=(), sections_present=_without("ends")),
        1003: make_record(1003, policy_cycle=(), sections_present=_without("policy_cycle")),
        1004: make_record(
            1004,
            **dict.fromkeys((*design, "co_governance")),
            participant_types=(),
            sections_present=tuple(p for p in PAGE_PARTS if p in ("means", "ends", "policy_cycle")),
        ),
    }
    _load(con, list(cases.values()))
    lacking = {1001: {"participant_types"}, 1002: {"ends"}, 1003: {"policy_cycle"}}
    lacking[1004] = {"participant_types"}
    for case_id, missing in lacking.items():
        row = _wide(con, case_id)
        for field in _WIDE_LISTS:
            values = set(_dummies(row, field))
            assert (values == {None}) == (field in missing), (case_id, field, values)
    row = _wide(con, 1004)
    assert [row[f] for f in (*design, "co_governance")] == [None] * 5
    stored = con.execute("SELECT case_id, sections_present FROM cases ORDER BY 1").fetchall()
    assert stored[3] == (1004, ["means", "ends", "policy_cycle"])


def test_a_page_that_loses_a_section_is_a_change(con) -> None:
    # Its Policy cycle showed no stage before; now the section is gone: "none" became unknown.
    before = make_record(policy_cycle=())
    _load(con, [before])
    after = replace(before, sections_present=_without("policy_cycle"))
    assert _load(con, [after], n=1, run="r2").changed == 1
    assert con.execute("SELECT field, old_value, new_value FROM case_changes").fetchall() == [
        ("sections_present", canonical_json(list(PAGE_PARTS)),
         canonical_json(list(_without("policy_cycle")))),
    ]  # fmt: skip
    assert set(_dummies(_wide(con, 17001), "policy_cycle")) == {None}
    # The section back, in another order of the parts: the same content as the first version.
    shuffled = replace(before, sections_present=tuple(reversed(PAGE_PARTS)))
    assert _load(con, [shuffled], n=2, run="r3").changed == 1
    assert set(_dummies(_wide(con, 17001), "policy_cycle")) == {False}
    assert con.execute(
        "SELECT count(DISTINCT content_hash), count(*) FROM case_history"
    ).fetchone() == (2, 3)
