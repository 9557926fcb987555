"""Schema, reference data, page archive and run bookkeeping on a real DuckDB file."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from _warehouse_support import day, make_record, naive

from latinno.errors import WarehouseError
from latinno.record import CASE_COLUMNS, PAGE_PARTS, CaseRecord, ParseIssue
from latinno.vocabulary import COUNTRIES, vocabulary_rows
from warehouse import db, views
from warehouse.archive import (
    ArchivedPage,
    Validators,
    body_sha256,
    latest_bodies,
    page_validators,
    store_pages,
)
from warehouse.content import canonical_json, case_content
from warehouse.db import connect, latest_version, migrations, schema_version
from warehouse.load import load_records, mark_withdrawn
from warehouse.runs import (
    FetchFailure,
    finish_run,
    known_cases,
    mark_interrupted,
    open_failures,
    record_fetch_failures,
    resolve_failures,
    start_run,
)


@pytest.fixture()
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "wh.duckdb")
    yield con
    con.close()


# --- schema ------------------------------------------------------------------------------------


def test_open_twice_applies_schema_once_and_writes_reference_data(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "wh.duckdb"  # parent directories are created
    connect(path).close()
    con = connect(path)
    assert con.execute("SELECT version, name FROM schema_version ORDER BY 1").fetchall() == [
        (version, name) for version, name, _ in migrations()
    ]
    assert schema_version(con) == latest_version()
    vocab = con.execute(
        "SELECT field, code, label_en, label_es, label_pt FROM vocabulary ORDER BY field, position"
    ).fetchall()
    assert sorted(vocab) == sorted(vocabulary_rows())
    assert con.execute("SELECT * FROM countries ORDER BY id_prefix").fetchall() == [
        (c.code, c.id_prefix, c.name_en, c.slug) for c in COUNTRIES
    ]
    con.close()


def test_every_table_view_and_column_is_commented(con) -> None:
    missing = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND NOT internal AND (comment IS NULL OR comment = '')"
    ).fetchall()
    assert missing == []
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT internal AND NOT temporary "
        "AND (comment IS NULL OR comment = '') UNION ALL "
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary "
        "AND (comment IS NULL OR comment = '')"
    ).fetchall()
    assert tables == []
    names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"cases", "case_history", "pages", "runs", "parse_issues", "fetch_failures"} <= names


def test_cases_wide_has_a_boolean_per_code(con) -> None:
    load_records(
        con,
        [make_record(means=("deliberation", "e_participation"), participant_types=())],
        run_id="r1",
        seen_at=day(0),
        primary_lang="en",
    )
    row = con.execute(
        "SELECT means_deliberation, means_direct_voting, means_e_participation, "
        "means_citizen_representation, participant_types_citizens, ends_accountability, "
        "policy_cycle_policy_evaluation, country_name FROM cases_wide"
    ).fetchall()
    assert row == [(True, False, True, False, False, True, False, "Peru")]


def _as_before_migration_3(record: CaseRecord, *issues: tuple[str, str | None, str]) -> CaseRecord:
    """A record as parser 1.x made it: no sections, the reasons only in its issues."""
    return replace(record, issues=tuple(ParseIssue(*i) for i in issues))


def test_migration_3_reads_sections_from_the_old_issues_and_keeps_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.duckdb"
    old_spec = CASE_COLUMNS[:-1]  # the column spec before sections_present
    assert [c.kind for c in CASE_COLUMNS[-1:]] == ["sections"]
    design = ("formalization", "frequency", "participant_selection", "participant_types",
              "decisiveness", "co_governance")  # fmt: skip
    not_found = "label of '{}' not found on the page"
    old = {
        17001: _as_before_migration_3(make_record()),
        1288: _as_before_migration_3(
            make_record(1288, policy_cycle=()),
            ("policy_cycle", None, "section 'policy_cycle' not found"),
        ),
        16030: _as_before_migration_3(
            make_record(16030, **dict.fromkeys(design[:3] + design[4:]), participant_types=()),
            *((name, None, not_found.format(name)) for name in design),
        ),
        14037: _as_before_migration_3(
            make_record(14037, co_governance=None, frequency=None),
            ("frequency", "biannual", "value 'biannual' of 'frequency' is not in the vocabulary"),
            ("co_governance", None, not_found.format("co_governance")),
        ),
        5099: _as_before_migration_3(
            make_record(5099, participant_types=()),
            ("participant_types", None, "'participant_types' label found but no value after it"),
        ),
        3001: _as_before_migration_3(make_record(3001)),
    }
    # Another language's page lacking a section says nothing of the row's own page.
    spanish = _as_before_migration_3(
        make_record(17001, "es"), ("means", None, "section 'means' not found")
    )
    real_migrations, real_statements = migrations, views.statements
    with monkeypatch.context() as patch:  # the warehouse code as it was before migration 3
        home = sys.modules[db.migrate.__module__]  # where migrate finds the migrations
        patch.setattr(home, "migrations", lambda: [m for m in real_migrations() if m[0] < 3])
        patch.setattr(views, "statements", lambda columns=old_spec: real_statements(columns))
        con = connect(path)
        load = functools.partial(load_records, con, primary_lang="en", columns=old_spec)
        load([*old.values(), spanish], run_id="r1", seen_at=day(0))
        load([replace(old[3001], title="Renamed")], run_id="r2", seen_at=day(1))
        mark_withdrawn(con, [5099], day(2), run_id="r2")
        assert "sections_present" not in {
            r[0] for r in con.execute("SELECT column_name FROM duckdb_columns()").fetchall()
        }
        con.close()

    con = connect(path)  # applies migration 3 (and the views of today)
    every = list(PAGE_PARTS)
    expected = {
        17001: every,
        1288: every[:-1],
        16030: ["means", "ends", "policy_cycle"],
        14037: [p for p in every if p != "co_governance"],  # biannual: shown, not coded
        5099: [p for p in every if p != "participant_types"],
        3001: every,
    }
    stored = dict(con.execute("SELECT case_id, sections_present FROM cases").fetchall())
    assert stored == expected
    now = {
        case_id: replace(record, sections_present=tuple(expected[case_id]))
        for case_id, record in old.items()
    }
    now[3001] = replace(now[3001], title="Renamed")
    current = con.execute(
        "SELECT h.case_id, h.record::VARCHAR, h.content_hash, c.content_hash "
        "FROM case_history AS h JOIN cases AS c USING (case_id) WHERE h.valid_to IS NULL"
    ).fetchall()
    for case_id, text, history_hash, case_hash in current:
        assert text == canonical_json(case_content(now[case_id])), case_id
        assert history_hash == case_hash == hashlib.sha256(text.encode()).hexdigest()
    # The version before keeps its record; no change is read into the field it lacks.
    first = con.execute(
        "SELECT record::VARCHAR FROM case_history WHERE case_id = 3001 AND version = 1"
    ).fetchone()
    assert first == (canonical_json(case_content(old[3001], old_spec)),)
    changes = con.execute("SELECT case_id, field FROM case_changes ORDER BY ALL").fetchall()
    assert changes == [(3001, "title"), (5099, "status")]
    # The new parser's records of the same pages are no change; the wide view reads NULL.
    stats = load_records(
        con,
        [r for case_id, r in now.items() if case_id != 5099],
        run_id="r3",
        seen_at=day(3),
        primary_lang="en",
    )
    assert (stats.new, stats.changed, stats.unchanged) == (0, 0, 5)
    wide = con.execute(
        "SELECT case_id, policy_cycle_implementation, participant_types_citizens, "
        "means_deliberation FROM cases_wide ORDER BY case_id"
    ).fetchall()
    assert wide == [
        (1288, None, True, True), (3001, True, True, True), (5099, True, None, True),
        (14037, True, True, True), (16030, True, None, True), (17001, True, True, True),
    ]  # fmt: skip
    con.close()


def test_read_only_open_of_missing_file_says_to_refresh(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.duckdb"
    with pytest.raises(WarehouseError, match=r"nothing\.duckdb.*latinno refresh"):
        connect(missing, read_only=True)
    assert not missing.exists()


def test_read_only_open_of_a_non_warehouse_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(WarehouseError, match="schema version 0"):
        connect(path, read_only=True)


# --- archive -----------------------------------------------------------------------------------


def _page(body: bytes, n: int = 0, etag: str | None = '"v1"', lang: str = "en") -> ArchivedPage:
    return ArchivedPage(
        case_id=17001,
        lang=lang,
        url=f"https://latinno.net/{lang}/case/17001/",
        status=200,
        headers={"Content-Type": "text/html; charset=utf-8", "ETag": etag or ""},
        body=body,
        sha256=body_sha256(body),
        fetched_at=day(n),
        etag=etag,
        last_modified="Mon, 02 Mar 2026 03:00:00 GMT",
    )


def test_archive_keeps_each_distinct_body_and_returns_the_latest(con, tmp_path: Path) -> None:
    v1 = "<html>Foro — versión 1</html>".encode()
    v2 = b"<html>version 2</html>" * 50
    assert store_pages(con, [_page(v1, 0), _page(v1, 1, '"v1b"')]) == 1
    assert store_pages(con, [_page(v2, 2, '"v2"'), _page(v1, 0, lang="es")]) == 2
    assert con.execute(
        "SELECT case_id, lang, sha256, first_fetched_at, fetched_at, etag, body_size, headers "
        "FROM pages ORDER BY lang, fetched_at"
    ).fetchall() == [
        (17001, "en", body_sha256(v1), naive(1), naive(1), '"v1b"', len(v1),
         '{"content-type":"text/html; charset=utf-8","etag":"\\"v1b\\""}'),
        (17001, "en", body_sha256(v2), naive(2), naive(2), '"v2"', len(v2),
         '{"content-type":"text/html; charset=utf-8","etag":"\\"v2\\""}'),
        (17001, "es", body_sha256(v1), naive(0), naive(0), '"v1"', len(v1),
         '{"content-type":"text/html; charset=utf-8","etag":"\\"v1\\""}'),
    ]  # fmt: skip
    assert page_validators(con) == {
        (17001, "en"): Validators('"v2"', "Mon, 02 Mar 2026 03:00:00 GMT", body_sha256(v2),
                                  "https://latinno.net/en/case/17001/"),
        (17001, "es"): Validators('"v1"', "Mon, 02 Mar 2026 03:00:00 GMT", body_sha256(v1),
                                  "https://latinno.net/es/case/17001/"),
    }  # fmt: skip
    latest = [(p.case_id, p.lang, p.url, p.body_size, p.body()) for p in latest_bodies(con)]
    assert latest == [
        (17001, "en", "https://latinno.net/en/case/17001/", len(v2), v2),
        (17001, "es", "https://latinno.net/es/case/17001/", len(v1), v1),
    ]
    # The stored body is a plain zstd frame any zstd tool reads.
    blob = con.execute("SELECT body_zstd FROM pages WHERE lang = 'es'").fetchone()[0]
    try:
        out = subprocess.run(["zstd", "-d", "-c"], input=blob, capture_output=True, check=True)
    except FileNotFoundError:
        pytest.skip("zstd tool not installed")
    assert out.stdout == v1


def test_archive_refuses_a_body_that_does_not_match_its_hash(con) -> None:
    bad = ArchivedPage(1001, "en", "https://latinno.net/en/case/1001/", 200, {}, b"x",
                       "0" * 64, day(0))  # fmt: skip
    with pytest.raises(WarehouseError, match=r"case/1001/.*does not match"):
        store_pages(con, [bad])
    assert con.execute("SELECT count(*) FROM pages").fetchone() == (0,)


# --- runs --------------------------------------------------------------------------------------


def test_run_rows_hold_counts_as_columns_and_the_rest_as_json(con) -> None:
    start_run(con, "r1", day(0), {"languages": ["en"], "base_url": "http://127.0.0.1:1"})
    with pytest.raises(WarehouseError, match="'r1' already exists"):
        start_run(con, "r1", day(0), {})
    finish_run(con, "r1", day(1), {"discovered": 10, "new": 7, "load_s": 0.25, "robots": 1})
    row = con.execute("SELECT * FROM runs").fetchone()
    # Counts of nothing are 0, never NULL (issue 9); durations not measured stay NULL.
    assert row == (
        "r1", naive(0), naive(1), '{"base_url": "http://127.0.0.1:1", "languages": ["en"]}',
        10, 0, 0, 0, 7, 0, 0, 0, 0, 0, None, None, None, 0.25,
        '{"robots": 1}', "completed", None,
    )  # fmt: skip


def test_runs_that_died_are_marked_interrupted_by_the_next(con) -> None:
    start_run(con, "dead", day(0), {})
    start_run(con, "done", day(0), {})
    finish_run(con, "done", day(1), {}, status="failed", reason="cannot reach the site")
    assert mark_interrupted(con, day(2)) == ["dead"]
    rows = con.execute("SELECT run_id, status, reason FROM runs ORDER BY 1").fetchall()
    assert rows[0][:2] == ("dead", "interrupted") and "ended before the run finished" in rows[0][2]
    assert rows[1] == ("done", "failed", "cannot reach the site")
    assert mark_interrupted(con, day(3)) == []
    with pytest.raises(WarehouseError, match="'nope' not found"):
        finish_run(con, "nope", day(1), {})


def test_fetch_failures_stay_open_until_fetched(con) -> None:
    start_run(con, "r1", day(0), {})
    start_run(con, "r2", day(1), {})
    record_fetch_failures(
        con,
        "r1",
        [
            FetchFailure("https://latinno.net/en/case/1001/", 1001, "en", 503, "server error", 6),
            FetchFailure("https://latinno.net/robots.txt", None, None, None, "timeout", 6),
        ],
    )
    record_fetch_failures(
        con, "r2", [FetchFailure("https://latinno.net/robots.txt", None, None, 500, "boom", 3)]
    )
    assert [(f["run_id"], f["url"]) for f in open_failures(con)] == [
        ("r2", "https://latinno.net/robots.txt"),
        ("r1", "https://latinno.net/en/case/1001/"),
    ]
    assert resolve_failures(con, [(1001, "en")], "r2") == 1
    assert resolve_failures(con, [], "r3", urls=["https://latinno.net/robots.txt"]) == 1
    assert open_failures(con) == []
    assert con.execute(
        "SELECT run_id, url, status, runs_failed, resolved_run_id FROM fetch_failures ORDER BY ALL"
    ).fetchall() == [
        ("r1", "https://latinno.net/en/case/1001/", 503, 1, "r2"),
        ("r2", "https://latinno.net/robots.txt", 500, 2, "r3"),  # one row for both runs
    ]


def test_known_cases_reports_status(con) -> None:
    load_records(
        con, [make_record(), make_record(5099)], run_id="r", seen_at=day(0), primary_lang="en"
    )
    mark_withdrawn(con, [5099], day(1))
    assert known_cases(con) == {17001: "active", 5099: "withdrawn"}


def test_params_json_is_stored_as_given(con) -> None:
    start_run(con, "r9", day(0), {"b": 2, "a": [1, 2]})
    stored = con.execute("SELECT params::VARCHAR FROM runs").fetchone()[0]
    assert json.loads(stored) == {"a": [1, 2], "b": 2}
