"""Opening the warehouse file: connections, waiting for the lock, and what every open checks.

DuckDB allows one process to hold a file for writing (and then no other process may open it,
not even read-only), or any number of processes to hold it read-only (and then no process may
write). ``connect`` therefore retries with backoff while another process holds the lock, and
gives up after its timeout with ``DatabaseLockedError``: one line naming the file, the holder's
command and PID, and the setting that bounded the wait. A patient writer (``writing(...,
patient=True)``, a refresh between batches) waits as long as it takes instead, saying every
``wait_note_s`` which process it waits for.

Read-only connections are sandboxed (``warehouse.sandbox``). Every open refuses a file that is
not whole (``warehouse.integrity``) before DuckDB answers from it or writes to it; writable
opens bring the schema up to date (``warehouse.schema``). This module also re-exports the names
other modules import from ``warehouse.db``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, TypeVar

import duckdb

from latinno.errors import DatabaseLockedError, WarehouseError
from warehouse.holders import (
    command_of,
    describe_holder,
    holder_pid,
    lock_holder,
    locking_pid,
    waiting_line,
)
from warehouse.integrity import check_layout, check_warehouse, corruption, is_damage, one_line
from warehouse.sandbox import SANDBOX
from warehouse.schema import (
    latest_version,
    migrate,
    migrations,
    schema_version,
    sync_reference,
    utc_naive,
)

__all__ = [
    "SANDBOX",
    "DuckCon",
    "check_warehouse",
    "command_of",
    "connect",
    "corruption",
    "describe_holder",
    "is_damage",
    "latest_version",
    "load_memory_limit",
    "lock_holder",
    "migrate",
    "migrations",
    "reading",
    "schema_version",
    "storage_note",
    "storage_version",
    "sync_reference",
    "utc_naive",
    "writing",
]

T = TypeVar("T")
DuckCon = duckdb.DuckDBPyConnection
OnWait = Callable[[str], None]

WRITE_SETTING = "warehouse.lock_timeout_s"
READ_SETTING = "warehouse.read_lock_timeout_s"
# How often a patient writer says whom it waits for.
WAIT_NOTE_S = 10.0
# ``patient``: False (give up after the timeout), True (wait for anyone), or READERS (wait
# while readers hold the file, give up on a writer after the timeout).
READERS = "readers"
Patience = bool | Literal["readers"]
# The storage format a new warehouse file is written in. DuckDB 2 writes its own format by
# default, which no 1.x release opens; this one opens in DuckDB 1.3, 1.4 (the 1.x LTS) and every
# later release. On our data it is as compact as 1.4's (1.2's and older ones are 4-7% larger). A
# file keeps the format it was created in (DuckDB decides that, not this setting).
STORAGE_VERSION = "v1.3.0"
OLDEST_READER = "1.3"


def _open(
    path: Path,
    read_only: bool,
    lock_timeout_s: float,
    *,
    patient: Patience = False,
    on_wait: OnWait | None = None,
    wait_note_s: float = WAIT_NOTE_S,
    memory_limit: str | None = None,
) -> DuckCon:
    """``duckdb.connect``, retried while another process holds the file's lock.

    Gives up after ``lock_timeout_s`` unless ``patient``; a patient open calls ``on_wait`` with
    one line naming the holder after every ``wait_note_s`` of waiting.
    """
    started = time.monotonic()
    delay = 0.05
    next_note = wait_note_s
    config: dict[str, str | bool | int | float | list[str]] = (
        dict(SANDBOX) if read_only else {"storage_compatibility_version": STORAGE_VERSION}
    )
    if memory_limit:
        config["memory_limit"] = memory_limit
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            holder = _lock_conflict(path, exc)
        waited = time.monotonic() - started
        # "readers": wait as long as a reader holds the file (a long query), not a writer.
        if patient is True or (patient == READERS and not read_only and _held_by_reader(path)):
            if on_wait is not None and waited >= next_note:
                on_wait(waiting_line(path, describe_holder(holder), waited))
                next_note = waited + wait_note_s
            pause = min(delay, max(next_note - waited, 0.01))
        elif waited >= lock_timeout_s:
            setting = READ_SETTING if read_only else WRITE_SETTING
            raise DatabaseLockedError(str(path), waited, describe_holder(holder), setting)
        else:
            pause = min(delay, lock_timeout_s - waited)
        time.sleep(pause)
        delay = min(delay * 2, 1.0)


def _held_by_reader(path: Path) -> bool:
    """True when whoever holds ``path`` holds it read-only: we can open it read-only too."""
    try:
        duckdb.connect(str(path), read_only=True, config=dict(SANDBOX)).close()
    except duckdb.Error:
        return False
    return True


def _lock_conflict(path: Path, exc: duckdb.Error) -> str:
    """DuckDB's holder when ``exc`` is a lock conflict; otherwise the error to raise instead."""
    damaged = corruption(path, exc)
    if damaged is not None:
        raise damaged from None
    holder = lock_holder(str(exc)) if isinstance(exc, duckdb.IOException) else None
    if holder is None:
        raise WarehouseError(f"{path}: cannot open the warehouse: {one_line(exc)}") from None
    if holder_pid(holder) is None:
        pid = locking_pid(path)  # DuckDB did not say who: ask the kernel
        holder = holder if pid is None else f"{holder} (PID {pid})"
    return holder


