"""Citable exports: cases_wide, the long tables, vocabulary, countries and a codebook, as Parquet
(zstd) and/or CSV, described by a Frictionless ``datapackage.json``.

Determinism: rows are ordered by each table's key, columns keep table order, nothing written
depends on the clock or the machine, so the same data gives byte-identical files. CSV follows
the project's one convention (``warehouse.csvfile``, the same as a release's): values as they
are, booleans 1/0, NULL an empty cell (a boolean of a list the page did not show is NULL:
unknown, not 0); ``--csv-dialect excel`` adds the spreadsheet guards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from latinno.errors import ExportError
from latinno.files import write_atomically
from latinno.vocabulary import COUNTRIES, LANGS
from warehouse.csvfile import CsvDialect, table_csv
from warehouse.datapackage import SchemaField, field_type, resource, schema
from warehouse.views import allowed_values

Format = Literal["parquet", "csv", "all"]


@dataclass(frozen=True, slots=True)
class ExportTable:
    name: str
    order_by: tuple[str, ...]
    description: str
    exclude: tuple[str, ...] = ()  # loader bookkeeping researchers do not need


EXPORT_TABLES: tuple[ExportTable, ...] = (
    ExportTable("cases_wide", ("case_id",), "One row per case, a boolean column per code."),
    ExportTable(
        "cases",
        ("case_id",),
        "One row per case, codes of single-valued fields.",
        exclude=("quick_hash",),
    ),
    ExportTable(
        "case_participant_types", ("case_id", "participant_type"), "Participant types per case."
    ),
    ExportTable("case_means", ("case_id", "means"), "Means per case."),
    ExportTable("case_ends", ("case_id", "ends"), "Ends per case."),
    ExportTable("case_policy_cycle", ("case_id", "stage"), "Policy cycle stages per case."),
    ExportTable("case_texts", ("case_id", "lang"), "Title and description per language."),
    ExportTable("case_sources", ("case_id", "position"), "Sources listed on the case pages."),
    ExportTable("vocabulary", ("field", "position"), "Codes and their labels."),
    ExportTable("countries", ("id_prefix",), "Countries and case id prefixes."),
)
CODEBOOK = ExportTable(
    "codebook",
    ("table_name", "position"),
    "Every exported column: type, label, allowed codes, percent missing.",
)


def _allowed_codes() -> dict[str, tuple[str, ...]]:
    """Allowed values by column name, shared by every table that has the column: the coded
    columns of the record's spec (views.allowed_values), and the pipeline's own."""
    allowed = dict(allowed_values())
    allowed["status"] = ("active", "withdrawn")
    allowed["lang"] = LANGS
    allowed["country_code"] = tuple(c.code for c in COUNTRIES)
    return allowed


def _columns(con: duckdb.DuckDBPyConnection, spec: ExportTable) -> list[tuple[str, str, str]]:
    """(column, DuckDB type, comment) of the exported columns, in table order."""
    rows = con.execute(
        "SELECT column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND table_name = ? ORDER BY column_index",
        [spec.name],
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows if r[0] not in spec.exclude]


def _fetch(con: duckdb.DuckDBPyConnection, spec: ExportTable) -> pa.Table:
    columns = ", ".join(f'"{c}"' for c, _, _ in _columns(con, spec))
    order = ", ".join(spec.order_by)
    return con.sql(f"SELECT {columns} FROM {spec.name} ORDER BY {order}").to_arrow_table()


def codebook(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """One row per exported column: table, position, column, type, label, codes, % missing."""
    allowed = _allowed_codes()
    rows: dict[str, list[Any]] = {
        k: [] for k in ("table_name", "position", "column_name", "type", "label", "allowed_codes")
    }
    missing: list[float] = []
    for spec in EXPORT_TABLES:
        columns = _columns(con, spec)
        counts = ", ".join(f'count("{c}")' for c, _, _ in columns)
        total, *present = con.execute(f"SELECT count(*), {counts} FROM {spec.name}").fetchall()[0]
        for position, ((column, dtype, comment), have) in enumerate(
            zip(columns, present, strict=True), start=1
        ):
            rows["table_name"].append(spec.name)
            rows["position"].append(position)
            rows["column_name"].append(column)
            rows["type"].append(dtype)
            rows["label"].append(comment)
            # Booleans as a CSV cell holds them (and Stata/SPSS of a release).
            codes = ("1", "0") if dtype == "BOOLEAN" else allowed.get(column, ())
            rows["allowed_codes"].append(" | ".join(codes) or None)
            missing.append(round(100.0 * (total - have) / total, 2) if total else 0.0)
    table = pa.table(
        {
            "table_name": pa.array(rows["table_name"], pa.string()),
            "position": pa.array(rows["position"], pa.int32()),
            "column_name": pa.array(rows["column_name"], pa.string()),
            "type": pa.array(rows["type"], pa.string()),
            "label": pa.array(rows["label"], pa.string()),
            "allowed_codes": pa.array(rows["allowed_codes"], pa.string()),
            "missing_pct": pa.array(missing, pa.float64()),
        }
    )
    return table


_CODEBOOK_LABELS = {
    "table_name": "Exported table (file name without extension).",
    "position": "Position of the column in the table, from 1.",
    "column_name": "Column name.",
    "type": "DuckDB type of the column (BOOLEAN: 1/0 in CSV).",
    "label": "What the column holds.",
    "allowed_codes": "Allowed values, separated by ' | ' (empty: free text or number).",
    "missing_pct": "Percent of rows where the column is empty (NULL).",
}


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", store_schema=True)
    data: bytes = sink.getvalue().to_pybytes()  # pyarrow is untyped (pyproject.toml)
    return data


def export_file_names() -> set[str]:
    """Every file name an export may write, in any format (what a later export may remove)."""
    names = {"datapackage.json"}
    for spec in (*EXPORT_TABLES, CODEBOOK):
        names.update(f"{spec.name}.{kind}" for kind in ("parquet", "csv"))
    return names


def _previous_export(out_dir: Path) -> dict[str, str]:
    """File name -> sha256 of each file the folder's datapackage.json says an export wrote."""
    try:
        package = json.loads((out_dir / "datapackage.json").read_text(encoding="utf-8"))
        resources = package["resources"]
        return {
            r["path"]: r["hash"].removeprefix("sha256:")
            for r in resources
            if isinstance(r.get("path"), str) and str(r.get("hash", "")).startswith("sha256:")
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _stale_files(out_dir: Path, keep: set[str], previous: dict[str, str]) -> list[Path]:
    """Files of an earlier export (or its leftover temporaries) that this one does not write.

    Only what an export wrote is touched: a file named as ours is removed only when the
    earlier export's datapackage.json lists it with the same bytes (``previous``); a
    researcher's own ``cases.csv`` stays, and links are never followed or removed.
    """
    ours = export_file_names()
    temporaries = {f".{name}.tmp" for name in ours}
    stale = []
    for entry in out_dir.iterdir():
        if entry.name in keep or entry.is_symlink() or not entry.is_file():
            continue
        wrote = entry.name in ours and entry.name in previous
        if entry.name in temporaries or (
            wrote and hashlib.sha256(entry.read_bytes()).hexdigest() == previous[entry.name]
        ):
            stale.append(entry)
    return sorted(stale)


def export(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    fmt: Format = "all",
    dialect: CsvDialect = "plain",
) -> list[Path]:
    """Write every export table in ``fmt`` plus datapackage.json; returns the files written.

    Files of an earlier export that this one does not write (another format, a table no longer
    exported) are removed before datapackage.json is written, so the folder holds exactly what
    datapackage.json describes, plus any file the exporter never writes. A folder that cannot
    be written is ExportError naming it.
    """
    try:
        return _export(con, out_dir, fmt, dialect)
    except OSError as exc:
        if isinstance(exc, NotADirectoryError | FileExistsError):
            problem = "cannot export here: it is a file, or lies under one, not a folder"
        elif isinstance(exc, PermissionError):
            problem = "cannot write the export folder: permission denied"
        else:
            problem = f"cannot write the export folder: {exc.strerror or exc}"
        raise ExportError(
            str(out_dir), f"{problem}; choose another folder with --out (or export.dir)"
        ) from None


def _schema_fields(
    columns: list[tuple[str, str, str]], allowed: dict[str, tuple[str, ...]]
) -> list[SchemaField]:
    """Fields with an enum only where every value is one of the codes: a text column, not a
    list (a JSON array in CSV) nor a boolean."""
    fields = []
    for column, dtype, label in columns:
        codes = allowed.get(column, ()) if field_type(dtype) == "string" else ()
        fields.append(SchemaField(column, dtype, label, () if dtype.endswith("]") else codes))
    return fields


def _export(
    con: duckdb.DuckDBPyConnection, out_dir: Path, fmt: Format, dialect: CsvDialect
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = _previous_export(out_dir)
    formats = ("parquet", "csv") if fmt == "all" else (fmt,)
    allowed = _allowed_codes()
    written: list[Path] = []
    resources: list[dict[str, Any]] = []
    specs: Iterable[ExportTable] = (*EXPORT_TABLES, CODEBOOK)
    for spec in specs:
        if spec is CODEBOOK:
            table = codebook(con)
            columns = [
                (n, str(_duck_type(table.schema.field(n).type)), _CODEBOOK_LABELS[n])
                for n in table.column_names
            ]
        else:
            table = _fetch(con, spec)
            columns = _columns(con, spec)
        fields = _schema_fields(columns, allowed if spec is not CODEBOOK else {})
        for kind in formats:
            data = table_csv(table, dialect) if kind == "csv" else _parquet_bytes(table)
            path = out_dir / f"{spec.name}.{kind}"
            write_atomically(path, data)
            written.append(path)
            resources.append(
                resource(
                    f"{spec.name}-{kind}" if fmt == "all" else spec.name,
                    path.name,
                    data,
                    description=spec.description,
                    fmt=kind,
                    mediatype="text/csv" if kind == "csv" else "application/vnd.apache.parquet",
                    table_schema=schema(fields, spec.order_by, csv_booleans=kind == "csv"),
                    bom=dialect == "excel",
                )
            )
    package = {
        "profile": "data-package",
        "name": "latinno",
        "title": "LATINNO: Innovations for Democracy in Latin America (case data)",
        "description": "Cases of democratic innovation published at https://latinno.net, "
        "coded with the vocabulary in vocabulary.*; see codebook.* for every column.",
        "sources": [
            {"title": "LATINNO (WZB Berlin Social Science Center)", "path": "https://latinno.net"}
        ],
        "resources": resources,
    }
    path = out_dir / "datapackage.json"
    for stale in _stale_files(out_dir, {p.name for p in written} | {path.name}, previous):
        stale.unlink()
    write_atomically(
        path, (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    )
    written.append(path)
    return written


def _duck_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_integer(arrow_type):
        return "INTEGER"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    return "VARCHAR"
