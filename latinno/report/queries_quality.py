"""The numbers of the report's data-quality section: fill rates, parse issues, open fetch
failures, and pages that lacked a section (see ``latinno.report.queries`` for the rules all
queries keep).
"""

from __future__ import annotations

from typing import Any

import duckdb

from latinno.columns import of_kind
from latinno.record import CASE_COLUMNS
from latinno.report.queries import field_label, one, rows
from latinno.vocabulary import DESIGN_FIELDS
from warehouse.views import BRIDGES

# The record's content fields whose fill rate the report shows, in page order (the list of the
# parts a page showed is not one: it is read by missing_sections).
FILL_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (c.name, field_label(c.name)) for c in CASE_COLUMNS if c.kind != "sections"
)
# The parts a page may show (cases.sections_present), in page order, and the section each
# design field lies in: a case whose page lacked a section is counted under the section only.
[_SECTIONS] = of_kind(CASE_COLUMNS, "sections")
PAGE_PARTS: tuple[str, ...] = _SECTIONS.parts
_DESIGN_SECTION = "institutional_design"


def fill_rates(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, int, float]]:
    """(field, label, active cases with a value, active cases, share) per field.

    A list field (means, ...) counts as filled when at least one code applies.
    """
    parts: list[str] = []
    for field, label in FILL_FIELDS:
        if field in BRIDGES:
            table = BRIDGES[field][0]
            filled = f"count(*) FILTER (WHERE case_id IN (SELECT case_id FROM {table}))"
        elif field == "sources":
            filled = "count(*) FILTER (WHERE case_id IN (SELECT case_id FROM case_sources))"
        else:
            filled = f"count({field})"
        parts.append(
            f"SELECT '{field}' AS field, '{label}' AS label, {filled} AS filled, "
            f"count(*) AS n, {len(parts)} AS pos FROM cases WHERE status = 'active'"
        )
    found = rows(
        con,
        "SELECT field, label, filled, n, CASE WHEN n > 0 THEN filled / n END FROM ("
        + " UNION ALL ".join(parts)
        + ") ORDER BY pos",
    )
    return [(str(f), str(lb), int(k), int(n), float(s or 0.0)) for f, lb, k, n, s in found]


def issues_by_field(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int]]:
    """(field, issues, distinct cases) over the current parse issues, most issues first."""
    return [
        (str(f), int(k), int(c))
        for f, k, c in rows(
            con,
            "SELECT field, count(*), count(DISTINCT case_id) FROM parse_issues "
            "GROUP BY field ORDER BY 2 DESC, 1",
        )
    ]


def issues_by_value(
    con: duckdb.DuckDBPyConnection, limit: int = 40
) -> tuple[int, list[tuple[Any, ...]]]:
    """(groups in all, top groups of (field, raw, message, pages, example url))."""
    total = one(con, "SELECT count(*) FROM (SELECT DISTINCT field, raw, message FROM parse_issues)")
    found = rows(
        con,
        f"""
SELECT field, raw, message, count(*) AS pages, min(url)
FROM parse_issues GROUP BY field, raw, message
ORDER BY pages DESC, field, raw NULLS LAST, message LIMIT {int(limit)}""",
    )
    return int(total[0]), found


def open_failures(
    con: duckdb.DuckDBPyConnection, limit: int = 50
) -> tuple[int, list[tuple[str, int]], list[tuple[Any, ...]]]:
    """(open failures, (reason, count) most first, first ``limit`` failures by url)."""
    total = one(con, "SELECT count(*) FROM fetch_failures WHERE resolved_run_id IS NULL")[0]
    reasons = rows(
        con,
        "SELECT reason, count(*) FROM fetch_failures WHERE resolved_run_id IS NULL "
        "GROUP BY reason ORDER BY 2 DESC, 1",
    )
    listed = rows(
        con,
        f"""
SELECT run_id, url, status, reason, attempts, runs_failed, first_run_id FROM fetch_failures
WHERE resolved_run_id IS NULL ORDER BY url, run_id LIMIT {int(limit)}""",
    )
    return int(total), [(str(r), int(k)) for r, k in reasons], listed


def missing_sections(
    con: duckdb.DuckDBPyConnection, limit: int = 50
) -> tuple[int, list[tuple[str, int]], list[tuple[Any, ...]]]:
    """Active cases whose page lacked a section or a design field, from what the warehouse
    stored of each page (``cases.sections_present``); a design field is not counted again
    when its whole section was missing.

    Returns (cases in all, (part, cases) most first, first ``limit`` cases with what was
    missing, in page order).
    """
    parts = ", ".join(f"({i}, '{part}')" for i, part in enumerate(PAGE_PARTS))
    inside = ", ".join(f"'{name}'" for name in DESIGN_FIELDS)
    base = f"""
missing AS (
    SELECT c.case_id, c.lang, c.url, p.position, p.part AS field
    FROM cases AS c CROSS JOIN (VALUES {parts}) AS p(position, part)
    WHERE c.status = 'active'
      AND NOT list_contains(c.{_SECTIONS.name}, p.part)
      AND NOT (p.part IN ({inside})
               AND NOT list_contains(c.{_SECTIONS.name}, '{_DESIGN_SECTION}'))
)"""
    total = one(con, f"WITH {base} SELECT count(DISTINCT case_id) FROM missing")[0]
    by_field = rows(
        con,
        f"WITH {base} SELECT field, count(DISTINCT case_id) FROM missing "
        "GROUP BY field ORDER BY 2 DESC, min(position)",
    )
    listed = rows(
        con,
        f"""
WITH {base}
SELECT case_id, lang, string_agg(field, ', ' ORDER BY position), min(url)
FROM missing GROUP BY case_id, lang ORDER BY case_id, lang LIMIT {int(limit)}""",
    )
    return int(total), [(str(f), int(k)) for f, k in by_field], listed
