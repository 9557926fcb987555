"""What a run needs to know of the warehouse before it fetches."""

from __future__ import annotations

import json
from typing import Any

import duckdb


def stale_cases(con: duckdb.DuckDBPyConnection, parser_version: str) -> set[int]:
    """Cases whose rows may not reflect their archived pages, so they are re-read, not
    revalidated: parsed by another parser version, with a page archived after the case was
    last applied (a run the drift guard held archived its pages but applied nothing), or with
    pages archived and no row at all (a first run into a fresh warehouse that was held)."""
    rows = con.execute(
        """
        SELECT case_id FROM cases WHERE parser_version <> $version
        UNION
        SELECT p.case_id
        FROM pages AS p JOIN cases AS c ON p.case_id = c.case_id AND p.lang = c.lang
        GROUP BY p.case_id, c.last_seen_at HAVING max(p.fetched_at) > c.last_seen_at
        UNION
        SELECT p.case_id FROM pages AS p ANTI JOIN cases AS c ON p.case_id = c.case_id
        """,
        {"version": parser_version},
    ).fetchall()
    return {row[0] for row in rows}


def unparsed_cases(con: duckdb.DuckDBPyConnection) -> set[int]:
    """Cases with a page whose open failure is a parse error: re-read and parsed every run until
    it parses, so an unchanged body never closes that failure as if it were fine."""
    rows = con.execute(
        "SELECT DISTINCT case_id FROM fetch_failures WHERE resolved_run_id IS NULL "
        "AND case_id IS NOT NULL AND starts_with(reason, 'parse error')"
    ).fetchall()
    return {row[0] for row in rows}


def current_contents(con: duckdb.DuckDBPyConnection) -> dict[int, dict[str, Any]]:
    """The content of every active case as its current history version holds it (the record's
    content fields, as JSON), for comparing a new run with what it would replace."""
    rows = con.execute(
        "SELECT h.case_id, h.record FROM case_history AS h JOIN cases AS c USING (case_id) "
        "WHERE h.valid_to IS NULL AND c.status = 'active'"
    ).fetchall()
    return {case_id: json.loads(record) for case_id, record in rows}
