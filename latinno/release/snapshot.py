"""Everything a release holds, read from the warehouse in one read-only connection.

The tables come from ``warehouse.export`` (same column selection, order and comments as
``latinno export``, less ``last_seen_at``) so a release and an export never disagree about what
a table is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from latinno.columns import of_kind
from latinno.errors import WarehouseError
from latinno.record import CASE_COLUMNS
from latinno.vocabulary import FIELD_TERMS
from warehouse.export import EXPORT_TABLES, ExportTable, _columns, _fetch
from warehouse.views import BRIDGES

# When a page was last seen moves with every refresh, even one that changed nothing; a release
# is its data, so it leaves that out (the datapackage names the runs it covers) and a release
# after a no-change refresh is the same release (issue 21).
PER_REFRESH = ("last_seen_at",)
_FROM_EXPORT = {
    spec.name: replace(spec, exclude=(*spec.exclude, *PER_REFRESH)) for spec in EXPORT_TABLES
}

# In the order of the issue: the wide table, the long tables, history, issues, reference data.
RELEASE_TABLES: tuple[ExportTable, ...] = (
    _FROM_EXPORT["cases_wide"],
    _FROM_EXPORT["case_means"],
    _FROM_EXPORT["case_ends"],
    _FROM_EXPORT["case_policy_cycle"],
    _FROM_EXPORT["case_participant_types"],
    _FROM_EXPORT["case_texts"],
    _FROM_EXPORT["case_sources"],
    ExportTable(
        "case_history",
        ("case_id", "version"),
        "Versions of each case: a new version whenever its content or status changed.",
    ),
    ExportTable(
        # No key: every column, so the order is total and the file reproducible.
        "parse_issues",
        ("case_id", "lang", "field", "raw", "message", "url", "run_id"),
        "Values kept but not coded, or expected but missing, per case page.",
    ),
    _FROM_EXPORT["vocabulary"],
    _FROM_EXPORT["countries"],
)
KEYLESS: frozenset[str] = frozenset({"parse_issues"})

# Column -> vocabulary field whose codes it holds: the coded design fields of the record spec
# (country_code is a code too, but of the countries table) and the bridge tables' code columns.
VOCABULARY_FIELD: dict[str, str] = {
    **{c.name: c.name for c in of_kind(CASE_COLUMNS, "code") if c.name in FIELD_TERMS},
    **{column: name for name, (_, column) in BRIDGES.items()},
}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # DuckDB type
    label: str  # the column COMMENT


@dataclass(frozen=True, slots=True)
class TableData:
    spec: ExportTable
    columns: tuple[Column, ...]
    table: pa.Table


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    started_at: datetime
    finished_at: datetime | None
    base_url: str | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    tables: dict[str, TableData]
    # field -> [(code, English label)] in page order
    vocabulary: dict[str, list[tuple[str, str]]]
    runs: tuple[Run, ...]
    data_time: datetime  # naive UTC: newest run (or, without runs, newest sighting)

    @property
    def cases(self) -> int:
        rows: int = self.tables["cases_wide"].table.num_rows  # pyarrow is untyped
        return rows


def _base_url(params: Any) -> str | None:
    try:
        value = json.loads(params).get("base_url") if params else None
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None


def read_runs(con: duckdb.DuckDBPyConnection) -> tuple[Run, ...]:
    rows = con.execute(
        "SELECT run_id, started_at, finished_at, params FROM runs ORDER BY started_at, run_id"
    ).fetchall()
    return tuple(Run(r[0], r[1], r[2], _base_url(r[3])) for r in rows)


def data_time(con: duckdb.DuckDBPyConnection, runs: tuple[Run, ...]) -> datetime | None:
    """When the data was last refreshed: the newest run's end (its start while unfinished)."""
    times = [r.finished_at or r.started_at for r in runs]
    if times:
        return max(times)
    # Loaded without the runs table (a library user): the newest time a case was seen.
    row = con.execute("SELECT max(last_seen_at) FROM cases").fetchone()
    return row[0] if row else None


def read_snapshot(con: duckdb.DuckDBPyConnection, db_label: str) -> Snapshot:
    count = con.execute("SELECT count(*) FROM cases").fetchone()
    if not count or not count[0]:
        raise WarehouseError(
            f"{db_label}: the warehouse holds no cases; run `latinno refresh` first"
        )
    tables = {}
    for spec in RELEASE_TABLES:
        columns = tuple(Column(n, t, c) for n, t, c in _columns(con, spec))
        tables[spec.name] = TableData(spec, columns, _fetch(con, spec))
    vocabulary: dict[str, list[tuple[str, str]]] = {}
    for field, code, label in con.execute(
        "SELECT field, code, coalesce(label_en, code) FROM vocabulary ORDER BY field, position"
    ).fetchall():
        vocabulary.setdefault(field, []).append((code, label))
    runs = read_runs(con)
    moment = data_time(con, runs)
    assert moment is not None  # cases exist, so last_seen_at does
    return Snapshot(tables, vocabulary, runs, moment)
