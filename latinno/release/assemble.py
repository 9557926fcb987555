"""Every file of a release, built in memory from a snapshot of the warehouse.

``build_files`` makes what does not depend on the release's name (tables, Stata/SPSS, the
codebook table, the report); ``name_files`` adds what does (CHANGES.md against the previous
release, changes.csv, codebook.md, CITATION.cff, datapackage.json, SHA256SUMS).
"""

from __future__ import annotations

import importlib
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from latinno import pipeline_version
from latinno.release.changes import changes_csv, changes_md
from latinno.release.codebook import (
    CHANGES_COLUMNS,
    CODEBOOK_LABELS,
    CODEBOOK_SPEC,
    CODEBOOK_TYPES,
    codebook_table,
    column_codes,
)
from latinno.release.codebook_text import BookContext, codebook_md
from latinno.release.folders import SUMS, Release, sha256sums
from latinno.release.package import CITATION, citation_cff, datapackage, stat_schema
from latinno.release.snapshot import KEYLESS, Snapshot
from latinno.release.states import (
    Counts,
    count_changes,
    current_states,
    diff_states,
    release_states,
)
from latinno.release.statfiles import StatFiles, build_stat_files
from latinno.release.tabular import table_parquet
from warehouse.csvfile import CsvDialect, table_csv
from warehouse.datapackage import SchemaField, resource, schema

STATA_PATH = "stata/latinno_cases.dta"
SPSS_PATH = "spss/latinno_cases.sav"
REPORT_PATH = "report.html"
_ENUM_COLUMNS = frozenset({"status", "lang", "country_code", "change"})


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def report_file(db_path: Path, lock_timeout_s: float) -> tuple[bytes | None, str | None]:
    """The HTML report when this pipeline has one (a soft dependency), else why not."""
    try:
        module: Any = importlib.import_module("latinno.report")
    except ModuleNotFoundError as exc:
        if exc.name != "latinno.report":
            raise
        return None, "the HTML report (this pipeline has no `latinno report` command)."
    write = getattr(module, "write_report", None)
    if write is None:
        return None, "the HTML report (the report module offers no write_report)."
    with tempfile.TemporaryDirectory(prefix="latinno-release-report-") as scratch:
        path = write(db_path, Path(scratch) / REPORT_PATH, lock_timeout_s=lock_timeout_s)
        return Path(path).read_bytes(), None


@dataclass(slots=True)
class Built:
    """Files that do not depend on the version name, and what the rest needs."""

    snapshot: Snapshot
    stat: StatFiles
    files: dict[str, bytes]
    resources: list[dict[str, Any]]
    report_note: str | None
    dialect: CsvDialect


def _fields(snapshot: Snapshot, table: str) -> list[SchemaField]:
    data = snapshot.tables[table]
    fields = []
    for c in data.columns:
        codes = column_codes(snapshot, c.name, c.type)
        enum = codes.codes if codes and c.name in _ENUM_COLUMNS else ()
        fields.append(SchemaField(c.name, c.type, c.label, enum))
    return fields


def _table_files(
    name: str,
    description: str,
    table: Any,
    fields: list[SchemaField],
    key: tuple[str, ...],
    dialect: CsvDialect,
    files: dict[str, bytes],
    resources: list[dict[str, Any]],
) -> None:
    csv_path, parquet_path = f"csv/{name}.csv", f"parquet/{name}.parquet"
    files[csv_path] = table_csv(table, dialect)
    files[parquet_path] = table_parquet(table)
    resources.append(
        resource(
            f"{name}-csv",
            csv_path,
            files[csv_path],
            description=description,
            fmt="csv",
            mediatype="text/csv",
            table_schema=schema(fields, key, csv_booleans=True),
            bom=dialect == "excel",
        )
    )
    resources.append(
        resource(
            f"{name}-parquet",
            parquet_path,
            files[parquet_path],
            description=description,
            fmt="parquet",
            mediatype="application/vnd.apache.parquet",
            table_schema=schema(fields, key, csv_booleans=False),
        )
    )


