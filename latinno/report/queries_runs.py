"""The numbers of the report's sections on the refresh runs: the case versions each run created
and the fields that changed (change over time), and each run's requests and answers (runs).
See ``latinno.report.queries`` for the rules all queries keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from latinno.report.queries import one, rows

CHANGE_KINDS: tuple[tuple[str, str], ...] = (
    ("new", "New"),
    ("changed", "Changed"),
    ("withdrawn", "Withdrawn"),
    ("reactivated", "Reactivated"),
)
NO_RUN = "(no run recorded)"


@dataclass(frozen=True, slots=True)
class RunChanges:
    run_id: str
    started_at: Any  # datetime | None for versions without a recorded run
    counts: dict[str, int]


def changes_per_run(con: duckdb.DuckDBPyConnection, last: int = 20) -> list[RunChanges]:
    """Case versions each of the last ``last`` runs created (case_history), oldest first."""
    kinds = ", ".join(
        f"count(h.case_id) FILTER (WHERE h.change = '{key}') AS {key}" for key, _ in CHANGE_KINDS
    )
    found = rows(
        con,
        f"""
WITH recent AS (
    SELECT run_id, started_at FROM runs ORDER BY started_at DESC, run_id DESC LIMIT {int(last)}
)
SELECT r.run_id, r.started_at, {kinds}
FROM recent AS r LEFT JOIN case_history AS h ON h.run_id = r.run_id
GROUP BY r.run_id, r.started_at
UNION ALL
SELECT '{NO_RUN}', NULL, {kinds}
FROM case_history AS h
WHERE h.run_id IS NULL OR h.run_id NOT IN (SELECT run_id FROM runs)
HAVING count(*) > 0
ORDER BY 2 NULLS FIRST, 1""",
    )
    return [
        RunChanges(
            str(r[0]),
            r[1],
            {key: int(v) for (key, _), v in zip(CHANGE_KINDS, r[2:], strict=True)},
        )
        for r in found
    ]


def changed_fields(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int]]:
    """(field, changes, cases) over the whole history (view case_changes), most changes first."""
    return [
        (str(f), int(k), int(c))
        for f, k, c in rows(
            con,
            "SELECT field, count(*), count(DISTINCT case_id) FROM case_changes "
            "GROUP BY field ORDER BY 2 DESC, 1",
        )
    ]


def changed_case_count(con: duckdb.DuckDBPyConnection) -> int:
    return int(one(con, "SELECT count(DISTINCT case_id) FROM case_changes")[0])


@dataclass(frozen=True, slots=True)
class RunRow:
    run_id: str
    started_at: Any
    finished_at: Any
    duration_s: float | None
    requests: int  # page requests that ended: fetched + not modified + gone + failed
    http_requests: int | None  # every HTTP request of the run (retries, robots.txt, sitemap)
    fetched: int
    not_modified: int
    gone: int
    fetch_failed: int
    not_requested: int  # unchanged by the sitemap's lastmod, so not asked for
    share_304: float | None
    new: int
    changed: int
    withdrawn: int
    parse_issues: int


def runs(con: duckdb.DuckDBPyConnection, last: int = 20) -> list[RunRow]:
    """The last ``last`` runs, oldest first.

    Requests are the page requests that ended with an answer or a failure: fetched (200), not
    modified (304), gone (404/410, probes included) and fetch failures (``failed`` minus pages
    that failed to parse): what the chart's bars add up to. ``http_requests`` is the run's own
    count of every request (retries, robots.txt, the sitemap), when it recorded one. Share 304
    is not modified / (fetched + not modified).
    """
    found = rows(
        con,
        f"""
WITH r AS (
    SELECT run_id, started_at, finished_at, duration_s,
           coalesce(fetched, 0) AS fetched, coalesce(not_modified, 0) AS not_modified,
           coalesce(TRY_CAST(extra ->> 'gone' AS BIGINT), 0) AS gone,
           greatest(coalesce(failed, 0)
                    - coalesce(TRY_CAST(extra ->> 'parse_failed' AS BIGINT), 0), 0) AS fetch_failed,
           TRY_CAST(extra ->> 'requests' AS BIGINT) AS recorded_requests,
           coalesce(TRY_CAST(extra ->> 'sitemap_unchanged' AS BIGINT), 0) AS not_requested,
           coalesce(new, 0) AS new, coalesce(changed, 0) AS changed,
           coalesce(withdrawn, 0) AS withdrawn, coalesce(parse_issues, 0) AS parse_issues
    FROM runs ORDER BY started_at DESC, run_id DESC LIMIT {int(last)}
)
SELECT run_id, started_at, finished_at, duration_s,
       fetched + not_modified + gone + fetch_failed, recorded_requests,
       fetched, not_modified, gone, fetch_failed, not_requested,
       CASE WHEN fetched + not_modified > 0 THEN not_modified / (fetched + not_modified) END,
       new, changed, withdrawn, parse_issues
FROM r ORDER BY started_at, run_id""",
    )
    return [
        RunRow(
            run_id=str(r[0]),
            started_at=r[1],
            finished_at=r[2],
            duration_s=None if r[3] is None else float(r[3]),
            requests=int(r[4]),
            http_requests=None if r[5] is None else int(r[5]),
            fetched=int(r[6]),
            not_modified=int(r[7]),
            gone=int(r[8]),
            fetch_failed=int(r[9]),
            not_requested=int(r[10]),
            share_304=None if r[11] is None else float(r[11]),
            new=int(r[12]),
            changed=int(r[13]),
            withdrawn=int(r[14]),
            parse_issues=int(r[15]),
        )
        for r in found
    ]
