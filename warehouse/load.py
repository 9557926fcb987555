"""Bulk, idempotent loading of case records into the warehouse.

One call = one transaction. Records become Arrow tables that DuckDB reads directly; every
change is a set-based SQL statement, never a statement per row.

Which record builds the ``cases`` row: a case's record in ``primary_lang`` (the first configured
language). Without one, another language's record builds it only when the case has no row yet,
or its row came from a non-primary language; otherwise that record only updates ``case_texts``
(a 304 on the English page plus a changed Spanish page must not turn the row Spanish).

Change detection: ``warehouse.content`` defines the hashed content. Same hash and active
status = unchanged: only ``last_seen_at`` moves (and url/parser_version follow the latest
record). A 64-bit ``quick_hash`` of the raw fields lets an unchanged reload skip building the
JSON; it is a shortcut only (see ``_STAGING``). A case whose content changes again within the
same run (its languages loaded in separate batches, the row first built from a fallback
language) is ``amended``: the run's version is rewritten in place instead of adding one.

Parse issues: a loaded page's issues replace its earlier ones; an issue seen again keeps its
row (and the run that first reported it), so reloading adds nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

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
    amended: int = 0


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


def _arrays(records: list[CaseRecord], schema: pa.Schema, names: list[str]) -> dict[str, pa.Array]:
    """Arrow arrays of some record attributes, transposed in one pass (attrgetter + zip)."""
    if not records:
        return {name: pa.array([], schema.field(name).type) for name in names}
    columns = zip(*map(attrgetter(*names), records), strict=True)
    return {
        name: pa.array(column, schema.field(name).type)
        for name, column in zip(names, columns, strict=True)
    }


def _sources_array(records: list[CaseRecord]) -> pa.Array:
    """list<struct<text, url>> built from flat columns (much faster than a list of dicts)."""
    offsets = [0]
    flat = []
    for record in records:
        flat.extend(record.sources)
        offsets.append(len(flat))
    structs = pa.StructArray.from_arrays(
        [
            pa.array([s.text for s in flat], pa.string()),
            pa.array([s.url for s in flat], pa.string()),
        ],
        fields=list(_SOURCE_TYPE),
    )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), structs)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC while building Arrow columns: it allocates millions of short-lived
    objects and none that form cycles, and GC passes over them cost ~30% of the build."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# DuckDB scans a registered Arrow table one record batch per thread: a table built as one
# chunk is read (and its JSON and SHA-256 built) by a single thread. Zero-copy slices of this
# many rows let every thread take part (~1.8x faster on 2 cores for 100k records).
_BATCH_ROWS = 10_240


def _chunked(table: pa.Table) -> pa.Table:
    """The same table as zero-copy record batches of ``_BATCH_ROWS`` rows."""
    return pa.Table.from_batches(table.to_batches(max_chunksize=_BATCH_ROWS), table.schema)


def _tables(records: Sequence[CaseRecord], primary_lang: str) -> dict[str, pa.Table]:
    """Arrow tables of one batch: chosen case rows (lists as lists), texts, issues.

    Built column by column (no per-record dicts): the hashed JSON, list order and bridge rows
    are computed inside DuckDB, vectorized.
    """
    chosen, pages = _choose(records, primary_lang)
    plain = [f for f in _CASE_SCHEMA.names if f not in ("sources", "is_primary")]
    cases = _arrays(chosen, _CASE_SCHEMA, plain)
    if chosen is pages:  # one language (the usual batch): the texts are the same arrays
        texts = {name: cases[name] for name in _TEXT_SCHEMA.names}
    else:
        texts = _arrays(pages, _TEXT_SCHEMA, _TEXT_SCHEMA.names)
    cases["sources"] = _sources_array(chosen)
    cases["is_primary"] = pa.array([r.lang == primary_lang for r in chosen], pa.bool_())
    cases = {name: cases[name] for name in _CASE_SCHEMA.names}
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
        "_in_cases": _chunked(pa.Table.from_arrays(list(cases.values()), schema=_CASE_SCHEMA)),
        "_in_texts": _chunked(pa.Table.from_arrays(list(texts.values()), schema=_TEXT_SCHEMA)),
        "_in_issues": _chunked(pa.table(issues, schema=_ISSUE_SCHEMA)),
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
    """SQL: the hashed content as JSON, its text byte-identical to content.canonical_json."""
    parts = ", ".join(
        f"'{f}', {_ordered(f) if f in LIST_FIELDS else 'i.' + f}" for f in HASHED_FIELDS
    )
    return f"json_object({parts})"


def _quick_hash() -> str:
    """SQL: DuckDB's 64-bit hash of the raw content fields (lists as given)."""
    return "hash(" + ", ".join(f"i.{f}" for f in HASHED_FIELDS) + ")"


