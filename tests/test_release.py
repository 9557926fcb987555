"""``latinno release`` on real files: every format read back with its own reader equals the
warehouse, the same data gives the same bytes, and bad input changes nothing."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from importlib.metadata import version as metadata_version
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
import yaml
from _warehouse_support import day, make_record
from test_release_support import (
    EMPTY_ID,
    FORMULA_TITLE,
    GONE_ID,
    LONG_DESCRIPTION,
    LONG_ID,
    NO_MEANS_ID,
    RAW_FORMALIZATION,
    RAW_ID,
    build_warehouse,
    expected_cell,
    latinno,
    run,
)

from latinno.record import CASE_COLUMNS, PAGE_PARTS
from latinno.release import write_release
from latinno.release.errors import ReleaseError
from latinno.release.states import CaseState, diff_states
from latinno.release.statfiles import stata_names
from warehouse.content import case_content
from warehouse.db import reading, writing

# The list of tables, and the key each is ordered by.
TABLES = {
    "cases_wide": ("case_id",),
    "case_means": ("case_id", "means"),
    "case_ends": ("case_id", "ends"),
    "case_policy_cycle": ("case_id", "stage"),
    "case_participant_types": ("case_id", "participant_type"),
    "case_texts": ("case_id", "lang"),
    "case_sources": ("case_id", "position"),
    "case_history": ("case_id", "version"),
    "parse_issues": ("case_id", "lang", "field", "raw", "message", "url", "run_id"),
    "vocabulary": ("field", "position"),
    "countries": ("id_prefix",),
}
CODED = ("formalization", "frequency", "participant_selection", "decisiveness")
DATA_TIME = day(1).replace(tzinfo=None) + timedelta(minutes=5)  # r2 finished
VERSION = DATA_TIME.strftime("%Y-%m-%d")
STATA_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("release") / "wh.duckdb")


@pytest.fixture(scope="module")
def released(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = write_release(warehouse, tmp_path_factory.mktemp("out") / "releases")
    assert result.written and result.version == VERSION
    return result.path


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, str]]:
    """The table's columns a release holds: all but last_seen_at, which every refresh moves."""
    rows = con.execute(
        "SELECT column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
        "WHERE table_name = ? ORDER BY column_index",
        [table],
    ).fetchall()
    return [r for r in rows if r[0] != "last_seen_at"]


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    names = ", ".join(f'"{c}"' for c, _, _ in _columns(con, table))
    order = ", ".join(TABLES[table])
    return con.execute(f"SELECT {names} FROM {table} ORDER BY {order}").fetchall()


def _codebook(released: Path) -> dict[tuple[str, str], dict[str, str]]:
    with open(released / "csv" / "codebook.csv", encoding="utf-8", newline="") as handle:
        return {(r["table_name"], r["column_name"]): r for r in csv.DictReader(handle)}


def _vocabulary(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[int, str]]:
    rows = con.execute("SELECT field, code, position, label_en FROM vocabulary").fetchall()
    return {(f, c): (p, label) for f, c, p, label in rows}


