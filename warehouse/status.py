"""What ``latinno status`` shows, as plain rows (the CLI renders them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from warehouse.runs import open_failures


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


def _table(con: duckdb.DuckDBPyConnection, title: str, sql: str) -> Table:
    cursor = con.execute(sql)
    return Table(title, [d[0] for d in cursor.description], cursor.fetchall())


def _revisits(con: duckdb.DuckDBPyConnection) -> Table:
    """The revisit policy's memory (flows.revisit): the oldest check among the pages there."""
    return _table(
        con,
        "Revisits (oldest check among the pages that are there)",
        """
SELECT min(checked_at) FILTER (WHERE present) AS oldest_check,
       count(*) FILTER (WHERE present) AS pages_there,
       count(*) FILTER (WHERE NOT present) AS misses_remembered
FROM page_checks
""",
    )


def _failures(con: duckdb.DuckDBPyConnection, limit: int) -> Table:
    """Open fetch failures, one per URL: its last failing run and how many runs it failed in."""
    failures = open_failures(con)
    columns = ["run_id", "url", "status", "reason", "attempts", "runs_failed", "first_run_id"]
    return Table(
        f"Open fetch failures: {len(failures)}",
        columns,
        [tuple(f[c] for c in columns) for f in failures[:limit]],
    )


def status_tables(con: duckdb.DuckDBPyConnection, *, runs: int = 5, limit: int = 10) -> list[Table]:
    """Counts by status and country, the last runs, open fetch failures and parse issues."""
    tables = [
        _table(
            con,
            "Cases by status",
            "SELECT status, count(*) AS cases FROM cases GROUP BY status ORDER BY status",
        ),
        _table(
            con,
            "Cases by country",
            """
SELECT k.country_code, k.name_en AS country,
       count(c.case_id) FILTER (WHERE c.status = 'active') AS active,
       count(c.case_id) FILTER (WHERE c.status = 'withdrawn') AS withdrawn
FROM countries AS k LEFT JOIN cases AS c ON c.country_code = k.country_code
GROUP BY ALL
HAVING count(c.case_id) > 0
UNION ALL
SELECT coalesce(c.country_code, '?'), '(unknown country)',
       count(*) FILTER (WHERE c.status = 'active'),
       count(*) FILTER (WHERE c.status = 'withdrawn')
FROM cases AS c WHERE c.country_code IS NULL
   OR c.country_code NOT IN (SELECT country_code FROM countries)
GROUP BY ALL
ORDER BY 1
""",
        ),
        _table(
            con,
            f"Last {runs} runs (a run id starts with its UTC start; reasons below)",
            f"""
SELECT run_id,
       coalesce(status, CASE WHEN finished_at IS NULL THEN 'running' ELSE 'completed' END)
           AS status,
       CAST(round(duration_s) AS INTEGER) AS s, fetched AS fetch, not_modified AS "304", new,
       changed AS chg, withdrawn AS gone, failed AS fail
FROM runs ORDER BY started_at DESC LIMIT {int(runs)}
""",
        ),
    ]
    reasons = con.execute(
        f"""
SELECT run_id, status, reason FROM (
    SELECT * FROM runs ORDER BY started_at DESC LIMIT {int(runs)}
) WHERE reason IS NOT NULL AND reason <> '' ORDER BY started_at DESC
"""
    ).fetchall()
    if reasons:
        tables.append(
            Table("Why those runs did not complete", ["run_id", "status", "reason"], reasons)
        )
    tables.append(_revisits(con))
    tables.append(_failures(con, limit))
    total = con.execute("SELECT count(*) FROM parse_issues").fetchall()
    tables.append(
        _table(
            con,
            f"Parse issues: {total[0][0] if total else 0} (by field and message)",
            f"""
SELECT field, message, count(*) AS pages, min(url) AS example_url
FROM parse_issues GROUP BY field, message ORDER BY pages DESC, field, message
LIMIT {int(limit)}
""",
        )
    )
    return tables
