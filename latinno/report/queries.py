"""The report's SQL: shared helpers, and the numbers of the sections about the dataset itself
(at a glance, countries, combinations of means and ends).

Every number of the report is computed by SQL on a read-only warehouse connection, here and in
``queries_quality`` and ``queries_runs``. Python only arranges the rows; counts, shares and totals
come from the queries, so what the report shows is what ``latinno query`` would show. Charts about
the dataset use the active cases (withdrawn cases are no longer on the site); each function says
which rows it rests on. Ordering is total (ties broken by code) so the same data always gives the
same report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from latinno.record import CASE_COLUMNS
from latinno.vocabulary import FIELD_LABELS, SECTION_HEADINGS
from warehouse.views import BRIDGES

_OWN_LABELS = {"country_code": "Country"}
_KINDS = {c.name: c.kind for c in CASE_COLUMNS}


def field_label(name: str) -> str:
    """A field's label as the page shows it (its heading or design label), else its name."""
    labels = FIELD_LABELS.get(name) or SECTION_HEADINGS.get(name) or {}
    return _OWN_LABELS.get(name) or labels.get("en") or name.replace("_", " ").capitalize()


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
