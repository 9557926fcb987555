"""Opening the warehouse file: integrity, sandboxing, lock handling, migrations, reference data.

DuckDB allows one process to hold a file for writing (and then no other process may open it,
not even read-only). ``connect`` therefore retries with backoff while another process holds
the lock, and gives up with ``DatabaseLockedError`` naming the holder's command and PID and the
setting that bounded the wait.

Read-only connections are sandboxed (``SANDBOX``): a user's SQL reaches them through ``latinno
query`` (and export and status read through them), so they can read no other file, fetch no
URL, install or load no extension, and cannot switch any of that back on. The settings govern
what statements reach, not the file being opened: DuckDB opens the warehouse itself with them
(given as ``duckdb.connect(config=...)``, all applied before the configuration is locked).

Every open checks, while it holds the file, that every block in use lies inside it: DuckDB reads
a block (and verifies its checksum) only when a statement needs it, so a truncated copy would
otherwise open and answer every query that does not touch the missing blocks. A checksum
mismatch found later, in a block a statement reads, surfaces as ``CorruptWarehouseError`` from
the ``reading``/``writing`` blocks. ``check_warehouse`` also verifies every block's checksum:
refresh and reparse call it before they write.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import ClassVar, TypeVar

import duckdb

from latinno.errors import CorruptWarehouseError, DatabaseLockedError, WarehouseError
from latinno.vocabulary import COUNTRIES, vocabulary_rows
from warehouse import views

T = TypeVar("T")
DuckCon = duckdb.DuckDBPyConnection

# "Could not set lock on file "x": Conflicting lock is held in /usr/bin/python3 (PID 42). See..."
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?)(?:\. See also|$)", re.S)
_HOLDER_PID = re.compile(r"\(PID (\d+)\)")
_CHECKSUM = re.compile(r"does not match stored checksum \d+ in block at location (\d+)")
_SHORT_READ = re.compile(r"attempted to read (\d+) bytes from location (\d+)")

# DuckDB settings of every read-only connection. lock_configuration comes with the others in
# the same config (DuckDB applies them all before locking), so SET cannot undo any of them.
SANDBOX: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}

# DuckDB's file layout (storage version 64+; DuckDB 1.x and 2.x): a main header and two database
# headers of 4 KiB each, then blocks of ``block_alloc_size`` bytes, each starting with an 8-byte
# checksum. Metadata blocks are split into 64 sub-blocks that start with the next sub-block's
# pointer (block id in the low 56 bits, sub-block index in the high 8; all ones: none).
_FILE_HEADER = 4096
_BLOCKS_START = 3 * _FILE_HEADER
_MAGIC = b"DUCK"
_MAGIC_OFFSET = 8
_BLOCK_CHECKSUM = 8
_METADATA_SUBBLOCKS = 64
_NO_BLOCK = 2**64 - 1
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


def describe_holder(duckdb_holder: str) -> str:
    """The process holding the lock as a person knows it: its command line and PID.

    DuckDB names only the executable (``/usr/bin/python3 (PID 42)``), which for every latinno
    command is the Python interpreter; the command line comes from /proc where there is one.
    """
    match = _HOLDER_PID.search(duckdb_holder)
    if match is None:
        return duckdb_holder
    pid = int(match.group(1))
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return duckdb_holder
    argv = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    if not argv:
        return duckdb_holder
    return f"`{_command_of(argv)}` (PID {pid})"


def _command_of(argv: list[str]) -> str:
    """``latinno refresh --db x`` for our console script or ``python -m cli``, else argv."""
    for index, part in enumerate(argv):
        if os.path.basename(part) == "latinno":
            return _shorten(["latinno", *argv[index + 1 :]])
        if part == "-m" and index + 1 < len(argv) and argv[index + 1] == "cli":
            return _shorten(["latinno", *argv[index + 2 :]])
    return _shorten([os.path.basename(argv[0]), *argv[1:]])


def _shorten(argv: list[str], limit: int = 100) -> str:
    text = " ".join(shlex.quote(" ".join(part.split())) for part in argv)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return " ".join(lines) if lines else type(exc).__name__


def is_damage(exc: BaseException) -> bool:
    """True when a DuckDB error says the database file itself is damaged."""
    message = str(exc)
    return any(
        sign in message
        for sign in (
            "not a valid DuckDB database file",
            "Corrupt database file",
            "Could not read enough bytes",
        )
    )


def corruption(path: Path, exc: BaseException) -> CorruptWarehouseError | None:
    """The CorruptWarehouseError a DuckDB error means for ``path``, or None if it is another."""
    message = str(exc)
    if "not a valid DuckDB database file" in message:
        try:
            size = path.stat().st_size
        except OSError:
            size = -1
        return _not_duckdb(path, size)
    checksum = _CHECKSUM.search(message)
    if "Corrupt database file" in message:
        where = f" in the block at byte {checksum.group(1)}" if checksum else ""
        return CorruptWarehouseError(
            str(path), f"the warehouse file is damaged: a checksum does not match{where}"
        )
    short = _SHORT_READ.search(message)
    if "Could not read enough bytes" in message and path.name in message:
        where = f" (no data at byte {short.group(2)})" if short else ""
        return CorruptWarehouseError(str(path), f"the warehouse file is truncated{where}")
    return None


def _open(path: Path, read_only: bool, lock_timeout_s: float) -> duckdb.DuckDBPyConnection:
    started = time.monotonic()
    delay = 0.05
    config = dict(SANDBOX) if read_only else {}
    setting = "warehouse.read_lock_timeout_s" if read_only else "warehouse.lock_timeout_s"
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            damaged = corruption(path, exc)
            if damaged is not None:
                raise damaged from None
            holder = lock_holder(str(exc)) if isinstance(exc, duckdb.IOException) else None
            if holder is None:
                raise WarehouseError(
                    f"{path}: cannot open the warehouse: {_one_line(exc)}"
                ) from None
            waited = time.monotonic() - started
            if waited >= lock_timeout_s:
                raise DatabaseLockedError(
                    str(path), waited, describe_holder(holder), setting
                ) from None
            time.sleep(min(delay, max(lock_timeout_s - waited, 0.0)))
            delay = min(delay * 2, 1.0)


# --- integrity ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the active database header says about the file, and what the file holds."""

    size: int
    alloc: int  # bytes per block, its checksum included
    block_count: int  # blocks the header counts, free ones included
    held: int  # whole blocks present in the file
    free: frozenset[int] | None  # the free list; None when it could not be read as expected

    def in_use(self) -> list[int]:
        free = self.free or frozenset()
        return [block for block in range(self.block_count) if block not in free]


