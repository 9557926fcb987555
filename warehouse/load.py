"""Bulk, idempotent loading of case records into the warehouse.

One call = one transaction. Records become Arrow tables that DuckDB reads directly
(``warehouse.arrow_tables``); the staging query classifies every incoming case
(``warehouse.staging``); one set-based step per table writes it (``warehouse.apply``). Never a
statement per row. What is stored and hashed follows the column spec
(``latinno.record.CASE_COLUMNS``).

Which record builds the ``cases`` row: of a case's records in the batch, the one in the first
of ``languages`` (the configured order; default: ``primary_lang``, then en, es, pt). It builds
the row when the case has none, when its language comes no later than the row's, or when the
row's page went (the archive's latest answer for it is a 404/410); otherwise it only updates
``case_texts`` (a 304 on the English page plus a changed Spanish page must not turn the row
Spanish). A row that changes language while the content did not (same non-text fields, and the
new language's texts as ``case_texts`` already held them) is ``reassigned``: its current
version is rewritten in place, no new version (the languages were reordered, or a page went).

Change detection: ``warehouse.content`` defines the hashed content. Same hash and active
status = unchanged: only ``last_seen_at`` moves (and url/parser_version follow the latest
record). A 64-bit ``quick_hash`` of the raw fields lets an unchanged reload skip building the
JSON; it is a shortcut only (see ``warehouse.staging``). A case whose content changes again
within the same run (its languages loaded in separate batches, the row first built from a
fallback language) is ``amended``: the run's version is rewritten in place instead of adding one.

Parse issues: a loaded page's issues replace its earlier ones; an issue seen again keeps its
row (and the run that first reported it), so reloading adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from latinno.columns import Column
from latinno.errors import WarehouseError
from latinno.pages import PageKey
from latinno.record import CASE_COLUMNS, CaseRecord
from warehouse import apply
from warehouse.arrow_tables import batch_tables, ids_table, keys_table
from warehouse.db import utc_naive
from warehouse.staging import CHANGED_VIEW, stage


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


def _apply(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    seen: datetime,
    primary: str,
    columns: tuple[Column, ...],
    languages: Sequence[str] = (),
) -> dict[str, int]:
    """Every step of one load, inside the caller's transaction; returns cases by kind."""
    con.register("_staged", stage(con, run_id, primary, columns, languages))
    con.execute(CHANGED_VIEW)
    apply.apply_cases(con, seen, columns)
    apply.apply_bridges(con, columns)
    apply.apply_sources(con, columns)
    apply.apply_history(con, seen, run_id)
    apply.apply_texts(con, seen, columns)
    apply.apply_issues(con, run_id)
    kinds = dict(con.execute("SELECT kind, count(*) FROM _staged GROUP BY kind").fetchall())
    con.execute("DROP VIEW _changed")
    return kinds


def load_records(
    con: duckdb.DuckDBPyConnection,
    records: Sequence[CaseRecord],
    *,
    run_id: str,
    seen_at: datetime,
    primary_lang: str,
    columns: tuple[Column, ...] = CASE_COLUMNS,
    languages: Sequence[str] = (),
) -> LoadStats:
    """Upsert a batch of records (any languages) in one transaction; see the module doc.

    ``columns`` is the column spec of the records' class (CASE_COLUMNS for CaseRecord).
    """
    if not records:
        return LoadStats()
    tables = batch_tables(records, primary_lang, columns, languages).named()
    seen = utc_naive(seen_at)
    for name, table in tables.items():
        con.register(name, table)
    con.begin()
    try:
        kinds = _apply(con, run_id, seen, primary_lang, columns, languages)
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


def touch_seen(
    con: duckdb.DuckDBPyConnection,
    keys: Sequence[PageKey],
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
    con.register("_in_keys", keys_table(keys))
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
    ids = ids_table(case_ids)
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
