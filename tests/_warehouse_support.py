"""Shared helpers of the warehouse tests: record factory and whole-table snapshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from latinno.record import CaseRecord, ParseIssue, Source

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
T0_NAIVE = T0.replace(tzinfo=None)

TABLES = (
    "cases",
    "case_participant_types",
    "case_means",
    "case_ends",
    "case_policy_cycle",
    "case_texts",
    "case_sources",
    "case_history",
    "parse_issues",
)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def naive(n: int) -> datetime:
    return T0_NAIVE + timedelta(days=n)


def make_record(case_id: int = 17001, lang: str = "en", **changes: Any) -> CaseRecord:
    base = CaseRecord(
        url=f"https://latinno.net/{lang}/case/{case_id}/",
        case_id=case_id,
        lang=lang,
        country_code="PE",
        country="Peru",
        title=f"Multisectoral Open Government Forum ({lang})",
        description=f"A forum of government and civil society ({lang}).",
        formalization="government_program_or_policy",
        frequency="regular",
        participant_selection="restricted",
        participant_types=("civil_society", "citizens"),
        decisiveness="non_binding",
        co_governance=True,
        means=("deliberation",),
        ends=("responsiveness", "accountability"),
        policy_cycle=("agenda_setting", "implementation"),
        sources=(Source("Government portal", "https://www.gob.pe/forum"),),
        issues=(),
        parser_version="1.0",
    )
    return replace(base, **changes)


def issue(field: str = "ends", raw: str | None = "Other", message: str = "unknown option"):
    return ParseIssue(field, raw, message)


def rows(con: duckdb.DuckDBPyConnection, table: str, exclude: tuple[str, ...] = ()) -> list:
    """Every row of a table in a stable order, without the excluded columns."""
    columns = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
        if r[0] not in exclude
    ]
    quoted = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"SELECT {quoted} FROM {table} ORDER BY ALL").fetchall()


def snapshot(con: duckdb.DuckDBPyConnection, exclude: tuple[str, ...] = ()) -> dict[str, list]:
    return {table: rows(con, table, exclude) for table in TABLES}
