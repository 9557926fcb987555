"""Bookkeeping of refresh runs: the runs table, fetch failures, and what is already known."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from latinno.errors import WarehouseError
from latinno.pages import PageKey
from warehouse.db import utc_naive

# Counts finish_run stores in their own column; any other name goes to runs.extra (JSON).
COUNT_COLUMNS: tuple[str, ...] = (
    "discovered",
    "fetched",
    "not_modified",
    "parsed",
    "new",
    "changed",
    "unchanged",
    "withdrawn",
    "failed",
    "parse_issues",
)
DURATION_COLUMNS: tuple[str, ...] = ("duration_s", "fetch_s", "parse_s", "load_s")


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """A URL that could not be fetched after all retries."""

    url: str
    case_id: int | None
    lang: str | None
    status: int | None
    reason: str
    attempts: int


def start_run(
    con: duckdb.DuckDBPyConnection, run_id: str, started_at: datetime, params: Mapping[str, Any]
) -> None:
    """Record the start of a run; a run id used before is an error."""
    try:
        con.execute(
            "INSERT INTO runs (run_id, started_at, params, status) VALUES (?, ?, ?::JSON, ?)",
            [
                run_id,
                utc_naive(started_at),
                json.dumps(params, sort_keys=True, default=str),
                "running",
            ],
        )
    except duckdb.ConstraintException:
        raise WarehouseError(f"run {run_id!r} already exists in table runs") from None


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    finished_at: datetime,
    counts: Mapping[str, int | float],
    *,
    status: str = "completed",
    reason: str | None = None,
) -> None:
    """Store a run's end, how it ended, its counts and durations (unknown names go to
    ``extra``). Every count column is stored, 0 when nothing of that kind happened."""
    known: dict[str, int | float] = {name: 0 for name in COUNT_COLUMNS}
    known |= {k: v for k, v in counts.items() if k in COUNT_COLUMNS or k in DURATION_COLUMNS}
    extra = {k: v for k, v in sorted(counts.items()) if k not in known}
    sets = ", ".join(f"{name} = ${name}" for name in known)
    sql = (
        "UPDATE runs SET finished_at = $finished_at, extra = $extra::JSON, status = $status, "
        f"reason = $reason, {sets} WHERE run_id = $run_id"
    )
    row = con.execute(
        sql,
        {
            **known,
            "finished_at": utc_naive(finished_at),
            "extra": json.dumps(extra) if extra else None,
            "status": status,
            "reason": reason,
            "run_id": run_id,
        },
    ).fetchall()
    if not row or not row[0][0]:
        raise WarehouseError(f"run {run_id!r} not found in table runs (start_run first)")


def fail_if_running(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    finished_at: datetime,
    reason: str,
    status: str = "failed",
) -> None:
    """A run that ended on an error (or a signal) nobody recorded: ``status`` with the error as
    its reason (a run already ended, held or failed before, keeps what it says)."""
    con.execute(
        "UPDATE runs SET status = $status, reason = $reason, finished_at = $at "
        "WHERE run_id = $run_id AND status = 'running'",
        {"status": status, "reason": reason, "at": utc_naive(finished_at), "run_id": run_id},
    )


def mark_interrupted(con: duckdb.DuckDBPyConnection, now: datetime) -> list[str]:
    """Runs still marked running when a new run starts died on the way: say so. Only call it
    while holding the warehouse's run lock (no other run can be running then)."""
    found = f"{utc_naive(now):%Y-%m-%d %H:%M} UTC"
    rows = con.execute(
        "UPDATE runs SET status = 'interrupted', reason = $reason "
        "WHERE status = 'running' OR (status IS NULL AND finished_at IS NULL) RETURNING run_id",
        {"reason": f"the process ended before the run finished (found by the run of {found})"},
    ).fetchall()
    return sorted(r[0] for r in rows)


