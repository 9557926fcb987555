"""Read-only SQL for ``latinno query``: only statements that read are run.

The connection is opened read-only (DuckDB refuses writes to the file); the statement check
also refuses what a read-only file connection would still allow (COPY ... TO a file, ATTACH,
SET, INSTALL/LOAD), with one clear line instead of a DuckDB error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from latinno.errors import ReadOnlyQueryError, WarehouseError

_ALLOWED = {"SELECT", "EXPLAIN"}


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    """The statements of ``sql``; ReadOnlyQueryError names the first one that is not a read."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise WarehouseError(f"query is not valid SQL: {_first_line(exc)}") from None
    if not statements:
        raise WarehouseError("query is empty: give one SELECT statement")
    for statement in statements:
        kind = statement.type.name
        if kind not in _ALLOWED:
            raise ReadOnlyQueryError(
                f"refused: {kind} statements are not allowed; `latinno query` only reads "
                "(SELECT, WITH ... SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)"
            )
    return [s.query for s in statements]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> QueryResult:
    """Run read statements; the result of the last one is returned."""
    statements = check_read_only(con, sql)
    cursor = None
    try:
        for statement in statements:
            cursor = con.execute(statement)
        assert cursor is not None
        rows = cursor.fetchall()
        description = cursor.description or []
    except duckdb.Error as exc:
        message = _first_line(exc)
        if "read-only" in message.lower() or "read only" in message.lower():
            raise ReadOnlyQueryError(f"refused: the query tried to write ({message})") from None
        raise WarehouseError(f"query failed: {message}") from None
    return QueryResult(
        columns=[d[0] for d in description],
        types=[str(d[1]) for d in description],
        rows=rows,
    )