def connect(
    path: Path,
    *,
    read_only: bool = False,
    lock_timeout_s: float = 60.0,
    patient: Patience = False,
    on_wait: OnWait | None = None,
    wait_note_s: float = WAIT_NOTE_S,
    memory_limit: str | None = None,
) -> DuckCon:
    """Open the warehouse; writable opens create the file and bring the schema up to date.

    Read-only opens never write and are sandboxed (``SANDBOX``): a missing file or an
    out-of-date schema is an error that says to run a refresh first. Both refuse a file that
    is not DuckDB's, is missing blocks in use (truncated) or fails a header checksum
    (``CorruptWarehouseError``) before DuckDB answers from it or writes to it; a damaged
    data block is found when a statement reads it (see ``reading``/``writing``).
    ``patient``, ``on_wait`` and ``wait_note_s``: see ``writing``; ``memory_limit`` (DuckDB's
    form, "2GB") caps what the connection's queries may hold.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(
            f"{path}: no warehouse at this path; run `latinno refresh` first "
            "(or pass --db to name an existing file)"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(
        path,
        read_only,
        lock_timeout_s,
        patient=patient,
        on_wait=on_wait,
        wait_note_s=wait_note_s,
        memory_limit=memory_limit,
    )
    try:
        check_layout(path)
        if read_only:
            version = _guarded(path, schema_version, con)
            if version < latest_version():
                raise WarehouseError(
                    f"{path}: warehouse schema version {version} is older than "
                    f"{latest_version()}; run `latinno refresh` to upgrade it"
                )
        else:
            _guarded(path, migrate, con)
            _guarded(path, sync_reference, con)
    except BaseException:
        con.close()
        raise
    return con


def _guarded(path: Path, step: Callable[[DuckCon], T], con: DuckCon) -> T:
    try:
        return step(con)
    except duckdb.Error as exc:
        damaged = corruption(path, exc)
        if damaged is not None:
            raise damaged from None
        raise


def storage_version(con: DuckCon) -> str:
    """The storage format of the connection's database file, as DuckDB names it ("v1.3.0+")."""
    row = con.execute(
        "SELECT tags['storage_version'] FROM duckdb_databases() "
        "WHERE database_name = current_database()"
    ).fetchone()
    return str(row[0]) if row and row[0] else "unknown"


def storage_note(path: Path, version: str) -> str | None:
    """One line saying how to make a warehouse in a newer format than ``STORAGE_VERSION``
    readable by DuckDB 1.x (a file created before this pipeline set the format); else None."""
    major = version.removeprefix("v").split(".", 1)[0]
    if not major.isdigit() or int(major) < 2:
        return None
    return (
        f"note: {path} is in DuckDB {version} storage, which DuckDB 1.x cannot open; to convert "
        f"it, stop refreshes and run in DuckDB 2: ATTACH '{path}' AS old (READ_ONLY); "
        f"ATTACH '{path}.new' AS new (STORAGE_VERSION '{STORAGE_VERSION}'); "
        f"COPY FROM DATABASE old TO new; then replace {path} with {path}.new"
    )