def record_fetch_failures(
    con: duckdb.DuckDBPyConnection, run_id: str, failures: Sequence[FetchFailure]
) -> None:
    """Store a run's failed URLs: one open row per URL (the last report of a run wins).

    A URL that already has an open failure keeps that row: this run becomes its last run, with
    its status, reason and attempts, and ``runs_failed`` counts the run once. Otherwise a new
    open row starts with this run as its first and last."""
    if not failures:
        return
    latest = {f.url: f for f in failures}
    rows = list(latest.values())
    table = pa.table(
        {
            "url": [f.url for f in rows],
            "case_id": pa.array([f.case_id for f in rows], pa.int32()),
            "lang": pa.array([f.lang for f in rows], pa.string()),
            "status": pa.array([f.status for f in rows], pa.int32()),
            "reason": [f.reason for f in rows],
            "attempts": pa.array([f.attempts for f in rows], pa.int32()),
        }
    )
    con.register("_in_failures", table)
    try:
        con.execute(_UPDATE_OPEN_FAILURES, {"run_id": run_id})
        con.execute(_INSERT_NEW_FAILURES, {"run_id": run_id})
    finally:
        con.unregister("_in_failures")


# Both statements are safe to repeat within a run: the count moves only when the run changes.
_UPDATE_OPEN_FAILURES = """
UPDATE fetch_failures AS f SET
    runs_failed = f.runs_failed + CASE WHEN f.run_id = $run_id THEN 0 ELSE 1 END,
    run_id = $run_id, case_id = i.case_id, lang = i.lang, status = i.status,
    reason = i.reason, attempts = i.attempts,
    last_seen_at = (SELECT started_at FROM runs WHERE run_id = $run_id)
FROM _in_failures AS i
WHERE f.url = i.url AND f.resolved_run_id IS NULL
"""

_INSERT_NEW_FAILURES = """
INSERT INTO fetch_failures BY NAME
SELECT $run_id AS run_id, url, case_id, lang, status, reason, attempts,
    $run_id AS first_run_id, 1 AS runs_failed,
    (SELECT started_at FROM runs WHERE run_id = $run_id) AS first_seen_at,
    (SELECT started_at FROM runs WHERE run_id = $run_id) AS last_seen_at
FROM _in_failures AS i
WHERE NOT EXISTS (
    SELECT 1 FROM fetch_failures AS f WHERE f.url = i.url AND f.resolved_run_id IS NULL)
"""


def resolve_failures(
    con: duckdb.DuckDBPyConnection,
    keys: Sequence[PageKey],
    run_id: str,
    *,
    urls: Sequence[str] = (),
) -> int:
    """Close open failures of pages (case_id, lang) or URLs that run ``run_id`` fetched fine."""
    if not keys and not urls:
        return 0
    table = pa.table(
        {
            "case_id": pa.array([k for k, _ in keys], pa.int32()),
            "lang": pa.array([lang for _, lang in keys], pa.string()),
        }
    )
    url_table = pa.table({"url": pa.array(list(urls), pa.string())})
    con.register("_in_resolved", table)
    con.register("_in_resolved_urls", url_table)
    try:
        row = con.execute(
            """
UPDATE fetch_failures SET resolved_run_id = $run_id
WHERE resolved_run_id IS NULL AND run_id <> $run_id AND (
    EXISTS (SELECT 1 FROM _in_resolved AS k
            WHERE k.case_id = fetch_failures.case_id AND k.lang = fetch_failures.lang)
    OR url IN (SELECT url FROM _in_resolved_urls))
""",
            {"run_id": run_id},
        ).fetchall()
    finally:
        con.unregister("_in_resolved")
        con.unregister("_in_resolved_urls")
    return int(row[0][0]) if row else 0


def known_cases(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """case_id -> status (active/withdrawn) of every case in the warehouse."""
    return dict(con.execute("SELECT case_id, status FROM cases").fetchall())


def open_failures(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The open failure of every URL (one row each: its last failing run, how many runs it
    failed in, since when), newest run first."""
    cursor = con.execute(
        """
SELECT f.run_id, f.url, f.case_id, f.lang, f.status, f.reason, f.attempts,
    f.first_run_id, f.runs_failed, f.first_seen_at, f.last_seen_at
FROM fetch_failures AS f LEFT JOIN runs AS r USING (run_id)
WHERE f.resolved_run_id IS NULL
QUALIFY row_number() OVER (
    PARTITION BY f.url ORDER BY r.started_at DESC NULLS LAST, f.run_id DESC) = 1
ORDER BY r.started_at DESC NULLS LAST, f.url
"""
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def cases_by_language(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Active cases by the language their row (title, description) comes from."""
    rows = con.execute(
        "SELECT lang, count(*) FROM cases WHERE status = 'active' GROUP BY lang ORDER BY lang"
    ).fetchall()
    return {lang: int(count) for lang, count in rows}