# Change detection in two steps, so a reload of unchanged cases never builds JSON:
# 1. quick: a case that is active and whose quick_hash (DuckDB hash() of the raw fields) equals
#    the stored one is unchanged. hash() is fast but not a stable format across DuckDB
#    versions, so a mismatch alone proves nothing (list order, an upgrade): it only sends
#    the case to step 2.
# 2. full: build the canonical JSON and its SHA-256 (content_hash), which alone decides
#    new / changed / unchanged. CASE evaluates the JSON only for rows that are not ``fast``.
# One query whose pipeline is driven by the scan of the (chunked) Arrow input, so the JSON
# and SHA-256 (most of a first load's SQL time) run on every thread, and are materialized
# once (no second table re-reading and copying them through a join); see _stage.
_STAGING = f"""
SELECT
    k.case_id,
    k.quick_hash,
    coalesce(k.new_hash, k.old_hash) AS content_hash,
    CASE
        WHEN k.fast THEN 'unchanged'
        WHEN NOT k.known THEN 'new'
        WHEN k.status = 'withdrawn' THEN 'reactivated'
        WHEN k.old_hash <> k.new_hash AND k.version_run_id = $run_id THEN 'amended'
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
            i.current_version, i.version_run_id,
            CASE WHEN i.fast THEN NULL ELSE {_record_json()} END AS record
        FROM (
            SELECT
                i.*,
                {_quick_hash()} AS quick_hash,
                e.case_id IS NOT NULL AS known,
                e.status,
                e.content_hash AS old_hash,
                coalesce(e.status = 'active' AND e.quick_hash = {_quick_hash()}, false) AS fast,
                v.version AS current_version,
                v.run_id AS version_run_id
            FROM _in_cases AS i
            LEFT JOIN cases AS e ON e.case_id = i.case_id
            LEFT JOIN (
                SELECT case_id, version, run_id FROM case_history WHERE valid_to IS NULL
            ) AS v ON v.case_id = i.case_id
            WHERE i.is_primary OR e.case_id IS NULL OR e.lang <> $primary
        ) AS i
    ) AS j
) AS k
"""

# The incoming rows of cases whose row is rewritten (new, changed, amended, reactivated).
_CHANGED = """
CREATE OR REPLACE TEMP VIEW _changed AS
SELECT i.*, s.kind, s.content_hash, s.quick_hash
FROM _in_cases AS i
JOIN _staged AS s ON s.case_id = i.case_id
WHERE s.kind <> 'unchanged'
"""


def _stage(con: duckdb.DuckDBPyConnection, run_id: str, primary: str) -> pa.Table:
    """The staged cases (``_STAGING``) as an Arrow table, registered as ``_staged`` by the caller.

    Arrow, not a temp table: DuckDB collects the result on every thread, one record batch
    each, and the statements that read it (the JSON into case_history above all) scan the
    batches in parallel; a 100k-row temp table is one row group, copied and re-read by one
    thread (~0.1 s slower per 100k records). ``record`` leaves as text and is tagged with
    Arrow's JSON extension type, so DuckDB reads it back as JSON without re-parsing it
    (pyarrow < 19 has no such type: the text is then cast to JSON on insert, same value).
    """
    staged = con.sql(_STAGING, params={"primary": primary, "run_id": run_id}).to_arrow_table()
    if not hasattr(pa, "json_"):
        return staged
    index = staged.schema.get_field_index("record")
    text = staged.column(index)
    json_type = pa.json_(text.type)
    record = pa.chunked_array(
        [pa.ExtensionArray.from_storage(json_type, chunk) for chunk in text.chunks], json_type
    )
    return staged.set_column(index, pa.field("record", json_type), record)


