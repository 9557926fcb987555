"""The warehouse schema: versioned migrations (warehouse/sql/NNN_*.sql), the reference data and
views written from code, and how timestamps are stored (naive UTC).

``warehouse.db.connect`` brings a writable file up to date on every open: pending migrations,
each in its own transaction, then the vocabulary, countries and views when the code that
defines them changed (a fingerprint keeps an ordinary open from writing anything).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from importlib import resources

import duckdb

from latinno.errors import WarehouseError
from latinno.vocabulary import COUNTRIES, vocabulary_rows
from warehouse import views

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS warehouse_meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
COMMENT ON TABLE schema_version IS
    'Schema migrations (warehouse/sql/NNN_*.sql) applied to this file.';
COMMENT ON COLUMN schema_version.version IS 'Migration number (NNN of the file name).';
COMMENT ON COLUMN schema_version.name IS 'Migration file name.';
COMMENT ON COLUMN schema_version.applied_at IS 'UTC time the migration was applied.';
COMMENT ON TABLE warehouse_meta IS
    'Bookkeeping of the warehouse code (fingerprint of reference data and views).';
COMMENT ON COLUMN warehouse_meta.key IS 'Name of the setting.';
COMMENT ON COLUMN warehouse_meta.value IS 'Value of the setting.';
"""


def utc_naive(moment: datetime) -> datetime:
    """UTC wall time without tzinfo: how every timestamp is stored (naive input counts as UTC)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every versioned DDL file, in order."""
    found = []
    for entry in (resources.files("warehouse") / "sql").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    return max(version for version, _, _ in migrations())


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Highest migration applied to the file; 0 for a file without a warehouse schema."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND table_name = 'schema_version'"
    ).fetchall()
    if not exists or not exists[0][0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()
    return int(row[0][0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations, each in its own transaction; returns the versions applied."""
    current = schema_version(con)
    if current == 0:  # a new file (COMMENT ON would otherwise write on every open)
        con.execute(_BOOKKEEPING)
    applied = []
    for version, name, sql in migrations():
        if version <= current:
            continue
        con.begin()
        try:
            con.execute(sql)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                [version, name, utc_naive(datetime.now(UTC))],
            )
            con.commit()
        except duckdb.Error as exc:
            con.rollback()
            raise WarehouseError(f"schema migration {name} failed: {exc}") from None
        applied.append(version)
    return applied


def _reference_fingerprint() -> str:
    parts = [
        repr(vocabulary_rows()),
        repr([(c.code, c.id_prefix, c.name_en, c.slug) for c in COUNTRIES]),
    ]
    parts.extend(views.statements())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def sync_reference(con: duckdb.DuckDBPyConnection) -> bool:
    """Rewrite vocabulary, countries and the views when the code that defines them changed.

    The fingerprint check keeps an ordinary open from writing anything.
    """
    fingerprint = _reference_fingerprint()
    row = con.execute("SELECT value FROM warehouse_meta WHERE key = 'reference'").fetchall()
    if row and row[0][0] == fingerprint:
        return False
    con.begin()
    try:
        con.execute("DELETE FROM vocabulary")
        positions: dict[str, int] = {}
        vocab = []
        for field, code, en, es, pt in vocabulary_rows():
            positions[field] = positions.get(field, 0) + 1
            vocab.append((field, code, positions[field], en, es, pt))
        con.executemany("INSERT INTO vocabulary VALUES (?, ?, ?, ?, ?, ?)", vocab)
        con.execute("DELETE FROM countries")
        con.executemany(
            "INSERT INTO countries VALUES (?, ?, ?, ?)",
            [(c.code, c.id_prefix, c.name_en, c.slug) for c in COUNTRIES],
        )
        for statement in views.statements():
            con.execute(statement)
        con.execute("INSERT OR REPLACE INTO warehouse_meta VALUES ('reference', ?)", [fingerprint])
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        raise WarehouseError(f"cannot write reference data and views: {exc}") from None
    return True
