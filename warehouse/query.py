"""Read-only SQL for ``latinno query``: only statements that read are run, inside a sandbox.

Two layers. The statement check refuses, with one line naming the statement, anything that is
not a read (writes, COPY, ATTACH, SET, INSTALL/LOAD, PRAGMA, CALL). The connection itself
(``warehouse.db.SANDBOX``: read-only, no external access, no extension autoload or install,
configuration locked) is what makes the check safe to get wrong: a SELECT that calls
``read_csv('/etc/passwd')``, ``glob('/root/*')`` or a URL is refused by DuckDB, and that refusal
is reported as one line naming the file or URL.

Bounds: ``timeout_s`` interrupts the connection from a timer; ``limit`` fetches at most that
many rows (and says whether there were more), so a huge result never reaches memory.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from latinno.errors import QueryTimeoutError, ReadOnlyQueryError, WarehouseError
from warehouse.db import is_damage

_ALLOWED = {"SELECT", "EXPLAIN"}
_READS = "SELECT, WITH ... SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN"
_FILE = re.compile(r'Cannot access (file|directory) "([^"]*)"')
_SETTING = re.compile(r'Cannot change configuration option "([^"]*)"')
# DuckDB's pointer into the statement: "LINE 1: SELECT ..." and a line of carets below it.
_POINTER = re.compile(r"^(LINE \d+:.*|\s*\^+\s*)$")
# EXPLAIN ANALYZE runs the statement it explains: that one must be a read too.
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(?:\(.*?\)\s*|ANALY[SZ]E\s+)*", re.IGNORECASE | re.DOTALL)
# Rows handed on at a time when a result is streamed (csv/json output): memory stays bounded.
STREAM_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False  # the statement had more rows than ``limit``


def _snippet(sql: str, width: int = 60) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    """The statements of ``sql``; ReadOnlyQueryError names the first one that is not a read."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise WarehouseError(f"query is not valid SQL: {error_line(exc)}") from None
    if not statements:
        raise WarehouseError("query is empty: give one SELECT statement")
    for statement in statements:
        try:
            kind = statement.type.name
        except ValueError:  # a kind the Python binding cannot name (UPDATE EXTENSIONS)
            kind = "?"
        if kind not in _ALLOWED:
            raise ReadOnlyQueryError(
                f"refused: {_verb(statement.query, kind)} statement "
                f"`{_snippet(statement.query)}`: `latinno query` only reads ({_READS})"
            )
        if kind == "EXPLAIN":
            inner = _EXPLAIN.sub("", statement.query, count=1)
            if inner.strip() and inner != statement.query:
                check_read_only(con, inner)
    return [s.query for s in statements]


def _verb(sql: str, kind: str) -> str:
    """The statement's own first word (INSTALL, not DuckDB's LOAD), or its kind after WITH."""
    words = sql.split(maxsplit=1)
    first = words[0].upper() if words else kind
    return first if first.isalpha() and first != "WITH" else kind


def error_line(exc: BaseException) -> str:
    """DuckDB's message on one line, hints kept ("Did you mean ...", "Candidate bindings")."""
    lines = [line.strip() for line in str(exc).strip().splitlines()]
    kept = [line for line in lines if line and not _POINTER.match(line)]
    return " ".join(kept) if kept else type(exc).__name__


def refusal(exc: duckdb.Error) -> ReadOnlyQueryError | None:
    """The one-line refusal a sandbox error means, or None if it is another error."""
    message = str(exc)
    outside = _FILE.search(message)
    if outside:
        target = outside.group(2)
        what = f"the {outside.group(1)}"
        if "://" in target:
            what = "the URL"
        elif any(char in target for char in "*?["):
            what = "the files"
        return ReadOnlyQueryError(
            f'refused: the query reaches {what} "{target}"; `latinno query` reads only '
            "the warehouse (no other files, URLs or extensions)"
        )
    setting = _SETTING.search(message)
    if setting:
        return ReadOnlyQueryError(
            f"refused: the query changes the setting {setting.group(1)}; settings are locked "
            "for `latinno query`"
        )
    if "extensions is disabled" in message or "autoload" in message.lower():
        return ReadOnlyQueryError(
            "refused: the query needs a DuckDB extension that is not loaded; `latinno query` "
            f"installs and loads none ({error_line(exc)})"
        )
    lowered = message.lower()
    if "read-only" in lowered or "read only" in lowered:
        return ReadOnlyQueryError(f"refused: the query tried to write ({error_line(exc)})")
    if isinstance(exc, duckdb.PermissionException):
        return ReadOnlyQueryError(f"refused: {error_line(exc)}")
    return None


def run_query(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    *,
    limit: int | None = None,
    timeout_s: float | None = None,
    sink: Callable[[list[str], list[tuple[Any, ...]]], None] | None = None,
) -> QueryResult:
    """Run read statements; the result of the last one is returned.

    ``limit``: at most that many rows are fetched (``truncated`` says whether more existed);
    None fetches all. ``timeout_s``: the statements are interrupted after that many seconds
    (QueryTimeoutError); None waits forever. ``sink``: the rows are handed to it in chunks as
    they are fetched (column names first), never all held at once, and not returned.
    """
    statements = check_read_only(con, sql)
    expired = threading.Event()

    def interrupt() -> None:
        expired.set()
        con.interrupt()

    timer = threading.Timer(timeout_s, interrupt) if timeout_s else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        cursor = None
        for statement in statements:
            cursor = con.execute(statement)
        assert cursor is not None
        description = cursor.description or []
        truncated = False
        if sink is not None and limit is None:
            rows = []
            columns = [d[0] for d in description]
            sink(columns, [])
            while chunk := cursor.fetchmany(STREAM_ROWS):
                sink(columns, chunk)
        elif limit is None:
            rows = cursor.fetchall()
        else:
            rows = cursor.fetchmany(limit + 1)
            truncated = len(rows) > limit
            rows = rows[:limit]
    except duckdb.Error as exc:
        if expired.is_set() and isinstance(exc, duckdb.InterruptException):
            raise QueryTimeoutError(float(timeout_s or 0)) from None
        if is_damage(exc):
            raise  # warehouse.db.reading names the file and what to do
        refused = refusal(exc)
        if refused is not None:
            raise refused from None
        raise WarehouseError(f"query failed: {error_line(exc)}") from None
    finally:
        if timer is not None:
            timer.cancel()
    return QueryResult(
        columns=[d[0] for d in description],
        types=[str(d[1]) for d in description],
        rows=rows,
        truncated=truncated,
    )