def _apply(con: duckdb.DuckDBPyConnection, run_id: str, seen: datetime, primary: str) -> None:
    con.register("_staged", _stage(con, run_id, primary))
    con.execute(_CHANGED)
    params = {"seen": seen}
    # cases: new rows are inserted; changed ones rewritten, keeping first_seen_at.
    con.execute(
        """
INSERT INTO cases
SELECT case_id, country_code, title, description, formalization, frequency,
       participant_selection, decisiveness, co_governance, url, lang, 'active',
       $seen, $seen, $seen, parser_version, content_hash, quick_hash
FROM _changed WHERE kind = 'new'
""",
        params,
    )
    con.execute(
        """
UPDATE cases SET
    country_code = c.country_code, title = c.title, description = c.description,
    formalization = c.formalization, frequency = c.frequency,
    participant_selection = c.participant_selection, decisiveness = c.decisiveness,
    co_governance = c.co_governance, url = c.url, lang = c.lang, status = 'active',
    last_seen_at = greatest(cases.last_seen_at, $seen),
    last_changed_at = CASE WHEN c.kind = 'amended' THEN cases.last_changed_at ELSE $seen END,
    parser_version = c.parser_version, content_hash = c.content_hash,
    quick_hash = c.quick_hash
FROM _changed AS c
WHERE c.case_id = cases.case_id AND c.kind <> 'new'
""",
        params,
    )
    # Every case of the batch was seen; unchanged staged ones follow the latest url/version.
    con.execute(
        """
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
""",
        params,
    )
    for name, (table, column) in BRIDGES.items():
        con.execute(f"DELETE FROM {table} WHERE case_id IN (SELECT case_id FROM _changed)")
        # Bridge rows are a set: the raw lists, deduplicated, without the ordering lambdas.
        con.execute(
            f"INSERT INTO {table} (case_id, {column}) "
            f"SELECT case_id, unnest(list_distinct({name})) FROM _in_cases "
            "WHERE case_id IN (SELECT case_id FROM _staged WHERE kind <> 'unchanged')"
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
WHERE valid_to IS NULL
  AND case_id IN (SELECT case_id FROM _staged WHERE kind IN ('changed', 'reactivated'))
""",
        params,
    )
    con.execute(
        """
INSERT INTO case_history
SELECT case_id, coalesce(current_version, 0) + 1, $seen, NULL, 'active', kind,
       content_hash, record, $run_id
FROM _staged WHERE kind IN ('new', 'changed', 'reactivated')
""",
        {**params, "run_id": run_id},
    )
    # Loaded again in the same run (its languages in separate batches, the row first built
    # from another language): the run's version is completed in place, not versioned again.
    con.execute(
        """
UPDATE case_history SET content_hash = s.content_hash, record = s.record
FROM _staged AS s
WHERE s.kind = 'amended' AND s.case_id = case_history.case_id
  AND case_history.valid_to IS NULL
"""
    )
    # case_texts: every language; last_changed_at moves only when title/description change.
    con.execute(
        """
UPDATE case_texts SET
    title = t.title, description = t.description, url = t.url,
    last_seen_at = greatest(case_texts.last_seen_at, $seen),
    last_changed_at = CASE
        WHEN case_texts.title IS NOT DISTINCT FROM t.title
         AND case_texts.description IS NOT DISTINCT FROM t.description
        THEN case_texts.last_changed_at ELSE $seen END
FROM _in_texts AS t
WHERE t.case_id = case_texts.case_id AND t.lang = case_texts.lang AND (
    case_texts.last_seen_at < $seen OR case_texts.url <> t.url
    OR case_texts.title IS DISTINCT FROM t.title
    OR case_texts.description IS DISTINCT FROM t.description)
""",
        params,
    )
    con.execute(
        """
INSERT INTO case_texts
SELECT t.case_id, t.lang, t.title, t.description, t.url, $seen, $seen, $seen
FROM _in_texts AS t
WHERE NOT EXISTS (
    SELECT 1 FROM case_texts AS e WHERE e.case_id = t.case_id AND e.lang = t.lang)
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
    with _no_gc():
        tables = _tables(records, primary_lang)
    seen = utc_naive(seen_at)
    for name, table in tables.items():
        con.register(name, table)
    con.begin()
    try:
        _apply(con, run_id, seen, primary_lang)
        kinds = dict(con.execute("SELECT kind, count(*) FROM _staged GROUP BY kind").fetchall())
        con.execute("DROP VIEW _changed")
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        raise WarehouseError(
            f"loading {len(records)} records (run {run_id}) failed: {exc}"
        ) from exc
    finally:
        for name in (*tables, "_staged"):
            con.unregister(name)
    return LoadStats(
        new=kinds.get("new", 0),
        changed=kinds.get("changed", 0),
        unchanged=kinds.get("unchanged", 0),
        texts=tables["_in_texts"].num_rows,
        reactivated=kinds.get("reactivated", 0),
        amended=kinds.get("amended", 0),
        issues=tables["_in_issues"].num_rows,
    )


def _keys_table(keys: Sequence[tuple[int, str]]) -> pa.Table:
    unique = list(dict.fromkeys((int(k), str(lang)) for k, lang in keys))
    return pa.table(
        {"case_id": [k for k, _ in unique], "lang": [lang for _, lang in unique]},
        schema=_KEY_SCHEMA,
    )


def touch_seen(
    con: duckdb.DuckDBPyConnection,
    keys: Sequence[tuple[int, str]],
    seen_at: datetime,
    *,
    run_id: str | None = None,
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
        ).fetchall()
        touched = int(row[0][0]) if row else 0
        con.execute(
            "UPDATE cases SET last_seen_at = greatest(cases.last_seen_at, $seen) "
            "WHERE case_id IN (SELECT case_id FROM _in_keys)",
            {"seen": seen},
        )
        _set_status(con, "(SELECT case_id FROM _in_keys)", "active", "reactivated", seen, run_id)
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
    count = con.execute("SELECT count(*) FROM _flip").fetchall()
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
    return int(count[0][0]) if count else 0


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