def check_warehouse(path: Path, *, verify_blocks: bool = True) -> None:
    """Raise CorruptWarehouseError unless ``path`` is a whole, undamaged DuckDB file.

    A missing file passes (a refresh creates it). DuckDB opens the file read-only and
    sandboxed, which checks the magic bytes and the header checksums; while that connection
    holds the file (no writer can change it meanwhile), every block in use must lie inside the
    file and, with ``verify_blocks``, carry the checksum DuckDB wrote (the whole file is read
    once: about 0.1 s per 100 MB). A file another process holds for writing is not checked:
    that process's own opens checked it. Call it before a long run (refresh, reparse) writes.
    """
    path = Path(path)
    if not path.exists():
        return
    try:
        con = duckdb.connect(str(path), read_only=True, config=dict(SANDBOX))
    except duckdb.Error as exc:
        damaged = corruption(path, exc)
        if damaged is not None:
            raise damaged from None
        if isinstance(exc, duckdb.IOException) and lock_holder(str(exc)) is not None:
            return
        if isinstance(exc, duckdb.ConnectionException) and "same database file" in str(exc):
            _check_layout(path)  # this process has it open already: no blocks are read then
            return
        problem = _one_line(exc)
        raise WarehouseError(f"{path}: cannot open the warehouse: {problem}") from None
    try:
        layout = _check_layout(path)
        if verify_blocks and layout.free is not None:
            _verify_blocks(path, layout)
    finally:
        con.close()


