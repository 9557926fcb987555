"""Every number of the report, computed by SQL on a read-only warehouse connection.

Python only arranges the rows; counts, shares and totals come from the queries, so what the
report shows is what ``latinno query`` would show. Charts about the dataset use the active cases
(withdrawn cases are no longer on the site); each function says which rows it rests on.
Ordering is total (ties broken by code) so the same data always gives the same report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from latinno.columns import of_kind
from latinno.record import CASE_COLUMNS
from latinno.vocabulary import DESIGN_FIELDS, FIELD_LABELS, SECTION_HEADINGS
from warehouse.views import BRIDGES

UNKNOWN_COUNTRY = "?"
_OWN_LABELS = {"country_code": "Country"}


def _field_label(name: str) -> str:
    """A field's label as the page shows it (its heading or design label), else its name."""
    labels = FIELD_LABELS.get(name) or SECTION_HEADINGS.get(name) or {}
    return _OWN_LABELS.get(name) or labels.get("en") or name.replace("_", " ").capitalize()


# The record's content fields whose fill rate the report shows, in page order (the list of the
# parts a page showed is not one: it is read by missing_sections).
FILL_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (c.name, _field_label(c.name)) for c in CASE_COLUMNS if c.kind != "sections"
)
# The parts a page may show (cases.sections_present), in page order, and the section each
# design field lies in: a case whose page lacked a section is counted under the section only.
[_SECTIONS] = of_kind(CASE_COLUMNS, "sections")
PAGE_PARTS: tuple[str, ...] = _SECTIONS.parts
_DESIGN_SECTION = "institutional_design"
_KINDS = {c.name: c.kind for c in CASE_COLUMNS}


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    return con.execute(sql, params).fetchall() if params is not None else con.sql(sql).fetchall()


