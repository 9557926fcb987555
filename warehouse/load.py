"""Bulk, idempotent loading of case records into the warehouse.

One call = one transaction. Records become Arrow tables that DuckDB reads directly; every
change is a set-based SQL statement, never a statement per row.

Which record builds the ``cases`` row: a case's record in ``primary_lang`` (the first configured
language). Without one, another language's record builds it only when the case has no row yet,
or its row came from a non-primary language; otherwise that record only updates ``case_texts``
(a 304 on the English page plus a changed Spanish page must not turn the row Spanish).

Change detection: ``warehouse.content`` defines the hashed content. Same hash and active
status = unchanged: only ``last_seen_at`` moves (and url/parser_version follow the latest
record). Parse issues: a loaded page's issues replace its earlier ones; an issue seen again
keeps its row (and the run that first reported it), so reloading adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from latinno.errors import WarehouseError
from latinno.record import CaseRecord
from latinno.vocabulary import LANGS, codes_for
from warehouse.content import HASHED_FIELDS, LIST_FIELDS
from warehouse.db import utc_naive
from warehouse.views import BRIDGES


@dataclass(frozen=True, slots=True)
class LoadStats:
    """What one load did: cases by outcome, and language versions (case_texts rows) loaded."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    texts: int = 0
    reactivated: int = 0
    issues: int = 0


_SOURCE_TYPE = pa.struct([("text", pa.string()), ("url", pa.string())])
_CASE_SCHEMA = pa.schema(
    [
        ("case_id", pa.int32()),
        ("country_code", pa.string()),
        ("title", pa.string()),
        ("description", pa.string()),
        ("formalization", pa.string()),
        ("frequency", pa.string()),
        ("participant_selection", pa.string()),
        ("participant_types", pa.list_(pa.string())),
        ("decisiveness", pa.string()),
        ("co_governance", pa.bool_()),
        ("means", pa.list_(pa.string())),
        ("ends", pa.list_(pa.string())),
        ("policy_cycle", pa.list_(pa.string())),
        ("sources", pa.list_(_SOURCE_TYPE)),
        ("url", pa.string()),
        ("lang", pa.string()),
        ("is_primary", pa.bool_()),
        ("parser_version", pa.string()),
    ]
)
_TEXT_SCHEMA = pa.schema(
    [
        ("case_id", pa.int32()),
        ("lang", pa.string()),
        ("title", pa.string()),
        ("description", pa.string()),
        ("url", pa.string()),
    ]
)
_ISSUE_SCHEMA = pa.schema(
    [
        ("case_id", pa.int32()),
        ("lang", pa.string()),
        ("url", pa.string()),
        ("field", pa.string()),
        ("raw", pa.string()),
        ("message", pa.string()),
    ]
)
_KEY_SCHEMA = pa.schema([("case_id", pa.int32()), ("lang", pa.string())])


def _choose(records: Sequence[CaseRecord], primary_lang: str) -> tuple[list, list]:
    """(record building each case's row, every distinct (case_id, lang) record).

    A repeated (case_id, lang) in one batch: the last one wins.
    """
    by_key = {(r.case_id, r.lang): r for r in records}
    pages = list(by_key.values())
    if all(r.lang == primary_lang for r in pages):  # the usual batch: one language
        return pages, pages
    rank = {lang: i for i, lang in enumerate((primary_lang, *LANGS))}
    chosen: dict[int, CaseRecord] = {}
    for record in pages:
        held = chosen.get(record.case_id)
        if held is None or rank.get(record.lang, 99) < rank.get(held.lang, 99):
            chosen[record.case_id] = record
    return list(chosen.values()), pages


def _tables(records: Sequence[CaseRecord], primary_lang: str) -> dict[str, pa.Table]:
    """Arrow tables of one batch: chosen case rows (lists as lists), texts, issues.

    Built column by column (no per-record dicts): the hashed JSON, list order and bridge rows
    are computed inside DuckDB, vectorized.
    """
    chosen, pages = _choose(records, primary_lang)
    text_fields = ("case_id", "lang", "title", "description", "url")
    texts = {
        f: pa.array([getattr(r, f) for r in pages], _TEXT_SCHEMA.field(f).type)
        for f in text_fields
    }
    cases: dict[str, Any] = {}
    for field in _CASE_SCHEMA:
        if chosen is pages and field.name in texts:  # one language: share the arrays
            cases[field.name] = texts[field.name]
        elif field.name == "sources":
            cases[field.name] = pa.array(
                [[{"text": s.text, "url": s.url} for s in r.sources] for r in chosen], field.type
            )
        elif field.name == "is_primary":
            cases[field.name] = pa.array([r.lang == primary_lang for r in chosen], field.type)
        else:
            cases[field.name] = pa.array([getattr(r, field.name) for r in chosen], field.type)
    issues: dict[str, list] = {name: [] for name in _ISSUE_SCHEMA.names}
    for record in pages:
        for issue in dict.fromkeys(record.issues):
            issues["case_id"].append(record.case_id)
            issues["lang"].append(record.lang)
            issues["url"].append(record.url)
            issues["field"].append(issue.field)
            issues["raw"].append(issue.raw)
            issues["message"].append(issue.message)
    return {
        "_in_cases": pa.Table.from_arrays(list(cases.values()), schema=_CASE_SCHEMA),
        "_in_texts": pa.Table.from_arrays(list(texts.values()), schema=_TEXT_SCHEMA),
        "_in_issues": pa.table(issues, schema=_ISSUE_SCHEMA),
    }