def _check_layout(path: Path) -> _Layout:
    """Refuse a file whose blocks in use do not all lie inside it (a truncated copy).

    Run while holding a DuckDB connection to the file: a checkpoint of another process could
    otherwise change the header between our reads.
    """
    try:
        file = _Reader.of(path)
        size = file.size()
        head = file.read_at(0, _BLOCKS_START)
        if head[_MAGIC_OFFSET : _MAGIC_OFFSET + len(_MAGIC)] != _MAGIC:
            raise _not_duckdb(path, size)
        if len(head) < _BLOCKS_START:
            raise CorruptWarehouseError(
                str(path), f"the warehouse file is truncated: {size} bytes, not even its headers"
            )
        layout = _layout(file, head, size)
    except OSError as exc:
        raise WarehouseError(f"{path}: cannot read the warehouse: {exc.strerror}") from None
    if layout.block_count > layout.held and layout.free is not None:
        lost = [block for block in layout.in_use() if block >= layout.held]
        if lost:
            raise CorruptWarehouseError(
                str(path),
                f"the warehouse file is truncated ({size} bytes): {len(lost)} of its "
                f"{len(layout.in_use())} blocks in use {'is' if len(lost) == 1 else 'are'} missing",
            )
    return layout


def _not_duckdb(path: Path, size: int) -> CorruptWarehouseError:
    if size == 0:
        return CorruptWarehouseError(
            str(path), "is an empty file, not a DuckDB warehouse", not_duckdb=True
        )
    return CorruptWarehouseError(
        str(path), "is not a DuckDB database file (no DuckDB header)", not_duckdb=True
    )