def one(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> tuple[Any, ...]:
    found = rows(con, sql, params)
    return found[0]


# --- 1. at a glance ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Glance:
    active: int
    withdrawn: int
    countries: int
    languages: list[tuple[str, int]]  # (lang, active cases with a page in it)
    parser_versions: list[tuple[str, int]]  # (version, cases)
    runs: int
    first_run: Any  # datetime | None
    last_run_id: str | None
    last_run_started: Any
    last_run_finished: Any
    pages: int
    parse_issues: int
    open_failures: int
    schema_version: int


def glance(con: duckdb.DuckDBPyConnection) -> Glance:
    active, withdrawn, countries = one(
        con,
        """
SELECT count(*) FILTER (WHERE status = 'active'),
       count(*) FILTER (WHERE status = 'withdrawn'),
       count(DISTINCT country_code) FILTER (WHERE status = 'active')
FROM cases""",
    )
    languages = rows(
        con,
        """
SELECT t.lang, count(DISTINCT t.case_id)
FROM case_texts AS t JOIN cases AS c USING (case_id)
WHERE c.status = 'active' GROUP BY t.lang ORDER BY 2 DESC, 1""",
    )
    versions = rows(
        con,
        "SELECT parser_version, count(*) FROM cases GROUP BY parser_version ORDER BY 2 DESC, 1",
    )
    runs, first_run = one(con, "SELECT count(*), min(started_at) FROM runs")
    last = rows(
        con,
        "SELECT run_id, started_at, finished_at FROM runs ORDER BY started_at DESC, run_id DESC "
        "LIMIT 1",
    )
    last_id, last_started, last_finished = last[0] if last else (None, None, None)
    pages, issues, failures, schema = one(
        con,
        """
SELECT (SELECT count(*) FROM pages), (SELECT count(*) FROM parse_issues),
       (SELECT count(*) FROM fetch_failures WHERE resolved_run_id IS NULL),
       (SELECT coalesce(max(version), 0) FROM schema_version)""",
    )
    return Glance(
        active=active,
        withdrawn=withdrawn,
        countries=countries,
        languages=[(str(lang), int(n)) for lang, n in languages],
        parser_versions=[(str(v), int(n)) for v, n in versions],
        runs=runs,
        first_run=first_run,
        last_run_id=last_id,
        last_run_started=last_started,
        last_run_finished=last_finished,
        pages=pages,
        parse_issues=issues,
        open_failures=failures,
        schema_version=schema,
    )


# --- 2. countries -----------------------------------------------------------------------------

# Active cases with their country key: '?' when the page named none.
_ACTIVE = """
active AS (
    SELECT *, coalesce(country_code, '?') AS cc FROM cases WHERE status = 'active'
),
per_country AS (SELECT cc, count(*) AS n FROM active GROUP BY cc),
names AS (
    SELECT p.cc, p.n,
           CASE WHEN p.cc = '?' THEN '(no country on the page)'
                ELSE coalesce(k.name_en, '(unknown code ' || p.cc || ')') END AS name
    FROM per_country AS p LEFT JOIN countries AS k ON k.country_code = p.cc
)"""


@dataclass(frozen=True, slots=True)
class CountryCount:
    code: str
    name: str
    active: int
    withdrawn: int


def cases_by_country(con: duckdb.DuckDBPyConnection) -> list[CountryCount]:
    """Every LATINNO country (0 included) and any other country code found, most cases first."""
    found = rows(
        con,
        """
WITH c AS (SELECT coalesce(country_code, '?') AS cc, status FROM cases),
keys AS (SELECT country_code AS cc FROM countries UNION SELECT cc FROM c)
SELECT keys.cc,
       CASE WHEN keys.cc = '?' THEN '(no country on the page)'
            ELSE coalesce(k.name_en, '(unknown code ' || keys.cc || ')') END AS name,
       count(c.cc) FILTER (WHERE c.status = 'active') AS active,
       count(c.cc) FILTER (WHERE c.status = 'withdrawn') AS withdrawn
FROM keys LEFT JOIN c ON c.cc = keys.cc LEFT JOIN countries AS k ON k.country_code = keys.cc
GROUP BY ALL ORDER BY active DESC, withdrawn DESC, name, keys.cc""",
    )
    return [CountryCount(str(cc), str(name), int(a), int(w)) for cc, name, a, w in found]


@dataclass(frozen=True, slots=True)
class Matrix:
    """Counts and shares by row (country, or a code) and column (a code or category)."""

    rows: list[tuple[str, str, int]]  # (key, label, n the shares of that row rest on)
    cols: list[tuple[str, str]]  # (key, label)
    counts: list[list[int]]
    shares: list[list[float]]


def _matrix(
    found: list[tuple[Any, ...]], cols: list[tuple[str, str]], order: list[tuple[str, str, int]]
) -> Matrix:
    """Rows of (row key, col key, count, share) arranged as a grid; absent cells are 0."""
    cells = {(r, c): (int(k), float(s)) for r, c, k, s in found}
    col_keys = [key for key, _ in cols]
    return Matrix(
        rows=order,
        cols=cols,
        counts=[[cells.get((r, c), (0, 0.0))[0] for c in col_keys] for r, _, _ in order],
        shares=[[cells.get((r, c), (0, 0.0))[1] for c in col_keys] for r, _, _ in order],
    )


def _country_order(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """All active cases first ('*'), then each country with active cases, most cases first."""
    found = rows(
        con,
        f"""
WITH {_ACTIVE}
SELECT '*', 'All countries', (SELECT count(*) FROM active), 0
UNION ALL SELECT cc, name, n, 1 FROM names
ORDER BY 4, 3 DESC, 2, 1""",
    )
    if not found or found[0][2] == 0:
        return []
    return [(str(key), str(name), int(n)) for key, name, n, _ in found]


def codes(con: duckdb.DuckDBPyConnection, field: str) -> list[tuple[str, str]]:
    """(code, English label) of a vocabulary field, in page order."""
    return [
        (str(code), str(label))
        for code, label in rows(
            con,
            "SELECT code, coalesce(label_en, code) FROM vocabulary WHERE field = ? "
            "ORDER BY position, code",
            [field],
        )
    ]


def option_shares(con: duckdb.DuckDBPyConnection, field: str) -> Matrix:
    """Share of a country's active cases with each means / ends / policy-cycle code."""
    table, column = BRIDGES[field]
    order = _country_order(con)
    found = rows(
        con,
        f"""
WITH {_ACTIVE},
hits AS (
    SELECT a.cc, b.{column} AS code, count(DISTINCT a.case_id) AS k
    FROM active AS a JOIN {table} AS b USING (case_id) GROUP BY ALL
),
everywhere AS (
    SELECT '*' AS cc, b.{column} AS code, count(DISTINCT a.case_id) AS k
    FROM active AS a JOIN {table} AS b USING (case_id) GROUP BY ALL
)
SELECT h.cc, h.code, h.k, h.k / p.n FROM hits AS h JOIN per_country AS p USING (cc)
UNION ALL
SELECT e.cc, e.code, e.k, e.k / (SELECT count(*) FROM active) FROM everywhere AS e""",
    )
    cols = codes(con, field)
    known = {key for key, _ in cols}
    cols += [(str(c), str(c)) for c in sorted({r[1] for r in found} - known)]
    return _matrix(found, cols, order)


def category_shares(con: duckdb.DuckDBPyConnection, field: str) -> Matrix:
    """Share of a country's active cases in each value of a coded field or a yes/no flag.

    NULL (not shown on the page) is its own column, 'not shown'; a value that is not a code
    (kept raw) is 'other'.
    """
    if _KINDS.get(field) == "flag":
        expr = f"CASE WHEN {field} THEN 'yes' WHEN NOT {field} THEN 'no' END"
        cols = [("yes", "Yes"), ("no", "No")]
    else:
        expr = (
            f"CASE WHEN {field} IS NULL THEN NULL WHEN {field} IN "
            f"(SELECT code FROM vocabulary WHERE field = '{field}') THEN {field} "
            "ELSE '(other)' END"
        )
        cols = [(code, label) for code, label in _short(codes(con, field))]
    order = _country_order(con)
    found = rows(
        con,
        f"""
WITH {_ACTIVE},
valued AS (SELECT cc, coalesce({expr}, '(not shown)') AS v FROM active)
SELECT v.cc, v.v, count(*), count(*) / p.n
FROM valued AS v JOIN per_country AS p USING (cc) GROUP BY v.cc, v.v, p.n
UNION ALL
SELECT '*', v, count(*), count(*) / (SELECT count(*) FROM active) FROM valued GROUP BY v""",
    )
    present = {r[1] for r in found}
    if "(other)" in present:
        cols.append(("(other)", "Other (not a code)"))
    cols.append(("(not shown)", "Not shown"))
    return _matrix(found, cols, order)


def _short(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Decisiveness labels on the site are whole sentences; the code reads better in a legend."""
    return [
        (code, code.replace("non_", "non-").replace("_", " ").capitalize()) for code, _ in pairs
    ]


# --- 3. combinations --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cooccurrence:
    matrix: Matrix  # rows: means (n = active cases with that means), cols: ends; share of row
    cases: int  # active cases with at least one means and one end


def cooccurrence(con: duckdb.DuckDBPyConnection) -> Cooccurrence:
    means, ends = codes(con, "means"), codes(con, "ends")
    per_means = dict(
        rows(
            con,
            """
SELECT m.means, count(DISTINCT m.case_id)
FROM case_means AS m JOIN cases AS c USING (case_id) WHERE c.status = 'active'
GROUP BY m.means""",
        )
    )
    found = rows(
        con,
        """
WITH pairs AS (
    SELECT m.means, e.ends, count(DISTINCT c.case_id) AS k
    FROM cases AS c JOIN case_means AS m USING (case_id) JOIN case_ends AS e USING (case_id)
    WHERE c.status = 'active' GROUP BY ALL
),
per_means AS (
    SELECT m.means, count(DISTINCT m.case_id) AS n
    FROM case_means AS m JOIN cases AS c USING (case_id) WHERE c.status = 'active'
    GROUP BY m.means
)
SELECT p.means, p.ends, p.k, p.k / n.n FROM pairs AS p JOIN per_means AS n USING (means)""",
    )
    cases = one(
        con,
        """
SELECT count(*) FROM cases AS c
WHERE c.status = 'active'
  AND EXISTS (SELECT 1 FROM case_means AS m WHERE m.case_id = c.case_id)
  AND EXISTS (SELECT 1 FROM case_ends AS e WHERE e.case_id = c.case_id)""",
    )[0]
    known_means = {code for code, _ in means}
    means += [(str(c), str(c)) for c in sorted(set(per_means) - known_means)]
    known_ends = {code for code, _ in ends}
    ends += [(str(c), str(c)) for c in sorted({r[1] for r in found} - known_ends)]
    order = [(code, label, int(per_means.get(code, 0))) for code, label in means]
    return Cooccurrence(_matrix(found, ends, order), int(cases))


# --- 4. change over time ----------------------------------------------------------------------

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


# --- 5. data quality --------------------------------------------------------------------------


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
SELECT run_id, url, status, reason, attempts FROM fetch_failures
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


# --- 6. runs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunRow:
    run_id: str
    started_at: Any
    finished_at: Any
    duration_s: float | None
    requests: int
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
    that failed to parse), unless the run recorded its own ``requests`` count. Share 304 is
    not modified / (fetched + not modified).
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
       coalesce(recorded_requests, fetched + not_modified + gone + fetch_failed),
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
            fetched=int(r[5]),
            not_modified=int(r[6]),
            gone=int(r[7]),
            fetch_failed=int(r[8]),
            not_requested=int(r[9]),
            share_304=None if r[10] is None else float(r[10]),
            new=int(r[11]),
            changed=int(r[12]),
            withdrawn=int(r[13]),
            parse_issues=int(r[14]),
        )
        for r in found
    ]