def _ordered(name: str) -> str:
    """SQL: distinct codes of list column ``name`` in vocabulary order, unknown ones after,
    sorted (content.ordered_codes, vectorized)."""
    codes = "[" + ", ".join(f"'{c}'" for c in codes_for(name)) + "]::VARCHAR[]"
    return (
        f"list_concat(list_filter({codes}, lambda c: list_contains(i.{name}, c)), "
        f"list_sort(list_distinct(list_filter(i.{name}, lambda c: NOT list_contains({codes}, c)))))"
    )


def _record_json() -> str:
    """SQL: the hashed content as JSON text, byte-identical to content.canonical_json."""
    parts = ", ".join(
        f"'{f}', {_ordered(f) if f in LIST_FIELDS else 'i.' + f}" for f in HASHED_FIELDS
    )
    return f"json_object({parts})::VARCHAR"


# Only keys and hashes are materialized: descriptions are large, and unchanged cases (the
# usual reload) need nothing else.
_STAGING = f"""
CREATE OR REPLACE TEMP TABLE _staged AS
SELECT
    h.case_id,
    h.content_hash,
    CASE
        WHEN e.case_id IS NULL THEN 'new'
        WHEN e.status = 'withdrawn' THEN 'reactivated'
        WHEN e.content_hash <> h.content_hash THEN 'changed'
        ELSE 'unchanged'
    END AS kind,
    v.version AS current_version
FROM (
    SELECT i.case_id, i.lang, i.is_primary, sha256({_record_json()}) AS content_hash
    FROM _in_cases AS i
) AS h
LEFT JOIN cases AS e ON e.case_id = h.case_id
LEFT JOIN (
    SELECT case_id, max(version) AS version FROM case_history
    WHERE case_id IN (SELECT case_id FROM _in_cases)
    GROUP BY case_id
) AS v ON v.case_id = h.case_id
WHERE h.is_primary OR e.case_id IS NULL OR e.lang <> $primary
"""

# New, changed and reactivated cases with their normalized lists (a view: each statement
# reads only the columns it needs, and the JSON only where it is used).
_CHANGED = f"""
CREATE OR REPLACE TEMP VIEW _changed AS
SELECT
    i.* REPLACE (
        {_ordered("participant_types")} AS participant_types,
        {_ordered("means")} AS means,
        {_ordered("ends")} AS ends,
        {_ordered("policy_cycle")} AS policy_cycle
    ),
    s.kind,
    s.content_hash,
    s.current_version,
    {_record_json()} AS record
FROM _in_cases AS i
JOIN _staged AS s ON s.case_id = i.case_id
WHERE s.kind <> 'unchanged'
"""