def test_every_file_is_there_and_matches_sha256sums(released: Path) -> None:
    files = {p.relative_to(released).as_posix() for p in released.rglob("*") if p.is_file()}
    expected = {f"csv/{t}.csv" for t in (*TABLES, "codebook")}
    expected |= {f"parquet/{t}.parquet" for t in (*TABLES, "codebook")}
    expected |= {
        "stata/latinno_cases.dta",
        "spss/latinno_cases.sav",
        "codebook.md",
        "datapackage.json",
        "CITATION.cff",
        "CHANGES.md",
        "changes.csv",
        "SHA256SUMS",
    }
    assert expected <= files
    assert files - expected <= {"report.html"}  # the report, when this pipeline has one
    listed = {}
    for line in (released / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert set(listed) == files - {"SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((released / name).read_bytes()).hexdigest() == digest, name
    assert not list(released.parent.glob(".tmp-*"))  # the temporary folder is gone
    first = (released / "CHANGES.md").read_text(encoding="utf-8")
    assert "First release" in first
    assert (released / "changes.csv").read_bytes() == (
        b"change,case_id,title,field,old_value,new_value\r\n"
    )


def test_parquet_and_csv_read_back_equal_the_tables(warehouse: Path, released: Path) -> None:
    reader = duckdb.connect()
    with reading(warehouse) as con:
        for table in TABLES:
            columns = _columns(con, table)
            expected = _rows(con, table)
            assert expected, table
            parquet = pq.read_table(released / "parquet" / f"{table}.parquet")
            assert parquet.column_names == [c for c, _, _ in columns]
            assert [tuple(r.values()) for r in parquet.to_pylist()] == expected, table

            with open(released / "csv" / f"{table}.csv", encoding="utf-8", newline="") as f:
                read = list(csv.reader(f))
            assert read[0] == [c for c, _, _ in columns]
            assert read[1:] == [[expected_cell(v) for v in row] for row in expected], table

            types = {c: ("VARCHAR" if t == "JSON" else t) for c, t, _ in columns}
            back = reader.execute(
                "SELECT * FROM read_csv(?, header = true, columns = ?, "
                "allow_quoted_nulls = false, auto_detect = false)",
                [str(released / "csv" / f"{table}.csv"), types],
            ).fetchall()
            assert back == expected, table
        # The edge values are really in the data, so the comparisons above covered them.
        sources = con.execute(
            "SELECT text FROM case_sources WHERE case_id = ?", [EMPTY_ID]
        ).fetchall()
        assert sources == [("",)]
        long = con.execute("SELECT description FROM cases WHERE case_id = ?", [LONG_ID])
        assert long.fetchone() == (LONG_DESCRIPTION,)


def test_csv_cells_booleans_line_breaks_and_no_bom(released: Path) -> None:
    raw = (released / "csv" / "cases_wide.csv").read_bytes()
    assert raw.startswith(b"case_id,country_code,")
    assert b"\r\nsegunda l" in raw  # the line break stays inside the quoted cell
    with open(released / "csv" / "cases_wide.csv", encoding="utf-8", newline="") as handle:
        by_id = {int(r["case_id"]): r for r in csv.DictReader(handle)}
    assert by_id[LONG_ID]["title"] == FORMULA_TITLE  # plain CSV keeps the value as it is
    assert by_id[LONG_ID]["description"] == LONG_DESCRIPTION
    assert by_id[RAW_ID]["co_governance"] == ""
    assert by_id[RAW_ID]["formalization"] == RAW_FORMALIZATION
    assert by_id[LONG_ID]["co_governance"] == "1"
    assert {by_id[i]["means_deliberation"] for i in (LONG_ID, RAW_ID)} == {"1", "0"}
    assert by_id[GONE_ID]["status"] == "withdrawn"
    assert by_id[LONG_ID]["first_seen_at"] == "2026-03-02T03:00:00Z"
    assert b',"",' in (released / "csv" / "case_sources.csv").read_bytes()


def _check_stat_file(
    df: Any,
    labels: dict[str, str],
    value_labels: dict[str, dict[Any, str]],
    warehouse: Path,
    released: Path,
    *,
    label_limit: int,
    text_limit: int | None,
) -> None:
    """Values, variable labels and value labels of a .dta/.sav equal cases_wide's."""
    book = _codebook(released)
    with reading(warehouse) as con:
        columns = _columns(con, "cases_wide")
        rows = _rows(con, "cases_wide")
        vocabulary = _vocabulary(con)
    assert len(df) == len(rows)
    names = [book[("cases_wide", c)]["stata_name"] for c, _, _ in columns]
    assert list(df.columns) == names
    assert len({n.lower() for n in names}) == len(names)
    assert all(STATA_NAME.match(n) for n in names), names
    for index, (column, dtype, comment) in enumerate(columns):
        name = names[index]
        if len(comment.encode()) <= label_limit:
            assert labels[name] == comment, column
        else:
            assert len(labels[name].encode()) <= label_limit
            assert "label shortened" in book[("cases_wide", column)]["note"]
        got = df[name].tolist()
        want = [row[index] for row in rows]
        if column in CODED:
            assert value_labels[name], column
            for number, value in zip(got, want, strict=True):
                if value is None:
                    assert pd.isna(number)
                    continue
                label = value_labels[name][number]
                if (column, value) in vocabulary:
                    assert (number, label) == vocabulary[(column, value)]
                else:  # page text that matched no code keeps its text as the label
                    assert number >= 101 and label == value
        elif dtype == "BOOLEAN":
            assert {k: v for k, v in value_labels[name].items()} == {0: "no", 1: "yes"}
            assert [None if pd.isna(v) else int(v) for v in got] == [
                None if v is None else int(v) for v in want
            ], column
        elif dtype.startswith("TIMESTAMP"):
            for a, b in zip(got, want, strict=True):
                assert abs(pd.Timestamp(a).to_pydatetime() - b) <= timedelta(milliseconds=1)
        elif dtype == "VARCHAR":
            for case_id, a, b in zip(df[names[0]], got, want, strict=True):
                text = b or ""
                if text_limit is not None and len(text.encode()) > text_limit:
                    assert case_id == LONG_ID
                    assert text.startswith(a) and 0 < len(a.encode()) <= text_limit
                    assert str(LONG_ID) in book[("cases_wide", column)]["note"]
                else:
                    assert a == text, (column, case_id)
        else:
            assert [int(v) for v in got] == list(want), column


def test_stata_file_reads_back_equal_to_cases_wide(warehouse: Path, released: Path) -> None:
    path = released / "stata" / "latinno_cases.dta"
    df, meta = pyreadstat.read_dta(path)
    _check_stat_file(
        df,
        meta.column_names_to_labels,
        meta.variable_value_labels,
        warehouse,
        released,
        label_limit=80,
        text_limit=None,  # strL: Stata holds the whole text
    )
    # pandas, an independent reader: labels applied, variable labels the same.
    frame = pd.read_stata(path, convert_categoricals=True)
    with pd.io.stata.StataReader(path) as reader:
        assert reader.variable_labels() == meta.column_names_to_labels
    by_id = frame.set_index("case_id")
    assert by_id.loc[RAW_ID, "formalization"] == RAW_FORMALIZATION
    assert by_id.loc[LONG_ID, "formalization"] == "only backed by a governmental program or policy"
    assert by_id.loc[LONG_ID, "co_governance"] == "yes"
    assert pd.isna(by_id.loc[RAW_ID, "co_governance"])
    assert by_id.loc[LONG_ID, "description"] == LONG_DESCRIPTION
    assert by_id.loc[RAW_ID, "means_deliberation"] == "no"


def test_spss_file_reads_back_equal_to_cases_wide(warehouse: Path, released: Path) -> None:
    df, meta = pyreadstat.read_sav(released / "spss" / "latinno_cases.sav")
    _check_stat_file(
        df,
        meta.column_names_to_labels,
        meta.variable_value_labels,
        warehouse,
        released,
        label_limit=256,
        text_limit=32_767,
    )
    assert any("Pogrebinschi" in note for note in meta.notes)


def test_a_list_the_page_did_not_show_is_missing_in_every_format_never_0(
    warehouse: Path, released: Path
) -> None:
    means = [f"means_{code}" for code in ("deliberation", "direct_voting", "e_participation")]
    means.append("means_citizen_representation")
    # RAW_ID's page showed Means with none marked (0); NO_MEANS_ID's showed no Means (missing).
    for read in (pyreadstat.read_dta, pyreadstat.read_sav):
        suffix = (
            "stata/latinno_cases.dta" if read is pyreadstat.read_dta else "spss/latinno_cases.sav"
        )
        df, _meta = read(released / suffix)
        by_id = df.set_index("case_id")
        assert all(pd.isna(by_id.loc[NO_MEANS_ID, c]) for c in means), suffix
        assert [by_id.loc[RAW_ID, c] for c in means] == [0, 0, 0, 0], suffix
        assert by_id.loc[NO_MEANS_ID, "ends_accountability"] == 1, suffix
    frame = pd.read_stata(released / "stata" / "latinno_cases.dta", convert_categoricals=True)
    row = frame.set_index("case_id").loc[NO_MEANS_ID]
    assert all(pd.isna(row[c]) for c in means) and row["ends_accountability"] == "yes"
    with open(released / "csv" / "cases_wide.csv", encoding="utf-8", newline="") as handle:
        by_id = {int(r["case_id"]): r for r in csv.DictReader(handle)}
    assert {by_id[NO_MEANS_ID][c] for c in means} == {""}
    assert {by_id[RAW_ID][c] for c in means} == {"0"}
    book = _codebook(released)
    with reading(warehouse) as con:
        unknown = con.execute(
            "SELECT round(100.0 * count(*) FILTER (WHERE means_deliberation IS NULL) / count(*), 2)"
            " FROM cases_wide"
        ).fetchone()[0]
        no_means = con.execute(
            "SELECT count(*) FROM cases WHERE NOT list_contains(sections_present, 'means')"
        ).fetchone()[0]
    assert no_means == 1 and unknown > 0
    for column in means:
        assert float(book[("cases_wide", column)]["missing_pct"]) == unknown
        assert "never 0" in book[("cases_wide", column)]["obtained_from"]
    text = (released / "codebook.md").read_text(encoding="utf-8")
    assert "not shown is unknown, not no" in text


def test_a_field_an_earlier_release_did_not_record_is_no_change() -> None:
    # A release made before sections_present existed, against one that has it.
    before = make_record(policy_cycle=())
    old_record = case_content(before, CASE_COLUMNS[:-1])
    lost = replace(before, sections_present=PAGE_PARTS[:-1], title="Renamed")
    rows = diff_states(
        {17001: CaseState("active", old_record)},
        {17001: CaseState("active", case_content(lost))},
    )
    assert [(r.change, r.field) for r in rows] == [("changed", "title")]
    # Both recorded it: a lost section is a change like any other.
    rows = diff_states(
        {17001: CaseState("active", case_content(before))},
        {17001: CaseState("active", case_content(lost))},
    )
    assert [r.field for r in rows] == ["title", "sections_present"]
    assert rows[1].new_value == json.dumps(list(PAGE_PARTS[:-1])).replace(" ", "")


def test_codebook_covers_every_column_with_labels_codes_and_notes(
    warehouse: Path, released: Path
) -> None:
    book = _codebook(released)
    with reading(warehouse) as con:
        for table in TABLES:
            for column, dtype, comment in _columns(con, table):
                row = book[(table, column)]
                assert (row["type"], row["label"]) == (dtype, comment)
                assert row["obtained_from"], (table, column)
        null_share = con.execute(
            "SELECT round(100.0 * count(*) FILTER (WHERE co_governance IS NULL) / count(*), 2) "
            "FROM cases_wide"
        ).fetchone()[0]
    assert float(book[("cases_wide", "co_governance")]["missing_pct"]) == null_share > 0
    formalization = book[("cases_wide", "formalization")]
    assert formalization["allowed_codes"].split(" | ")[0] == "constitution_or_legislation"
    assert RAW_FORMALIZATION in formalization["note"]
    assert "101 = " + RAW_FORMALIZATION in formalization["stata_values"]
    text = (released / "codebook.md").read_text(encoding="utf-8")
    for table in TABLES:
        assert f"\n## {table}\n" in text
    renamed = [r for r in book.values() if r["stata_name"] and r["stata_name"] != r["column_name"]]
    assert renamed  # cases_wide has names longer than Stata's 32 characters
    for row in renamed:
        assert f"| {row['column_name']} | {row['stata_name']} |" in text
    assert "Pogrebinschi, Thamy. (2017). LATINNO Dataset. Berlin: WZB." in text
    assert f"cut to 32,767 bytes in the SPSS file for 1 case ({LONG_ID})" in text


def test_datapackage_validates_and_its_hashes_match(released: Path) -> None:
    import frictionless

    report = frictionless.validate(released / "datapackage.json")
    assert report.valid, report.flatten(["taskName", "type", "note"])[:5]
    package = json.loads((released / "datapackage.json").read_text(encoding="utf-8"))
    assert package["version"] == VERSION
    assert package["created"] == DATA_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert package["citation"] == "Pogrebinschi, Thamy. (2017). LATINNO Dataset. Berlin: WZB."
    assert "licenses" not in package  # none claimed unless release.license is set
    assert [r["run_id"] for r in package["sources"][0]["runs"]] == ["r1", "r2"]
    assert any(c["role"] == "author" for c in package["contributors"])
    paths = set()
    for resource in package["resources"]:
        data = (released / resource["path"]).read_bytes()
        assert resource["bytes"] == len(data)
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert resource["schema"]["fields"]
        paths.add(resource["path"])
    data_files = {p.relative_to(released).as_posix() for p in released.rglob("*.*")}
    assert {p for p in data_files if p.endswith((".csv", ".parquet", ".dta", ".sav"))} == paths
    cff = yaml.safe_load((released / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["version"] == VERSION and cff["date-released"] == date.fromisoformat(VERSION)
    assert cff["preferred-citation"]["authors"] == [
        {"family-names": "Pogrebinschi", "given-names": "Thamy"}
    ]
    assert cff["preferred-citation"]["year"] == 2017
    assert cff["references"][0]["type"] == "software"
    # The pipeline that made it: the installed version (package metadata, issue 22).
    pipeline = metadata_version("latinno-pipeline")
    assert cff["references"][0]["version"] == pipeline
    assert {"title": f"latinno-pipeline {pipeline}", "role": "wrangler"}.items() <= next(
        c for c in package["contributors"] if c["role"] == "wrangler"
    ).items()


def test_excel_dialect_and_a_licence(warehouse: Path, tmp_path: Path) -> None:
    import frictionless

    result = write_release(warehouse, tmp_path, csv_dialect="excel", license="CC-BY-4.0")
    for path in result.path.glob("**/*.csv"):
        assert path.read_bytes().startswith(b"\xef\xbb\xbf"), path
    with open(result.path / "csv" / "cases_wide.csv", encoding="utf-8-sig", newline="") as f:
        by_id = {int(r["case_id"]): r for r in csv.DictReader(f)}
    assert by_id[LONG_ID]["title"] == "'" + FORMULA_TITLE  # Excel shows it, never runs it
    assert by_id[RAW_ID]["title"] == "Mesa de diálogo — ñandú, ação"
    report = frictionless.validate(result.path / "datapackage.json")
    assert report.valid, report.flatten(["taskName", "type", "note"])[:5]
    package = json.loads((result.path / "datapackage.json").read_text(encoding="utf-8"))
    assert package["licenses"] == [{"name": "CC-BY-4.0", "title": "CC-BY-4.0"}]
    cff = yaml.safe_load((result.path / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["license"] == "CC-BY-4.0"
    assert "byte-order mark (`--csv-dialect excel`)" in (result.path / "codebook.md").read_text(
        encoding="utf-8"
    )


def test_same_data_gives_a_byte_identical_release(warehouse: Path, tmp_path: Path) -> None:
    first = write_release(warehouse, tmp_path / "a")
    time.sleep(1.1)  # the SPSS header would carry another second if it read the clock
    second = write_release(warehouse, tmp_path / "b")
    files_a = {
        p.relative_to(first.path): p.read_bytes() for p in first.path.rglob("*") if p.is_file()
    }
    files_b = {
        p.relative_to(second.path): p.read_bytes() for p in second.path.rglob("*") if p.is_file()
    }
    assert len(files_a) >= 30
    assert files_a.keys() == files_b.keys()
    for name, data in files_a.items():
        assert data == files_b[name], name
    # The files stamp the data's time, not the clock's.
    dta = files_a[Path("stata/latinno_cases.dta")]
    assert b"<timestamp>\x1103 Mar 2026 03:05</timestamp>" in dta[:512]
    assert files_a[Path("spss/latinno_cases.sav")][92:109] == b"03 Mar 2603:05:00"
    # Rewriting the same data is a no-op: nothing written, nothing touched.
    before = {p: p.stat().st_mtime_ns for p in first.path.rglob("*")}
    again = write_release(warehouse, tmp_path / "a")
    assert (again.written, again.path) == (False, first.path)
    assert {p: p.stat().st_mtime_ns for p in first.path.rglob("*")} == before


def test_versions_of_one_day_and_refused_overwrites(tmp_path: Path) -> None:
    db = build_warehouse(tmp_path / "wh.duckdb")
    out = tmp_path / "releases"
    first = write_release(db, out)
    assert first.version == VERSION and first.previous is None
    # Another run the same day changes one case: a second release of that date.
    run(db, "r3", day(1) + timedelta(hours=2), [make_record(RAW_ID, title="Renamed")])
    second = write_release(db, out)
    assert (second.version, second.previous) == (f"{VERSION}.1", VERSION)
    assert second.counts is not None and (second.counts.changed, second.counts.fields) == (1, 5)
    with open(second.path / "changes.csv", encoding="utf-8", newline="") as handle:
        changed = {(r["case_id"], r["field"]) for r in csv.DictReader(handle)}
    # make_record's values replace the edge case's: only the fields that differ are listed.
    fields = {"title", "formalization", "frequency", "co_governance", "means"}
    assert changed == {(str(RAW_ID), f) for f in fields}
    assert write_release(db, out).written is False  # identical: nothing to do
    listing = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(ReleaseError) as refused:
        write_release(db, out, version=VERSION)
    message = str(refused.value)
    assert "\n" not in message and VERSION in message and "different content" in message
    with pytest.raises(ReleaseError, match="--version"):
        write_release(db, out, version="../escape")
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == listing  # nothing half-written
    named = write_release(db, out, version="v2-final")
    assert named.written and named.previous == f"{VERSION}.1"


@pytest.mark.process
def test_bad_input_is_one_line_and_writes_nothing(warehouse: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    done = latinno("release", "--db", str(warehouse), "--out", str(blocker / "releases"))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("latinno: error: ") and str(blocker) in lines[0]
    assert lines[1:] == ["NO_PREFECT"]

    empty = tmp_path / "empty.duckdb"
    with writing(empty):
        pass
    done = latinno("release", "--db", str(empty), "--out", str(tmp_path / "r"))
    assert done.returncode == 1
    assert "holds no cases" in done.stderr and done.stderr.count("\n") == 2
    assert not (tmp_path / "r").exists()  # not even the folder it would have made

    out = tmp_path / "releases"
    done = latinno("release", "--db", str(warehouse), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote release {VERSION} to {out / VERSION} (")
    assert "NO_PREFECT" in done.stderr
    edited = out / VERSION / "csv" / "countries.csv"
    edited.write_bytes(edited.read_bytes().replace(b"Peru", "Perú".encode()))
    listing = sorted(p.relative_to(out) for p in out.rglob("*"))
    done = latinno("release", "--db", str(warehouse), "--out", str(out))
    assert done.returncode == 1
    assert "csv/countries.csv does not match SHA256SUMS" in done.stderr
    assert done.stderr.count("\n") == 2  # the error and NO_PREFECT
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == listing


def test_stata_names_are_valid_unique_and_readable() -> None:
    columns = [
        "case_id",
        "in",
        "with",
        "x" * 40,
        "x" * 40 + "y",
        "2nd",
        "a-b",
        "A_B",
        "participant_types_citizens",
        "participant_types_private_stakeholders",
        "policy_cycle_formulation_and_decision_making",
        "policy_cycle_agenda_setting",
    ]
    names = stata_names(columns)
    assert all(STATA_NAME.match(n) for n in names.values()), names
    assert len({n.lower() for n in names.values()}) == len(columns)
    assert names["case_id"] == "case_id"
    assert names["in"] != "in" and names["with"] != "with"
    # A family is renamed as a whole when one member is too long, so names stay parallel.
    assert names["participant_types_citizens"] == "ptype_citizens"
    assert names["participant_types_private_stakeholders"] == "ptype_private_stakeholders"
    assert names["policy_cycle_agenda_setting"] == "cycle_agenda_setting"
    assert names["policy_cycle_formulation_and_decision_making"] == "cycle_form_decision_making"


def test_release_of_a_warehouse_stamps_its_own_time(tmp_path: Path) -> None:
    """The version and 'created' come from the runs, never from the clock."""
    db = tmp_path / "old.duckdb"
    moment = datetime(2019, 7, 14, 23, 59, 58)
    run(db, "old", moment, [make_record(17001)])
    result = write_release(db, tmp_path / "out")
    assert result.version == "2019-07-15"  # the run finished five minutes later, in UTC
    package = json.loads((result.path / "datapackage.json").read_text(encoding="utf-8"))
    assert package["created"] == "2019-07-15T00:04:58Z"
