"""Every COMMENT is true (issue 9, part 5): the claims a comment makes that a query can check
are checked on a warehouse loaded with the fixture records, unmatched values included."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from latinno.config_sections import ParserSettings
from latinno.record import CASE_COLUMNS, CaseRecord
from warehouse.db import connect
from warehouse.load import load_records

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    from datetime import UTC, datetime

    from flows.parsing import ParseSpec, parse_pages
    from warehouse.runs import start_run

    con = connect(tmp_path_factory.mktemp("c") / "w.duckdb")
    pages = [
        (p.read_bytes(), f"https://latinno.net/en/case/{p.parent.name}/", None)
        for p in sorted((FIXTURES / "en" / "case").glob("*/index.html"))
    ]
    records = [
        r for r in parse_pages(pages, ParseSpec.of(ParserSettings())) if isinstance(r, CaseRecord)
    ]
    assert len(records) == len(pages)
    start_run(con, "r", datetime.now(UTC), {})
    load_records(con, records, run_id="r", seen_at=datetime.now(UTC), primary_lang="en")
    return con


def comments(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute(
        "SELECT table_name, column_name, comment FROM duckdb_columns() "
        "WHERE comment IS NOT NULL AND schema_name = 'main'"
    ).fetchall()


def test_named_vocabulary_fields_and_tables_exist(con: duckdb.DuckDBPyConnection) -> None:
    fields = {r[0] for r in con.execute("SELECT DISTINCT field FROM vocabulary").fetchall()}
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    tables |= {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    for table, column, text in comments(con):
        for field in re.findall(r"vocabulary field (\w+)", text):
            assert field in fields, (table, column, field)
        for name in re.findall(r"\(see (?:table )?(\w+)\)", text):
            assert name in tables, (table, column, name)


def test_unmatched_design_values_are_null_as_their_comments_say(
    con: duckdb.DuckDBPyConnection,
) -> None:
    codes = [c.name for c in CASE_COLUMNS if c.kind == "code" and c.name != "country_code"]
    text = dict(((t, c), x) for t, c, x in comments(con) if t == "cases" and c in codes)
    unmatched = con.execute(
        "SELECT i.field, c.formalization, c.frequency, c.participant_selection, c.decisiveness "
        "FROM parse_issues AS i JOIN cases AS c USING (case_id) WHERE i.field IN ? "
        "AND i.raw IS NOT NULL",
        [codes],
    ).fetchall()
    assert unmatched, "the fixtures hold values nobody has seen (biannual, random sortition)"
    for field, *values in unmatched:
        assert dict(zip(codes, values, strict=True))[field] is None, field
    for column in codes:
        claim = text[("cases", column)]
        assert "NULL when" in claim and "parse_issues" in claim, claim
        assert "raw text when" not in claim, claim


def test_flags_are_null_when_not_shown_as_the_comment_says(con: duckdb.DuckDBPyConnection) -> None:
    (claim,) = [x for t, c, x in comments(con) if (t, c) == ("cases", "co_governance")]
    assert "NULL = not shown, or a value that matched neither" in claim
    missing = con.execute(
        "SELECT count(*) FROM cases WHERE co_governance IS NULL AND NOT "
        "list_contains(sections_present, 'co_governance')"
    ).fetchone()[0]  # type: ignore[index]
    unexplained = con.execute(
        "SELECT count(*) FROM cases AS c WHERE co_governance IS NULL "
        "AND list_contains(sections_present, 'co_governance') AND NOT EXISTS ("
        "SELECT 1 FROM parse_issues AS i WHERE i.case_id = c.case_id "
        "AND i.field = 'co_governance' AND i.raw IS NOT NULL)"
    ).fetchone()[0]  # type: ignore[index]
    assert missing >= 1 and unexplained == 0
