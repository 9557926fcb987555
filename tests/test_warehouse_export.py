"""Exports read back with pyarrow and the csv module equal the warehouse tables."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from _warehouse_support import day, make_record

from latinno.record import PAGE_PARTS, Source
from warehouse.db import connect
from warehouse.export import CODEBOOK, EXPORT_TABLES, export
from warehouse.load import load_records, mark_withdrawn

FORMULA_TITLE = '=HYPERLINK("http://evil.example","click")'
WITHOUT_MEANS = tuple(p for p in PAGE_PARTS if p != "means")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "wh.duckdb"
    con = connect(path)
    records = [
        make_record(17001, title=FORMULA_TITLE, description='-5 members, "quoted"\nsecond line'),
        make_record(17001, "es", title="@Foro", description="+ más"),
        make_record(
            5099, country_code="CO", co_governance=None, means=(), sources=(Source("=1+1", "u"),)
        ),
        make_record(1003, country_code="AR", title="Ação cidadã — ñandú"),
        # The page showed no Means section: every means_* is unknown, not "no".
        make_record(2004, country_code="BO", means=(), sections_present=WITHOUT_MEANS),
    ]
    load_records(con, records, run_id="r1", seen_at=day(0), primary_lang="en")
    mark_withdrawn(con, [1003], day(1))
    con.close()
    return path


def _read_only(path: Path) -> duckdb.DuckDBPyConnection:
    return connect(path, read_only=True)


def _export(warehouse: Path, out: Path, fmt: str = "all") -> list[Path]:
    con = _read_only(warehouse)
    try:
        return export(con, out, fmt)  # type: ignore[arg-type]
    finally:
        con.close()


def _expected_cell(value: object) -> str:
    """What a CSV cell must read as, written independently of the exporter."""
    if value is None:
        return ""
    if value is True or value is False:
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    if isinstance(value, list):
        return "[" + ",".join(f'"{v}"' for v in value) + "]"
    return str(value)  # as it is: no formula guard unless --csv-dialect excel


def test_same_data_gives_byte_identical_files(warehouse: Path, tmp_path: Path) -> None:
    first = _export(warehouse, tmp_path / "a")
    second = _export(warehouse, tmp_path / "b")
    names = sorted(p.name for p in first)
    assert names == sorted(p.name for p in second)
    expected = {f"{t.name}.{k}" for t in (*EXPORT_TABLES, CODEBOOK) for k in ("csv", "parquet")}
    assert set(names) == expected | {"datapackage.json"}
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert not list((tmp_path / "a").glob(".*"))  # no temporary files left behind


def test_parquet_and_csv_read_back_equal_the_tables(warehouse: Path, tmp_path: Path) -> None:
    _export(warehouse, tmp_path)
    con = _read_only(warehouse)
    try:
        for spec in EXPORT_TABLES:
            order = ", ".join(spec.order_by)
            columns = "*" + (f" EXCLUDE ({', '.join(spec.exclude)})" if spec.exclude else "")
            query = f"SELECT {columns} FROM {spec.name} ORDER BY {order}"
            expected = con.sql(query).to_arrow_table()
            parquet = pq.read_table(tmp_path / f"{spec.name}.parquet")
            assert parquet.equals(expected), spec.name
            assert (
                pq.ParquetFile(tmp_path / f"{spec.name}.parquet")
                .metadata.row_group(0)
                .column(0)
                .compression.lower()
                == "zstd"
            )
            with open(tmp_path / f"{spec.name}.csv", encoding="utf-8", newline="") as handle:
                read = list(csv.reader(handle))
            assert read[0] == expected.column_names, spec.name
            want = [[_expected_cell(v) for v in row.values()] for row in expected.to_pylist()]
            assert read[1:] == want, spec.name
            assert len(read) - 1 == expected.num_rows > 0
    finally:
        con.close()


def test_csv_cells_carry_values_as_they_are_and_iso(warehouse: Path, tmp_path: Path) -> None:
    _export(warehouse, tmp_path, "csv")
    assert not list(tmp_path.glob("*.parquet"))
    raw = (tmp_path / "cases_wide.csv").read_bytes()
    assert raw.startswith(b"case_id,")  # no byte-order mark in plain CSV
    with open(tmp_path / "cases_wide.csv", encoding="utf-8", newline="") as handle:
        by_id = {row["case_id"]: row for row in csv.DictReader(handle)}
    assert by_id["17001"]["title"] == FORMULA_TITLE
    assert by_id["17001"]["description"] == '-5 members, "quoted"\nsecond line'
    assert by_id["17001"]["first_seen_at"] == "2026-03-02T03:00:00Z"
    assert by_id["17001"]["means_deliberation"] == "1"
    assert by_id["5099"]["co_governance"] == ""
    assert by_id["5099"]["means_deliberation"] == "0"
    assert by_id["1003"]["status"] == "withdrawn"
    assert by_id["1003"]["title"] == "Ação cidadã — ñandú"
    raw = (tmp_path / "case_texts.csv").read_bytes()
    assert raw.startswith(b"case_id,lang,title,description,url,")
    assert b",@Foro," in raw and ",+ más,".encode() in raw


def test_the_excel_dialect_guards_formulas_as_a_release_does(
    warehouse: Path, tmp_path: Path
) -> None:
    con = _read_only(warehouse)
    try:
        export(con, tmp_path, "csv", "excel")
    finally:
        con.close()
    for path in tmp_path.glob("*.csv"):
        assert path.read_bytes().startswith(b"\xef\xbb\xbf"), path
    with open(tmp_path / "cases_wide.csv", encoding="utf-8-sig", newline="") as handle:
        by_id = {row["case_id"]: row for row in csv.DictReader(handle)}
    assert by_id["17001"]["title"] == "'" + FORMULA_TITLE
    assert by_id["17001"]["description"] == '\'-5 members, "quoted"\nsecond line'
    assert by_id["1003"]["title"] == "Ação cidadã — ñandú"
    assert by_id["17001"]["means_deliberation"] == "1"


@pytest.mark.parametrize(("fmt", "dialect"), [("all", "plain"), ("csv", "plain"),
                                               ("parquet", "plain"), ("csv", "excel")])  # fmt: skip
def test_the_datapackage_is_valid_for_frictionless_in_every_format(
    warehouse: Path, tmp_path: Path, fmt: str, dialect: str
) -> None:
    import frictionless

    con = _read_only(warehouse)
    try:
        export(con, tmp_path, fmt, dialect)  # type: ignore[arg-type]
    finally:
        con.close()
    report = frictionless.validate(tmp_path / "datapackage.json")
    assert report.valid, report.flatten(["taskName", "type", "note"])[:5]
    package = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    assert len(package["resources"]) == (22 if fmt == "all" else 11)
    if fmt != "parquet":
        # Frictionless read every CSV row against the schema (types, enums, keys), not only
        # the hashes: a wrong schema fails here.
        assert sum(task.stats.get("rows") or 0 for task in report.tasks) > 20


def test_datapackage_describes_every_file(warehouse: Path, tmp_path: Path) -> None:
    written = _export(warehouse, tmp_path)
    package = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    resources = {r["path"]: r for r in package["resources"]}
    assert set(resources) == {p.name for p in written} - {"datapackage.json"}
    for name, resource in resources.items():
        data = (tmp_path / name).read_bytes()
        assert resource["bytes"] == len(data)
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        if name.endswith(".csv"):
            header = data.decode("utf-8").split("\r\n", 1)[0].split(",")
            assert [f["name"] for f in resource["schema"]["fields"]] == header
    fields = {f["name"]: f for f in resources["cases.csv"]["schema"]["fields"]}
    assert fields["frequency"]["constraints"]["enum"] == ["single", "sporadic", "regular"]
    assert fields["first_seen_at"]["type"] == "datetime"
    assert fields["case_id"]["description"].startswith("LATINNO case id")


def test_codebook_has_labels_codes_and_missing_share(warehouse: Path, tmp_path: Path) -> None:
    _export(warehouse, tmp_path, "parquet")
    book = pq.read_table(tmp_path / "codebook.parquet").to_pylist()
    by_key = {(r["table_name"], r["column_name"]): r for r in book}
    co = by_key[("cases", "co_governance")]
    assert (co["type"], co["allowed_codes"], co["missing_pct"]) == (
        "BOOLEAN",
        "1 | 0",  # as CSV holds them
        25.0,  # 1 of 4 cases
    )
    means = by_key[("case_means", "means")]
    assert means["allowed_codes"] == (
        "deliberation | direct_voting | e_participation | citizen_representation"
    )
    assert by_key[("cases_wide", "means_deliberation")]["label"].startswith("Means: Deliberation")
    assert by_key[("cases", "title")]["allowed_codes"] is None
    assert ("cases", "quick_hash") not in by_key
    assert all(r["label"] for r in book)
    con = _read_only(warehouse)
    try:
        for spec in EXPORT_TABLES:
            count = con.execute(
                "SELECT count(*) FROM duckdb_columns() WHERE table_name = ?", [spec.name]
            ).fetchone()[0]
            exported = sum(1 for r in book if r["table_name"] == spec.name)
            assert exported == count - len(spec.exclude)
    finally:
        con.close()


def test_files_of_an_earlier_export_that_this_one_does_not_write_are_removed(
    warehouse: Path, tmp_path: Path
) -> None:
    out = tmp_path / "exports"
    _export(warehouse, out, "all")
    (out / "notes.txt").write_text("my own notes", encoding="utf-8")  # not the exporter's
    (out / ".cases.csv.tmp").write_bytes(b"left by an interrupted export")
    written = _export(warehouse, out, "csv")
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    described = {r["path"] for r in package["resources"]}
    present = {p.name for p in out.iterdir()}
    # Exactly what datapackage.json describes, plus the file the exporter never writes.
    assert present == described | {"datapackage.json", "notes.txt"}
    assert {p.name for p in written} == described | {"datapackage.json"}
    assert not list(out.glob("*.parquet"))
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my own notes"


def test_export_never_writes_through_a_link_nor_deletes_what_it_did_not_write(
    warehouse: Path, tmp_path: Path
) -> None:
    # Issue 24, 14: a link planted at the temporary name was written through, and a
    # researcher's own cases.csv was deleted by `export --format parquet`.
    out = tmp_path / "exports"
    out.mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("keep me", encoding="utf-8")
    (out / ".cases_wide.parquet.tmp").symlink_to(target)
    (out / "cases_wide.csv").write_text("my own table\n", encoding="utf-8")
    _export(warehouse, out, "parquet")
    assert target.read_text(encoding="utf-8") == "keep me"
    assert (out / "cases_wide.csv").read_text(encoding="utf-8") == "my own table\n"
    assert pq.read_table(out / "cases_wide.parquet").num_rows > 0
    # A file an export wrote but someone changed since is theirs now: kept as well.
    _export(warehouse, out, "csv")
    (out / "case_texts.csv").write_text("edited by hand\n", encoding="utf-8")
    _export(warehouse, out, "parquet")
    assert (out / "case_texts.csv").read_text(encoding="utf-8") == "edited by hand\n"
    assert not (out / "case_means.csv").exists()  # ours and unchanged: removed as before


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latinno.cli", *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=60,
    )


def _writable(folder: Path) -> bool:
    probe = folder / ".latinno-probe"
    try:
        probe.write_bytes(b"")
    except PermissionError:
        return False
    probe.unlink()
    return True


@pytest.mark.process
def test_export_into_a_file_or_an_unwritable_folder_is_one_line(
    warehouse: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way", encoding="utf-8")
    in_the_way = "cannot export here: it is a file, or lies under one, not a folder"
    targets = [(blocker / "exports", in_the_way), (blocker, in_the_way)]
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if _writable(locked):  # root writes anyway: a folder even root may not write
        locked = Path("/sys")
    if locked.is_dir() and not _writable(locked):
        targets.append((locked, "cannot write the export folder: permission denied"))
    for out, problem in targets:
        result = _cli("export", "--out", str(out), "--db", str(warehouse))
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            f"latinno: error: {out}: {problem}; choose another folder with --out (or export.dir)"
        ]
    assert len(targets) == 3, "no unwritable folder to try on this machine"
    assert blocker.read_text(encoding="utf-8") == "in the way"


def test_a_list_the_page_did_not_show_is_null_in_every_export(
    warehouse: Path, tmp_path: Path
) -> None:
    _export(warehouse, tmp_path)
    wide = pq.read_table(tmp_path / "cases_wide.parquet").to_pylist()
    by_id = {row["case_id"]: row for row in wide}
    means = [c for c in by_id[2004] if c.startswith("means_")]
    assert len(means) == 4 and {by_id[2004][c] for c in means} == {None}
    assert {by_id[5099][c] for c in means} == {False}  # shown, none applies: "no"
    assert None not in {v for k, v in by_id[2004].items() if k.startswith(("ends_", "policy_"))}
    with open(tmp_path / "cases_wide.csv", encoding="utf-8", newline="") as handle:
        rows = {row["case_id"]: row for row in csv.DictReader(handle)}
    assert {rows["2004"][c] for c in means} == {""}  # an empty cell, never 0
    assert rows["5099"]["means_deliberation"] == "0"
    assert rows["2004"]["ends_accountability"] == "1"
    with open(tmp_path / "cases.csv", encoding="utf-8", newline="") as handle:
        cases = {row["case_id"]: row for row in csv.DictReader(handle)}
    assert json.loads(cases["2004"]["sections_present"]) == list(WITHOUT_MEANS)
    # The codebook counts the unknown as missing, and only there.
    book = {
        (r["table_name"], r["column_name"]): r
        for r in pq.read_table(tmp_path / "codebook.parquet").to_pylist()
    }
    assert {book[("cases_wide", c)]["missing_pct"] for c in means} == {25.0}
    assert book[("cases_wide", "ends_accountability")]["missing_pct"] == 0.0
    assert book[("cases_wide", "means_deliberation")]["label"].endswith("NULL: Means not shown).")
    parts = book[("cases", "sections_present")]
    assert (parts["type"], parts["allowed_codes"]) == ("VARCHAR[]", " | ".join(PAGE_PARTS))
    package = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    [resource] = [r for r in package["resources"] if r["path"] == "cases.csv"]
    fields = {f["name"]: f for f in resource["schema"]["fields"]}
    assert fields["sections_present"]["type"] == "array"