def _apply(con: duckdb.DuckDBPyConnection, run_id: str, seen: datetime, primary: str) -> None:
    con.execute(_STAGING, {"primary": primary})
    con.execute(_CHANGED)
    params = {"seen": seen}
    # cases: full row; first_seen_at survives a change.
    con.execute(
        """
INSERT INTO cases
SELECT case_id, country_code, title, description, formalization, frequency,
       participant_selection, decisiveness, co_governance, url, lang, 'active',
       $seen, $seen, $seen, parser_version, content_hash
FROM _changed
ON CONFLICT (case_id) DO UPDATE SET
    country_code = excluded.country_code, title = excluded.title,
    description = excluded.description, formalization = excluded.formalization,
    frequency = excluded.frequency, participant_selection = excluded.participant_selection,
    decisiveness = excluded.decisiveness, co_governance = excluded.co_governance,
    url = excluded.url, lang = excluded.lang, status = 'active',
    last_seen_at = greatest(cases.last_seen_at, excluded.last_seen_at),
    last_changed_at = excluded.last_changed_at, parser_version = excluded.parser_version,
    content_hash = excluded.content_hash
""",
        params,
    )
    # Every case of the batch was seen; unchanged staged ones follow the latest url/version.
    con.execute(
        """
UPDATE cases SET
    last_seen_at = greatest(cases.last_seen_at, $seen),
    url = coalesce(s.url, cases.url), lang = coalesce(s.lang, cases.lang),
    parser_version = coalesce(s.parser_version, cases.parser_version)
FROM _in_cases AS i
LEFT JOIN (SELECT s.*, c.url, c.lang, c.parser_version FROM _staged AS s
           JOIN _in_cases AS c ON c.case_id = s.case_id WHERE s.kind = 'unchanged') AS s
    ON s.case_id = i.case_id
WHERE i.case_id = cases.case_id AND (
    cases.last_seen_at < $seen OR cases.url IS DISTINCT FROM coalesce(s.url, cases.url)
    OR cases.parser_version IS DISTINCT FROM coalesce(s.parser_version, cases.parser_version))
""",
        params,
    )
    for name, (table, column) in BRIDGES.items():
        con.execute(f"DELETE FROM {table} WHERE case_id IN (SELECT case_id FROM _changed)")
        con.execute(
            f"INSERT INTO {table} (case_id, {column}) "
            f"SELECT case_id, unnest({name}) FROM _changed"
        )
    con.execute("DELETE FROM case_sources WHERE case_id IN (SELECT case_id FROM _changed)")
    con.execute(
        """
INSERT INTO case_sources
SELECT case_id, position, source.text, source.url FROM (
    SELECT case_id, unnest(range(1, len(sources) + 1)) AS position, unnest(sources) AS source
    FROM _changed)
"""
    )
    con.execute(
        """
UPDATE case_history SET valid_to = $seen
WHERE valid_to IS NULL AND case_id IN (SELECT case_id FROM _changed)
""",
        params,
    )
    con.execute(
        """
INSERT INTO case_history
SELECT case_id, coalesce(current_version, 0) + 1, $seen, NULL, 'active', kind,
       content_hash, record::JSON, $run_id
FROM _changed
""",
        {**params, "run_id": run_id},
    )
    # case_texts: every language; last_changed_at moves only when title/description change.
    con.execute(
        """
INSERT INTO case_texts
SELECT t.case_id, t.lang, t.title, t.description, t.url, $seen, $seen, $seen
FROM _in_texts AS t
LEFT JOIN case_texts AS e ON e.case_id = t.case_id AND e.lang = t.lang
WHERE e.case_id IS NULL OR e.title IS DISTINCT FROM t.title
   OR e.description IS DISTINCT FROM t.description OR e.url <> t.url
ON CONFLICT (case_id, lang) DO UPDATE SET
    title = excluded.title, description = excluded.description, url = excluded.url,
    last_seen_at = greatest(case_texts.last_seen_at, excluded.last_seen_at),
    last_changed_at = CASE
        WHEN case_texts.title IS NOT DISTINCT FROM excluded.title
         AND case_texts.description IS NOT DISTINCT FROM excluded.description
        THEN case_texts.last_changed_at ELSE excluded.last_changed_at END
""",
        params,
    )
    con.execute(
        """
UPDATE case_texts SET last_seen_at = $seen
FROM _in_texts AS t
WHERE t.case_id = case_texts.case_id AND t.lang = case_texts.lang
  AND case_texts.last_seen_at < $seen
""",
        params,
    )
    con.execute(
        """
DELETE FROM parse_issues AS p
WHERE EXISTS (SELECT 1 FROM _in_texts AS t WHERE t.case_id = p.case_id AND t.lang = p.lang)
  AND NOT EXISTS (
    SELECT 1 FROM _in_issues AS i
    WHERE i.case_id = p.case_id AND i.lang = p.lang AND i.field = p.field
      AND i.raw IS NOT DISTINCT FROM p.raw AND i.message = p.message AND i.url = p.url)
"""
    )
    con.execute(
        """
INSERT INTO parse_issues
SELECT $run_id, i.case_id, i.lang, i.url, i.field, i.raw, i.message
FROM _in_issues AS i
WHERE NOT EXISTS (
    SELECT 1 FROM parse_issues AS p
    WHERE i.case_id = p.case_id AND i.lang = p.lang AND i.field = p.field
      AND i.raw IS NOT DISTINCT FROM p.raw AND i.message = p.message AND i.url = p.url)
""",
        {"run_id": run_id},
    )


