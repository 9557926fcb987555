"""One apply step per table: set-based SQL from the staged batch into the warehouse.

Each step reads the registered batch (``_in_cases``, ``_in_texts``, ``_in_issues``), the
staged cases (``_staged``: kind, hashes, record JSON) and the ``_changed`` view (incoming rows
of the cases whose row is rewritten), inside the caller's transaction. Column lists come from
the column spec, so a content field added there is written by every step without an edit here.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

import duckdb

from latinno.columns import Column, of_kind, row_columns


@cache
def _cases_sql(columns: tuple[Column, ...]) -> tuple[str, str]:
    """(INSERT of new cases, UPDATE of rewritten ones) with the spec's columns of ``cases``."""
    names = [c.name for c in row_columns(columns)]
    insert = f"""
INSERT INTO cases (case_id, {", ".join(names)}, url, lang, status, first_seen_at,
                   last_seen_at, last_changed_at, parser_version, content_hash, quick_hash)
SELECT case_id, {", ".join(names)}, url, lang, 'active', $seen, $seen, $seen,
       parser_version, content_hash, quick_hash
FROM _changed WHERE kind = 'new'
"""
    sets = "".join(f"{name} = c.{name}, " for name in names)
    update = f"""
UPDATE cases SET
    {sets}url = c.url, lang = c.lang, status = 'active',
    last_seen_at = greatest(cases.last_seen_at, $seen),
    last_changed_at = CASE WHEN c.kind IN ('amended', 'reassigned') THEN cases.last_changed_at
                           ELSE $seen END,
    parser_version = c.parser_version, content_hash = c.content_hash,
    quick_hash = c.quick_hash
FROM _changed AS c
WHERE c.case_id = cases.case_id AND c.kind <> 'new'
"""
    return insert, update


# Every case of the batch was seen; unchanged staged ones follow the latest url/version.
_CASES_SEEN = """
UPDATE cases SET
    last_seen_at = greatest(cases.last_seen_at, $seen),
    url = coalesce(s.url, cases.url), lang = coalesce(s.lang, cases.lang),
    parser_version = coalesce(s.parser_version, cases.parser_version),
    quick_hash = coalesce(s.quick_hash, cases.quick_hash)
FROM _in_cases AS i
LEFT JOIN (SELECT s.*, c.url, c.lang, c.parser_version FROM _staged AS s
           JOIN _in_cases AS c ON c.case_id = s.case_id WHERE s.kind = 'unchanged') AS s
    ON s.case_id = i.case_id
WHERE i.case_id = cases.case_id AND (
    cases.last_seen_at < $seen OR cases.url IS DISTINCT FROM coalesce(s.url, cases.url)
    OR cases.parser_version IS DISTINCT FROM coalesce(s.parser_version, cases.parser_version)
    OR cases.quick_hash IS DISTINCT FROM coalesce(s.quick_hash, cases.quick_hash))
"""


def apply_cases(
    con: duckdb.DuckDBPyConnection, seen: datetime, columns: tuple[Column, ...]
) -> None:
    """cases: new rows inserted; changed ones rewritten (keeping first_seen_at); all seen."""
    insert, update = _cases_sql(columns)
    con.execute(insert, {"seen": seen})
    con.execute(update, {"seen": seen})
    con.execute(_CASES_SEEN, {"seen": seen})


def apply_bridges(con: duckdb.DuckDBPyConnection, columns: tuple[Column, ...]) -> None:
    """One bridge table per list of codes: the rewritten cases' rows replaced."""
    for column in of_kind(columns, "codes"):
        table, code = column.table, column.code_column
        con.execute(f"DELETE FROM {table} WHERE case_id IN (SELECT case_id FROM _changed)")
        # Bridge rows are a set: the raw lists, deduplicated, without the ordering lambdas.
        con.execute(
            f"INSERT INTO {table} (case_id, {code}) "
            f"SELECT case_id, unnest(list_distinct({column.name})) FROM _in_cases "
            "WHERE case_id IN (SELECT case_id FROM _staged WHERE kind <> 'unchanged')"
        )


def apply_sources(con: duckdb.DuckDBPyConnection, columns: tuple[Column, ...]) -> None:
    """case_sources: the rewritten cases' sources replaced, numbered in page order."""
    for column in of_kind(columns, "sources"):
        table, name = column.table, column.name
        con.execute(f"DELETE FROM {table} WHERE case_id IN (SELECT case_id FROM _changed)")
        con.execute(
            f"""
INSERT INTO {table}
SELECT case_id, position, source.text, source.url FROM (
    SELECT case_id, unnest(range(1, len({name}) + 1)) AS position, unnest({name}) AS source
    FROM _changed)
"""
        )


