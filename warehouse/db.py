"""Opening the warehouse file: lock handling, schema migrations and reference data.

DuckDB allows one process to hold a file for writing (and then no other process may open it,
not even read-only). ``connect`` therefore retries with backoff while another process holds
the lock, and gives up with ``DatabaseLockedError`` naming the holder DuckDB reports.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb

from latinno.errors import DatabaseLockedError, WarehouseError
from latinno.vocabulary import COUNTRIES, vocabulary_rows
from warehouse import views

# "Could not set lock on file "x": Conflicting lock is held in /usr/bin/python3 (PID 42). See..."
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?)(?:\. See also|$)", re.S)
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


def lock_holder(message: str) -> str | None:
    """The process DuckDB names in a lock conflict message, or None if it is not one."""
    if "lock" not in message.lower():
        return None
    match = _LOCK_HOLDER.search(message)
    if match:
        return match.group(1).strip()
    return "another process" if "Could not set lock" in message else None


def _open(path: Path, read_only: bool, lock_timeout_s: float) -> duckdb.DuckDBPyConnection:
    started = time.monotonic()
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            holder = lock_holder(str(exc))
            if holder is None:
                raise WarehouseError(f"{path}: cannot open the warehouse: {exc}") from None
            waited = time.monotonic() - started
            if waited >= lock_timeout_s:
                raise DatabaseLockedError(str(path), waited, holder) from None
            time.sleep(min(delay, max(lock_timeout_s - waited, 0.0)))
            delay = min(delay * 2, 1.0)


def connect(
    path: Path, *, read_only: bool = False, lock_timeout_s: float = 60.0
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; writable opens create the file and bring the schema up to date.

    Read-only opens never write: a missing file or an out-of-date schema is an error that says
    to run a refresh first.
    """
    path = Path(path)
    if read_only:
        if not path.exists():
            raise WarehouseError(
                f"{path}: no warehouse at this path; run `latinno refresh` first "
                "(or pass --db to name an existing file)"
            )
        con = _open(path, True, lock_timeout_s)
        try:
            version = schema_version(con)
        except BaseException:
            con.close()
            raise
        if version < latest_version():
            con.close()
            raise WarehouseError(
                f"{path}: warehouse schema version {version} is older than {latest_version()}; "
                "run `latinno refresh` to upgrade it"
            )
        return con
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, False, lock_timeout_s)
    try:
        migrate(con)
        sync_reference(con)
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def writing(path: Path, lock_timeout_s: float = 60.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable connection held only for the ``with`` block (a load), then closed."""
    con = connect(path, lock_timeout_s=lock_timeout_s)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def reading(path: Path, lock_timeout_s: float = 10.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for the ``with`` block (query, export, status)."""
    con = connect(path, read_only=True, lock_timeout_s=lock_timeout_s)
    try:
        yield con
    finally:
        con.close()


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