def load_records(
    con: duckdb.DuckDBPyConnection,
    records: Sequence[CaseRecord],
    *,
    run_id: str,
    seen_at: datetime,
    primary_lang: str,
) -> LoadStats:
    """Upsert a batch of records (any languages) in one transaction; see the module doc."""
    if not records:
        return LoadStats()
    tables = _tables(records, primary_lang)
    seen = utc_naive(seen_at)
    for name, table in tables.items():
        con.register(name, table)
    con.begin()
    try:
        _apply(con, run_id, seen, primary_lang)
        kinds = dict(con.execute("SELECT kind, count(*) FROM _staged GROUP BY kind").fetchall())
        con.execute("DROP VIEW _changed")
        con.execute("DROP TABLE _staged")
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        raise WarehouseError(
            f"loading {len(records)} records (run {run_id}) failed: {exc}"
        ) from exc
    finally:
        for name in tables:
            con.unregister(name)
    return LoadStats(
        new=kinds.get("new", 0),
        changed=kinds.get("changed", 0),
        unchanged=kinds.get("unchanged", 0),
        texts=tables["_in_texts"].num_rows,
        reactivated=kinds.get("reactivated", 0),
        issues=tables["_in_issues"].num_rows,
    )


def _keys_table(keys: Sequence[tuple[int, str]]) -> pa.Table:
    unique = list(dict.fromkeys((int(k), str(lang)) for k, lang in keys))
    return pa.table(
        {"case_id": [k for k, _ in unique], "lang": [lang for _, lang in unique]},
        schema=_KEY_SCHEMA,
    )


def touch_seen(
    con: duckdb.DuckDBPyConnection, keys: Sequence[tuple[int, str]], seen_at: datetime
) -> int:
    """Pages answered 304 or with an unchanged body: only last_seen_at moves.

    Exception: a withdrawn case whose page answers again is active again (a reactivated
    history version), whatever way its unchanged body was detected. Returns case_texts rows
    touched.
    """
    if not keys:
        return 0
    seen = utc_naive(seen_at)
    con.register("_in_keys", _keys_table(keys))
    con.begin()
    try:
        row = con.execute(
            """
UPDATE case_texts SET last_seen_at = greatest(case_texts.last_seen_at, $seen)
FROM _in_keys AS k WHERE k.case_id = case_texts.case_id AND k.lang = case_texts.lang
""",
            {"seen": seen},
        ).fetchone()
        touched = int(row[0]) if row else 0
        con.execute(
            "UPDATE cases SET last_seen_at = greatest(cases.last_seen_at, $seen) "
            "WHERE case_id IN (SELECT case_id FROM _in_keys)",
            {"seen": seen},
        )
        _set_status(con, "(SELECT case_id FROM _in_keys)", "active", "reactivated", seen, None)
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        raise WarehouseError(f"marking {len(keys)} pages as seen failed: {exc}") from exc
    finally:
        con.unregister("_in_keys")
    return touched


def _set_status(
    con: duckdb.DuckDBPyConnection,
    ids_sql: str,
    status: str,
    change: str,
    at: datetime,
    run_id: str | None,
) -> int:
    """Give cases among ``ids_sql`` that have another status this one, with a history version."""
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _flip AS
SELECT case_id FROM cases WHERE case_id IN {ids_sql} AND status <> $status
""",
        {"status": status},
    )
    count = con.execute("SELECT count(*) FROM _flip").fetchone()
    con.execute(
        """
UPDATE cases SET status = $status, last_changed_at = $at
WHERE case_id IN (SELECT case_id FROM _flip)
""",
        {"status": status, "at": at},
    )
    con.execute(
        """
INSERT INTO case_history
SELECT h.case_id, h.version + 1, $at, NULL, $status, $change, h.content_hash, h.record, $run_id
FROM case_history AS h
WHERE h.valid_to IS NULL AND h.case_id IN (SELECT case_id FROM _flip)
""",
        {"status": status, "change": change, "at": at, "run_id": run_id},
    )
    con.execute(
        """
UPDATE case_history SET valid_to = $at
WHERE valid_to IS NULL AND status <> $status AND case_id IN (SELECT case_id FROM _flip)
""",
        {"status": status, "at": at},
    )
    con.execute("DROP TABLE _flip")
    return int(count[0]) if count else 0


def mark_withdrawn(
    con: duckdb.DuckDBPyConnection,
    case_ids: Sequence[int],
    at: datetime,
    *,
    run_id: str | None = None,
) -> int:
    """Cases gone from the site: status withdrawn (never deleted), a history version notes it.

    Returns how many active cases were withdrawn (already withdrawn ones are left alone).
    """
    if not case_ids:
        return 0
    ids = pa.table({"case_id": pa.array(sorted(set(case_ids)), pa.int32())})
    con.register("_in_ids", ids)
    con.begin()
    try:
        count = _set_status(
            con, "(SELECT case_id FROM _in_ids)", "withdrawn", "withdrawn", utc_naive(at), run_id
        )
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        raise WarehouseError(f"withdrawing {len(ids)} cases failed: {exc}") from exc
    finally:
        con.unregister("_in_ids")
    return count
