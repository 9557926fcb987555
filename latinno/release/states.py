"""Two states of the data and what changed between them: cases added, withdrawn, fields old → new.

A state is each case's status and record (``case_history.record``, the versioned content) at
one moment: the current versions of a warehouse or of a release's ``case_history``, or the
version valid at a cutoff. Comparing two states gives the net change between them, over the
same fields as the ``case_changes`` view (status and the record's fields).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from latinno.release.folders import HISTORY, Release, verify
from warehouse.content import HASHED_FIELDS

FIELDS: tuple[str, ...] = ("status", *HASHED_FIELDS)
KINDS: tuple[str, ...] = ("added", "withdrawn", "reactivated", "changed", "removed")
HEADER: tuple[str, ...] = ("change", "case_id", "title", "field", "old_value", "new_value")


@dataclass(frozen=True, slots=True)
class CaseState:
    status: str
    record: dict[str, Any]


States = dict[int, CaseState]


def states_from_rows(rows: Iterable[tuple[int, str, str]]) -> States:
    """(case_id, status, record JSON) rows, one per case."""
    return {int(case_id): CaseState(status, json.loads(record)) for case_id, status, record in rows}


def current_states(history: pa.Table) -> States:
    """The current version (valid_to NULL) of every case in a case_history table."""
    ids, status, record, valid_to = (
        history.column(name).to_pylist() for name in ("case_id", "status", "record", "valid_to")
    )
    return states_from_rows(
        (i, s, r) for i, s, r, v in zip(ids, status, record, valid_to, strict=True) if v is None
    )


def states_at(con: duckdb.DuckDBPyConnection, cutoff: datetime, *, inclusive: bool) -> States:
    """Each case's latest version first seen before ``cutoff`` (at it too when inclusive)."""
    op = "<=" if inclusive else "<"
    rows = con.execute(
        f"""
SELECT case_id, status, record::VARCHAR FROM case_history WHERE valid_from {op} ?
QUALIFY row_number() OVER (PARTITION BY case_id ORDER BY version DESC) = 1
""",
        [cutoff],
    ).fetchall()
    return states_from_rows(rows)


def current_states_db(con: duckdb.DuckDBPyConnection) -> States:
    rows = con.execute(
        "SELECT case_id, status, record::VARCHAR FROM case_history WHERE valid_to IS NULL"
    ).fetchall()
    return states_from_rows(rows)


def release_states(release: Release) -> States:
    """The current versions in a release's case_history, after checking its SHA256SUMS."""
    files = verify(release)
    return current_states(pq.read_table(pa.BufferReader(files[HISTORY])))


@dataclass(frozen=True, slots=True)
class Change:
    change: str
    case_id: int
    title: str | None
    field: str | None
    old_value: str | None
    new_value: str | None

    def row(self) -> tuple[Any, ...]:
        return (self.change, self.case_id, self.title, self.field, self.old_value, self.new_value)


def value_text(value: Any) -> str | None:
    """A record value as one text: as the case_changes view writes it (JSON for lists)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def diff_states(before: States, after: States) -> list[Change]:
    rows: list[Change] = []
    for case_id in sorted(set(before) | set(after)):
        old, new = before.get(case_id), after.get(case_id)
        title = (new or old).record.get("title")  # type: ignore[union-attr]
        if old is None:
            rows.append(Change("added", case_id, title, None, None, None))
            continue
        if new is None:
            rows.append(Change("removed", case_id, title, None, None, None))
            continue
        if old.status != new.status:
            kind = "withdrawn" if new.status == "withdrawn" else "reactivated"
            rows.append(Change(kind, case_id, title, "status", old.status, new.status))
        for field in HASHED_FIELDS:
            if field not in old.record:  # recorded before the field existed: nothing to compare
                continue
            a, b = old.record.get(field), new.record.get(field)
            if a != b:
                rows.append(Change("changed", case_id, title, field, value_text(a), value_text(b)))
    order = {kind: i for i, kind in enumerate(KINDS)}
    rank = {field: i for i, field in enumerate(FIELDS)}
    rows.sort(key=lambda c: (order[c.change], c.case_id, rank.get(c.field or "", -1)))
    return rows


@dataclass(frozen=True, slots=True)
class Counts:
    added: int
    withdrawn: int
    reactivated: int
    changed: int
    fields: int
    removed: int

    def line(self) -> str:
        def n(count: int, what: str) -> str:
            return f"{count} case{'' if count == 1 else 's'} {what}"

        parts = [
            n(self.added, "added"),
            n(self.withdrawn, "withdrawn"),
            n(self.changed, f"changed ({self.fields} field{'' if self.fields == 1 else 's'})"),
        ]
        if self.reactivated:
            parts.insert(2, n(self.reactivated, "reactivated"))
        if self.removed:
            parts.append(n(self.removed, "missing from this data"))
        return ", ".join(parts)


def count_changes(rows: Sequence[Change]) -> Counts:
    def cases(kind: str) -> int:
        return len({c.case_id for c in rows if c.change == kind})

    return Counts(
        added=cases("added"),
        withdrawn=cases("withdrawn"),
        reactivated=cases("reactivated"),
        changed=cases("changed"),
        fields=sum(1 for c in rows if c.change == "changed"),
        removed=cases("removed"),
    )
