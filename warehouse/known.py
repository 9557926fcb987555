"""What a run needs to know of the warehouse before it fetches."""

from __future__ import annotations

import duckdb


def stale_cases(con: duckdb.DuckDBPyConnection, parser_version: str) -> set[int]:
    """Cases last parsed by another parser version: they are re-read, not revalidated."""
    rows = con.execute(
        "SELECT case_id FROM cases WHERE parser_version <> ?", [parser_version]
    ).fetchall()
    return {row[0] for row in rows}
