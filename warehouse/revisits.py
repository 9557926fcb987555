"""The revisit policy's memory: the ``page_checks`` table (warehouse/sql/005_page_checks.sql)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple

import duckdb
import pyarrow as pa

from latinno.pages import PageKey
from warehouse.schema import utc_naive


class CheckRow(NamedTuple):
    """One page's last check, as stored."""

    checked_at: datetime  # aware UTC
    interval_days: float
    present: bool
    spread: bool = False


def load_checks(con: duckdb.DuckDBPyConnection) -> dict[PageKey, CheckRow]:
    rows = con.execute(
        "SELECT case_id, lang, checked_at, interval_days, present, spread FROM page_checks"
    ).fetchall()
    return {PageKey(r[0], r[1]): CheckRow(r[2].replace(tzinfo=UTC), r[3], r[4], r[5]) for r in rows}


def save_checks(con: duckdb.DuckDBPyConnection, checks: Mapping[PageKey, CheckRow]) -> None:
    """Replace the checks of the pages a run asked for."""
    if not checks:
        return
    keys = list(checks)
    table = pa.table(
        {
            "case_id": pa.array([k[0] for k in keys], pa.int32()),
            "lang": pa.array([k[1] for k in keys], pa.string()),
            "checked_at": pa.array(
                [utc_naive(checks[k].checked_at) for k in keys], pa.timestamp("us")
            ),
            "interval_days": pa.array([float(checks[k].interval_days) for k in keys], pa.float64()),
            "present": pa.array([bool(checks[k].present) for k in keys], pa.bool_()),
            "spread": pa.array([bool(checks[k].spread) for k in keys], pa.bool_()),
        }
    )
    con.register("_checks", table)
    try:
        con.execute("INSERT OR REPLACE INTO page_checks SELECT * FROM _checks")
    finally:
        con.unregister("_checks")


def previous_start(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the latest run started (call before starting a new one)."""
    row = con.execute("SELECT max(started_at) FROM runs").fetchone()
    return row[0].replace(tzinfo=UTC) if row and row[0] else None


def oldest_check(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The oldest last check among the pages that were there (aware UTC); None if none."""
    row = con.execute("SELECT min(checked_at) FROM page_checks WHERE present").fetchone()
    return row[0].replace(tzinfo=UTC) if row and row[0] else None
