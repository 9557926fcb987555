"""Staging SQL: what each incoming case is (new, changed, amended, reactivated, unchanged).

Change detection in two steps, so a reload of unchanged cases never builds JSON:

1. quick: a case that is active and whose quick_hash (DuckDB ``hash()`` of the raw content
   fields) equals the stored one is unchanged. ``hash()`` is fast but not a stable format across
   DuckDB versions, so a mismatch alone proves nothing (list order, an upgrade): it only sends
   the case to step 2.
2. full: build the canonical JSON and its SHA-256 (content_hash), which alone decides
   new / changed / unchanged. CASE evaluates the JSON only for rows that are not ``fast``.

One query whose pipeline is driven by the scan of the (chunked) Arrow input, so the JSON and
SHA-256 (most of a first load's SQL time) run on every thread, and are materialized once (no
second table re-reading and copying them through a join).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import duckdb
import pyarrow as pa

from latinno.columns import Column, of_kind
from latinno.vocabulary import codes_for
from warehouse.arrow_tables import language_order


def _ordered(name: str, order: tuple[str, ...]) -> str:
    """SQL: distinct values of list column ``name`` in ``order``, unknown ones after, sorted
    (content.ordered_codes and columns.ordered_parts, vectorized)."""
    codes = "[" + ", ".join(f"'{c}'" for c in order) + "]::VARCHAR[]"
    return (
        f"list_concat(list_filter({codes}, lambda c: list_contains(i.{name}, c)), "
        f"list_sort(list_distinct(list_filter(i.{name}, lambda c: NOT list_contains({codes}, c)))))"
    )


def _value(column: Column) -> str:
    if column.kind == "codes":
        return _ordered(column.name, codes_for(column.name))
    if column.kind == "sections":
        return _ordered(column.name, column.parts)
    return f"i.{column.name}"


def record_json(columns: tuple[Column, ...]) -> str:
    """SQL: the hashed content as JSON, its text byte-identical to content.canonical_json."""
    parts = ", ".join(f"'{c.name}', {_value(c)}" for c in columns)
    return f"json_object({parts})"


def kept_json(columns: tuple[Column, ...]) -> str:
    """SQL: the record's content with the existing row's texts (``i._row_{name}``) in place of
    its own: hashed, it equals the row's content_hash when nothing but the language changed."""
    parts = ", ".join(
        f"'{c.name}', {'i._row_' + c.name if c.kind == 'text' else _value(c)}" for c in columns
    )
    return f"json_object({parts})"


def quick_hash(columns: tuple[Column, ...]) -> str:
    """SQL: DuckDB's 64-bit hash of the raw content fields (lists as given)."""
    return "hash(" + ", ".join(f"i.{c.name}" for c in columns) + ")"


@cache
def staging_sql(columns: tuple[Column, ...]) -> str:
    """SQL: one row per incoming case that builds its row: kind, hashes, record JSON.

    The language rule (see ``warehouse.load``): ``$languages`` is the order languages fill a
    row in; a page whose archive's latest answer is not a 200 went from the site.
    """
    texts = [c.name for c in of_kind(columns, "text")]
    row_texts = "".join(f"e.{n} AS _row_{n}, " for n in texts)
    held = " AND ".join(f"t.{n} IS NOT DISTINCT FROM i.{n}" for n in texts) or "true"
    return f"""
SELECT
    k.case_id,
    k.quick_hash,
    coalesce(k.new_hash, k.old_hash) AS content_hash,
    CASE
        WHEN k.fast THEN 'unchanged'
        WHEN NOT k.known THEN 'new'
        WHEN k.status = 'withdrawn' THEN 'reactivated'
        WHEN k.old_hash <> k.new_hash AND k.version_run_id = $run_id THEN 'amended'
        WHEN k.old_hash <> k.new_hash AND k.kept_hash = k.old_hash AND k.texts_held
            THEN 'reassigned'
        WHEN k.old_hash <> k.new_hash THEN 'changed'
        ELSE 'unchanged'
    END AS kind,
    (CASE WHEN k.fast OR k.old_hash = k.new_hash AND k.status = 'active'
          THEN NULL ELSE k.record END)::VARCHAR AS record,
    k.current_version
FROM (
    SELECT j.*, sha256(j.record::VARCHAR) AS new_hash
    FROM (
        SELECT
            i.case_id, i.quick_hash, i.known, i.status, i.old_hash, i.fast,
            i.current_version, i.version_run_id, i.texts_held,
            CASE WHEN i.fast THEN NULL ELSE {record_json(columns)} END AS record,
            CASE WHEN NOT i.fast AND i.lang <> i.row_lang
                 THEN sha256(({kept_json(columns)})::VARCHAR) END AS kept_hash
        FROM (
            SELECT
                i.*,
                {quick_hash(columns)} AS quick_hash,
                e.case_id IS NOT NULL AS known,
                e.status,
                e.content_hash AS old_hash,
                coalesce(e.status = 'active' AND e.quick_hash = {quick_hash(columns)}, false)
                    AS fast,
                v.version AS current_version,
                v.run_id AS version_run_id,
                e.lang AS row_lang, {row_texts}
                t.case_id IS NOT NULL AND {held} AS texts_held
            FROM _in_cases AS i
            LEFT JOIN cases AS e ON e.case_id = i.case_id
            LEFT JOIN (
                SELECT case_id, version, run_id FROM case_history WHERE valid_to IS NULL
            ) AS v ON v.case_id = i.case_id
            LEFT JOIN case_texts AS t ON t.case_id = i.case_id AND t.lang = i.lang
            WHERE e.case_id IS NULL
               OR coalesce(list_position($languages, i.lang), 99)
                  <= coalesce(list_position($languages, e.lang), 99)
               OR coalesce((SELECT arg_max(p.status, p.fetched_at) FROM pages AS p
                            WHERE p.case_id = e.case_id AND p.lang = e.lang), 200) <> 200
        ) AS i
    ) AS j
) AS k
"""


# The incoming rows of cases whose row is rewritten (new, changed, amended, reactivated).
CHANGED_VIEW = """
CREATE OR REPLACE TEMP VIEW _changed AS
SELECT i.*, s.kind, s.content_hash, s.quick_hash
FROM _in_cases AS i
JOIN _staged AS s ON s.case_id = i.case_id
WHERE s.kind <> 'unchanged'
"""


def stage(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    primary: str,
    columns: tuple[Column, ...],
    languages: Sequence[str] = (),
) -> pa.Table:
    """The staged cases (``staging_sql``) as an Arrow table, for the caller to register as
    ``_staged`` (and then create ``CHANGED_VIEW``).

    Arrow, not a temp table: DuckDB collects the result on every thread, one record batch
    each, and the statements that read it (the JSON into case_history above all) scan the
    batches in parallel; a 100k-row temp table is one row group, copied and re-read by one
    thread (~0.1 s slower per 100k records). ``record`` leaves as text and is tagged with
    Arrow's JSON extension type, so DuckDB reads it back as JSON without re-parsing it
    (pyarrow < 19 has no such type: the text is then cast to JSON on insert, same value).
    """
    params = {"languages": language_order(primary, languages), "run_id": run_id}
    staged = con.sql(staging_sql(columns), params=params).to_arrow_table()
    if not hasattr(pa, "json_"):
        return staged
    index = staged.schema.get_field_index("record")
    text = staged.column(index)
    json_type = pa.json_(text.type)
    record = pa.chunked_array(
        [pa.ExtensionArray.from_storage(json_type, chunk) for chunk in text.chunks], json_type
    )
    return staged.set_column(index, pa.field("record", json_type), record)
