"""Every claim of a release's codebook holds in its data (issue 21, item 4).

The release is made from the fixture pages as the parser reads them, unmatched values included
("biannual", "random sortition", "partially"), as tests/test_comments.py checks the table
comments: allowed codes, % missing, how a value is obtained (NULL when not shown or unmatched,
the text in parse_issues), the Stata/SPSS numbers and what codebook.md says about them.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pyreadstat
import pytest

from latinno.config_sections import ParserSettings
from latinno.record import CASE_COLUMNS, CaseRecord
from latinno.release import write_release
from latinno.release.statfiles import UNCODED_FROM
from warehouse.db import writing
from warehouse.load import load_records
from warehouse.runs import finish_run, start_run

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"
CODED = [c.name for c in CASE_COLUMNS if c.kind == "code" and c.name != "country_code"]
FLAGS = [c.name for c in CASE_COLUMNS if c.kind == "flag"]
Rows = list[dict[str, str]]


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flows.parsing import ParseSpec, parse_pages

    work = tmp_path_factory.mktemp("codebook")
    pages = [
        (p.read_bytes(), f"https://latinno.net/en/case/{p.parent.name}/", None)
        for p in sorted((FIXTURES / "en" / "case").glob("*/index.html"))
    ]
    records = [
        r for r in parse_pages(pages, ParseSpec.of(ParserSettings())) if isinstance(r, CaseRecord)
    ]
    assert len(records) == len(pages)
    at = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    with writing(work / "wh.duckdb") as con:
        start_run(con, "r1", at, {})
        load_records(con, records, run_id="r1", seen_at=at, primary_lang="en")
        finish_run(con, "r1", at, {"discovered": len(records), "new": len(records)})
    return write_release(work / "wh.duckdb", work / "releases").path


def _csv(released: Path, table: str) -> Rows:
    with open(released / "csv" / f"{table}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _book(released: Path) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["table_name"], r["column_name"]): r for r in _csv(released, "codebook")}


def _unmatched(released: Path, field: str) -> dict[str, str]:
    """case_id -> page text of ``field`` that matched no code (parse_issues.raw)."""
    return {
        r["case_id"]: r["raw"]
        for r in _csv(released, "parse_issues")
        if r["field"] == field and r["raw"]
    }


def test_unmatched_values_are_missing_as_the_codebook_says(released: Path) -> None:
    book = _book(released)
    wide = {r["case_id"]: r for r in _csv(released, "cases_wide")}
    seen = 0
    for field in CODED + FLAGS:
        claim = book[("cases_wide", field)]["obtained_from"]
        unmatched = _unmatched(released, field)
        for case_id, raw in unmatched.items():
            assert wide[case_id][field] == "", (field, case_id, raw)
            seen += 1
        if unmatched:  # a NULL that is not "not shown": the codebook must say so
            assert "NULL when" in claim and "parse_issues" in claim, claim
        assert "kept as it is" not in claim, claim
    assert seen >= 3, "the fixtures hold values nobody has seen (biannual, random sortition)"


def test_every_missing_flag_or_code_is_explained_by_a_parse_issue(released: Path) -> None:
    wide = _csv(released, "cases_wide")
    issues = {(r["case_id"], r["field"]) for r in _csv(released, "parse_issues")}
    for field in CODED + FLAGS:
        for row in wide:
            if row[field] == "":
                # Not shown (the label's issue) or unmatched (the raw text's issue).
                assert (row["case_id"], field) in issues, (field, row["case_id"])


def test_values_are_among_the_allowed_codes_and_missing_shares_are_true(released: Path) -> None:
    book = _book(released)
    checked = 0
    for (table, column), entry in book.items():
        if table == "codebook":
            continue
        data = pq.read_table(released / "parquet" / f"{table}.parquet")
        values = data.column(column)
        total = data.num_rows
        share = round(100.0 * values.null_count / total, 2) if total else 0.0
        assert float(entry["missing_pct"]) == share, (table, column)
        if entry["allowed_codes"]:
            allowed = set(entry["allowed_codes"].split(" | "))
            cells = {r[column] for r in _csv(released, table)} - {""}
            assert cells <= allowed, (table, column, cells - allowed)
            checked += 1
    assert checked >= 20


def test_stata_numbers_are_the_ones_the_codebook_lists(released: Path) -> None:
    book = _book(released)
    frame, meta = pyreadstat.read_dta(str(released / "stata" / "latinno_cases.dta"))
    labels_of = meta.variable_to_label
    for field in CODED:
        entry = book[("cases_wide", field)]
        listed = {
            int(part.split(" = ", 1)[0]): part.split(" = ", 1)[1]
            for part in entry["stata_values"].split(" | ")
        }
        used = {int(v) for v in frame[entry["stata_name"]].dropna()}
        assert used <= set(listed), (field, used - set(listed))
        assert all(n < UNCODED_FROM for n in used), (field, used)
        names = meta.value_labels[labels_of[entry["stata_name"]]]
        assert {int(k): v for k, v in names.items()} == listed, field
    text = (released / "codebook.md").read_text(encoding="utf-8")
    # No number from 101 exists in this data, so the codebook does not describe one.
    assert f"Numbers from {UNCODED_FROM}" not in text
    assert "matched no code is missing here" in text