# What a load's connection may hold (``load_memory_limit``). Without a bound, DuckDB keeps every
# block of the page archive that a load or the checkpoint at its close reads (the archive's
# bodies share a row group until it holds 122,880 rows), so a refresh's peak grew with the
# archive. A batch's own uncommitted rows cannot be evicted: about 30 KB a page was measured,
# so a bigger batch gets a proportionally higher bound (1,000 pages: 94 MB).
LOAD_MEMORY_MB = 64
LOAD_KB_PER_ROW = 96


def load_memory_limit(rows: int) -> str:
    """DuckDB's ``memory_limit`` for loading a batch of ``rows`` pages or records."""
    return f"{max(LOAD_MEMORY_MB, -(-rows * LOAD_KB_PER_ROW // 1024))}MB"


@contextmanager
def writing(
    path: Path,
    lock_timeout_s: float = 60.0,
    *,
    patient: Patience = False,
    on_wait: OnWait | None = None,
    wait_note_s: float = WAIT_NOTE_S,
    memory_limit: str | None = None,
) -> Iterator[DuckCon]:
    """A writable connection held only for the ``with`` block (a load), then closed.

    While another process holds the file, waits up to ``lock_timeout_s``, then raises
    ``DatabaseLockedError``. With ``patient=READERS`` it waits as long as readers hold the
    file (a refresh's start and end: a long query never fails it), not a writer. With
    ``patient=True`` it waits as long as it takes (a refresh between
    batches: a long query must not fail the run midway), calling ``on_wait`` with one line
    naming the holder (command and PID) after every ``wait_note_s`` of waiting.
    ``memory_limit`` (DuckDB's form, "64MB") bounds what DuckDB holds for the block: a load
    without it keeps the page archive's blocks it read in memory until the connection closes.

    A DuckDB error in the block that means the file is damaged becomes CorruptWarehouseError.
    """
    con = connect(
        path,
        lock_timeout_s=lock_timeout_s,
        patient=patient,
        on_wait=on_wait,
        wait_note_s=wait_note_s,
        memory_limit=memory_limit,
    )
    with _mapping_damage(Path(path), con):
        yield con


@contextmanager
def reading(
    path: Path, lock_timeout_s: float = 10.0, *, memory_limit: str | None = None
) -> Iterator[DuckCon]:
    """A read-only, sandboxed connection for the ``with`` block (query, export, status);
    ``memory_limit`` caps what its queries may hold (``latinno query``).

    A DuckDB error in the block that means the file is damaged becomes CorruptWarehouseError.
    """
    con = connect(path, read_only=True, lock_timeout_s=lock_timeout_s, memory_limit=memory_limit)
    with _mapping_damage(Path(path), con):
        yield con


@contextmanager
def _mapping_damage(path: Path, con: DuckCon) -> Iterator[None]:
    """Close ``con`` after the block; a DuckDB error meaning damage becomes one line."""
    try:
        yield
    except duckdb.Error as exc:
        damaged = corruption(path, exc) or _disk_full(path, exc)
        if damaged is not None:
            raise damaged from None
        raise
    except (
        WarehouseError
    ) as exc:  # a loader's wording of a DuckDB error: the cause may be a full disk
        full = _disk_full(path, exc)
        if full is not None:
            raise full from None
        raise
    finally:
        con.close()


def _disk_full(path: Path, exc: BaseException) -> WarehouseError | None:
    """One line for a write that failed for want of space, or None. DuckDB's own last word
    ("cannot rollback - no transaction is active") hides it: the cause is looked for down
    the chain of exceptions."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if "no space left on device" in str(seen).lower():
            return WarehouseError(
                f"{path}: no space left on device; this write was not applied, the warehouse "
                "keeps what it had before it. Free some space, then run again"
            )
        seen = seen.__cause__ or seen.__context__
    return None