def build_files(
    snapshot: Snapshot, report: bytes | None, report_note: str | None, dialect: CsvDialect
) -> Built:
    files: dict[str, bytes] = {}
    resources: list[dict[str, Any]] = []
    day = snapshot.data_time.strftime("%Y-%m-%d")
    stat = build_stat_files(
        snapshot.tables["cases_wide"],
        snapshot.vocabulary,
        snapshot.data_time,
        file_label=f"LATINNO Dataset: cases_wide, data as of {day}",
        note=f"Cite as: {CITATION} See codebook.md of the release.",
    )
    for data in snapshot.tables.values():
        key = () if data.spec.name in KEYLESS else data.spec.order_by
        _table_files(
            data.spec.name,
            data.spec.description,
            data.table,
            _fields(snapshot, data.spec.name),
            key,
            dialect,
            files,
            resources,
        )
    book = codebook_table(snapshot, stat.variables)
    book_fields = [SchemaField(n, CODEBOOK_TYPES[n], CODEBOOK_LABELS[n]) for n in CODEBOOK_LABELS]
    _table_files(
        CODEBOOK_SPEC.name,
        CODEBOOK_SPEC.description,
        book,
        book_fields,
        CODEBOOK_SPEC.order_by,
        dialect,
        files,
        resources,
    )
    files[STATA_PATH], files[SPSS_PATH] = stat.dta, stat.sav
    for path, data_bytes, fmt, mediatype, spss in (
        (STATA_PATH, stat.dta, "dta", "application/x-stata-dta", False),
        (SPSS_PATH, stat.sav, "sav", "application/x-spss-sav", True),
    ):
        resources.append(
            resource(
                f"latinno_cases-{fmt}",
                path,
                data_bytes,
                description="cases_wide with variable and value labels (see codebook.md).",
                fmt=fmt,
                mediatype=mediatype,
                table_schema=stat_schema(stat.variables, spss),
            )
        )
    if report is not None:
        files[REPORT_PATH] = report
    return Built(snapshot, stat, files, resources, report_note, dialect)


def name_files(
    built: Built, name: str, previous: Release | None, license: str | None
) -> tuple[dict[str, bytes], Counts | None]:
    """Every file of the release named ``name``, compared with ``previous``."""
    snapshot = built.snapshot
    files = dict(built.files)
    created = _iso(snapshot.data_time)
    after = current_states(snapshot.tables["case_history"].table)
    rows = diff_states(release_states(previous), after) if previous else []
    files["CHANGES.md"] = changes_md(
        rows,
        name,
        previous.name if previous else None,
        _iso(previous.created) if previous else None,
    )
    files["changes.csv"] = changes_csv(rows, built.dialect)
    changes_fields = [
        SchemaField(n, "INTEGER" if n == "case_id" else "VARCHAR", d)
        for n, d in CHANGES_COLUMNS.items()
    ]
    resources = [
        *built.resources,
        resource(
            "changes-csv",
            "changes.csv",
            files["changes.csv"],
            description="What changed since the previous release (see CHANGES.md).",
            fmt="csv",
            mediatype="text/csv",
            table_schema=schema(changes_fields, (), csv_booleans=True),
            bom=built.dialect == "excel",
        ),
    ]
    context = BookContext(
        version=name,
        created=created,
        citation=CITATION,
        csv_dialect=built.dialect,
        report_note=built.report_note,
        previous=previous.name if previous else None,
    )
    files["codebook.md"] = codebook_md(snapshot, built.stat.variables, context)
    pipeline = pipeline_version()
    files["CITATION.cff"] = citation_cff(
        version=name, released=created[:10], license=license, pipeline_version=pipeline
    )
    files["datapackage.json"] = datapackage(
        version=name,
        created=created,
        license=license,
        runs=snapshot.runs,
        pipeline_version=pipeline,
        resources=resources,
    )
    files[SUMS] = sha256sums(files)
    return files, (count_changes(rows) if previous else None)