class _Reader:
    """Reads a warehouse file through a descriptor this process keeps open for good.

    Closing any descriptor of a file drops every POSIX lock the process holds on that file,
    DuckDB's lock included (it uses fcntl locks): a plain ``open().read()`` of the header while
    a connection is open would let another process write the file under it. So each file
    (device and inode) gets one descriptor, never closed: a few per process.
    """

    _open: ClassVar[dict[tuple[int, int], int]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def of(cls, path: Path) -> _Reader:
        st = os.stat(path)
        with cls._guard:
            fd = cls._open.get((st.st_dev, st.st_ino))
            if fd is None:
                fd = os.open(path, os.O_RDONLY)
                found = os.fstat(fd)  # the file may have been replaced since the stat
                cls._open[(found.st_dev, found.st_ino)] = fd
        return cls(fd)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def read_at(self, offset: int, size: int) -> bytes:
        return os.pread(self.fd, size, offset)


def _layout(file: _Reader, head: bytes, size: int) -> _Layout:
    # The active database header is the one with the higher iteration count.
    headers = [struct.unpack_from("<5Q", head, offset + 8) for offset in (4096, 8192)]
    _iteration, _meta, free_pointer, block_count, alloc = max(headers)
    alloc = alloc or 262_144  # files of DuckDB < 1.0 leave it 0: the default then
    if alloc < _FILE_HEADER or alloc & (alloc - 1):
        return _Layout(size, alloc, block_count, 0, None)  # unknown layout: DuckDB decides
    held = (size - _BLOCKS_START) // alloc
    free = _free_blocks(file, free_pointer, alloc, held, block_count)
    return _Layout(size, alloc, block_count, held, free)


def _free_blocks(
    file: _Reader, pointer: int, alloc: int, held: int, block_count: int
) -> frozenset[int] | None:
    """The free list the header points to; None when it cannot be read as expected.

    A free list whose own metadata block lies past the end of the file counts as no free
    blocks at all, so every block past the end counts as missing.
    """
    if pointer == _NO_BLOCK:
        return frozenset()
    sub_size = (alloc - _BLOCK_CHECKSUM) // _METADATA_SUBBLOCKS // 8 * 8
    data = bytearray()

    def read_sub_block(pointer: int) -> int:
        block, index = pointer & ((1 << 56) - 1), pointer >> 56
        if block >= held:
            raise LookupError(block)
        if index >= _METADATA_SUBBLOCKS:
            raise ValueError(index)
        sub = file.read_at(
            _BLOCKS_START + block * alloc + _BLOCK_CHECKSUM + index * sub_size, sub_size
        )
        data.extend(sub[8:])
        return int(struct.unpack_from("<Q", sub)[0])

    try:
        following = read_sub_block(pointer)
        count = int(struct.unpack_from("<Q", data)[0])
        if count > block_count:
            return None
        for _hop in range(block_count + 1):
            if len(data) >= 8 + 8 * count:
                return frozenset(struct.unpack_from(f"<{count}q", data, 8))
            if following == _NO_BLOCK:
                return None
            following = read_sub_block(following)
    except LookupError:
        return frozenset()
    except (ValueError, struct.error):
        return None
    return None


def _verify_blocks(path: Path, layout: _Layout) -> None:
    """Compare every block in use with its stored checksum (DuckDB's: xor of 8-byte words
    times a constant, seeded with 5381), as DuckDB does when it reads one."""
    try:
        import numpy as np  # only this full check needs it (locked, via pyreadstat)
    except ImportError:  # pragma: no cover - then DuckDB verifies blocks as it reads them
        return

    factor = np.uint64(0xBF58476D1CE4E5B9)
    file = _Reader.of(path)
    for block in layout.in_use():
        offset = _BLOCKS_START + block * layout.alloc
        data = file.read_at(offset, layout.alloc)
        if len(data) < layout.alloc:
            break  # _check_layout already refused a file missing blocks in use
        words = np.frombuffer(data, dtype="<u8")
        with np.errstate(over="ignore"):
            computed = int(np.bitwise_xor.reduce(words[1:] * factor)) ^ 5381
        if computed != int(words[0]):
            raise CorruptWarehouseError(
                str(path),
                f"the warehouse file is damaged: a checksum does not match in the block "
                f"at byte {offset}",
            )


def connect(
    path: Path, *, read_only: bool = False, lock_timeout_s: float = 60.0
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; writable opens create the file and bring the schema up to date.

    Read-only opens never write and are sandboxed (``SANDBOX``): a missing file or an
    out-of-date schema is an error that says to run a refresh first. Both refuse a file that
    is not DuckDB's, is missing blocks in use (truncated) or fails a header checksum
    (``CorruptWarehouseError``) before DuckDB answers from it or writes to it; a damaged
    data block is found when a statement reads it (see ``reading``/``writing``).
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
            _check_layout(path)
            version = _guarded(path, schema_version, con)
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
        _check_layout(path)
        _guarded(path, migrate, con)
        _guarded(path, sync_reference, con)
    except BaseException:
        con.close()
        raise
    return con


def _guarded(path: Path, step: Callable[[duckdb.DuckDBPyConnection], T], con: DuckCon) -> T:
    try:
        return step(con)
    except duckdb.Error as exc:
        damaged = corruption(path, exc)
        if damaged is not None:
            raise damaged from None
        raise


@contextmanager
def writing(path: Path, lock_timeout_s: float = 60.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable connection held only for the ``with`` block (a load), then closed.

    A DuckDB error in the block that means the file is damaged becomes CorruptWarehouseError.
    """
    con = connect(path, lock_timeout_s=lock_timeout_s)
    try:
        yield con
    except duckdb.Error as exc:
        damaged = corruption(Path(path), exc)
        if damaged is not None:
            raise damaged from None
        raise
    finally:
        con.close()


@contextmanager
def reading(path: Path, lock_timeout_s: float = 10.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only, sandboxed connection for the ``with`` block (query, export, status).

    A DuckDB error in the block that means the file is damaged becomes CorruptWarehouseError.
    """
    con = connect(path, read_only=True, lock_timeout_s=lock_timeout_s)
    try:
        yield con
    except duckdb.Error as exc:
        damaged = corruption(Path(path), exc)
        if damaged is not None:
            raise damaged from None
        raise
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