def apply_history(con: duckdb.DuckDBPyConnection, seen: datetime, run_id: str) -> None:
    """case_history: the current version closed and a new one added per new/changed case."""
    con.execute(
        """
UPDATE case_history SET valid_to = $seen
WHERE valid_to IS NULL
  AND case_id IN (SELECT case_id FROM _staged WHERE kind IN ('changed', 'reactivated'))
""",
        {"seen": seen},
    )
    con.execute(
        """
INSERT INTO case_history
SELECT case_id, coalesce(current_version, 0) + 1, $seen, NULL, 'active', kind,
       content_hash, record, $run_id
FROM _staged WHERE kind IN ('new', 'changed', 'reactivated')
""",
        {"seen": seen, "run_id": run_id},
    )
    # Loaded again in the same run (its languages in separate batches, the row first built
    # from another language): the run's version is completed in place, not versioned again.
    # So is a version whose row only changed language (reassigned): the content is the same.
    con.execute(
        """
UPDATE case_history SET content_hash = s.content_hash, record = s.record
FROM _staged AS s
WHERE s.kind IN ('amended', 'reassigned') AND s.case_id = case_history.case_id
  AND case_history.valid_to IS NULL
"""
    )


@cache
def _texts_sql(columns: tuple[Column, ...]) -> tuple[str, str]:
    """(UPDATE of known languages, INSERT of new ones) with the spec's text columns."""
    names = [c.name for c in of_kind(columns, "text")]
    sets = "".join(f"{n} = t.{n}, " for n in names)
    same = " AND ".join(f"case_texts.{n} IS NOT DISTINCT FROM t.{n}" for n in names)
    differs = "".join(f"\n    OR case_texts.{n} IS DISTINCT FROM t.{n}" for n in names)
    update = f"""
UPDATE case_texts SET
    {sets}url = t.url,
    last_seen_at = greatest(case_texts.last_seen_at, $seen),
    last_changed_at = CASE WHEN {same} THEN case_texts.last_changed_at ELSE $seen END
FROM _in_texts AS t
WHERE t.case_id = case_texts.case_id AND t.lang = case_texts.lang AND (
    case_texts.last_seen_at < $seen OR case_texts.url <> t.url{differs})
"""
    insert = f"""
INSERT INTO case_texts (case_id, lang, {", ".join(names)}, url, first_seen_at, last_seen_at,
                        last_changed_at)
SELECT t.case_id, t.lang, {", ".join(f"t.{n}" for n in names)}, t.url, $seen, $seen, $seen
FROM _in_texts AS t
WHERE NOT EXISTS (
    SELECT 1 FROM case_texts AS e WHERE e.case_id = t.case_id AND e.lang = t.lang)
"""
    return update, insert


def apply_texts(
    con: duckdb.DuckDBPyConnection, seen: datetime, columns: tuple[Column, ...]
) -> None:
    """case_texts: every language; last_changed_at moves only when a text changes."""
    update, insert = _texts_sql(columns)
    con.execute(update, {"seen": seen})
    con.execute(insert, {"seen": seen})


_SAME_ISSUE = """i.case_id = p.case_id AND i.lang = p.lang AND i.field = p.field
      AND i.raw IS NOT DISTINCT FROM p.raw AND i.message = p.message AND i.url = p.url"""


def apply_issues(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """parse_issues: a loaded page's issues replace its earlier ones; a repeated issue keeps its
    row (and the run that first reported it)."""
    con.execute(
        f"""
DELETE FROM parse_issues AS p
WHERE EXISTS (SELECT 1 FROM _in_texts AS t WHERE t.case_id = p.case_id AND t.lang = p.lang)
  AND NOT EXISTS (SELECT 1 FROM _in_issues AS i WHERE {_SAME_ISSUE})
"""
    )
    con.execute(
        f"""
INSERT INTO parse_issues
SELECT $run_id, i.case_id, i.lang, i.url, i.field, i.raw, i.message
FROM _in_issues AS i
WHERE NOT EXISTS (SELECT 1 FROM parse_issues AS p WHERE {_SAME_ISSUE})
""",
        {"run_id": run_id},
    )
