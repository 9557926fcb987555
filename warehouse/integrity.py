"""Is the warehouse file whole? DuckDB's damage errors, and the checks DuckDB leaves to reads.

DuckDB reads a block (and verifies its checksum) only when a statement needs it, so a truncated
copy would otherwise open and answer every query that does not touch the missing blocks. Every
open therefore checks, while it holds the file, that every block in use lies inside it
(``check_layout``); ``check_warehouse`` also verifies every block's checksum (refresh and
reparse call it before they write). A checksum mismatch found later, in a block a statement
reads, is mapped by ``corruption`` to ``CorruptWarehouseError``: one line naming the file and
what to do.
"""

from __future__ import annotations

import os
import re
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import duckdb

from latinno.errors import CorruptWarehouseError, WarehouseError
from warehouse.holders import lock_holder
from warehouse.sandbox import SANDBOX

_CHECKSUM = re.compile(r"does not match stored checksum \d+ in block at location (\d+)")
_SHORT_READ = re.compile(r"attempted to read (\d+) bytes from location (\d+)")

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


def one_line(exc: BaseException) -> str:
    """A DuckDB message on one line (it spreads some over several, with hints)."""
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
            check_layout(path)  # this process has it open already: no blocks are read then
            return
        problem = one_line(exc)
        raise WarehouseError(f"{path}: cannot open the warehouse: {problem}") from None
    try:
        layout = check_layout(path)
        if verify_blocks and layout.free is not None:
            _verify_blocks(path, layout)
    finally:
        con.close()


def check_layout(path: Path) -> _Layout:
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
        import numpy as np  # only this full check needs it (a runtime dependency)
    except ImportError:  # pragma: no cover - then DuckDB verifies blocks as it reads them
        return

    factor = np.uint64(0xBF58476D1CE4E5B9)
    file = _Reader.of(path)
    for block in layout.in_use():
        offset = _BLOCKS_START + block * layout.alloc
        data = file.read_at(offset, layout.alloc)
        if len(data) < layout.alloc:
            break  # check_layout already refused a file missing blocks in use
        words = np.frombuffer(data, dtype="<u8")
        with np.errstate(over="ignore"):
            computed = int(np.bitwise_xor.reduce(words[1:] * factor)) ^ 5381
        if computed != int(words[0]):
            raise CorruptWarehouseError(
                str(path),
                f"the warehouse file is damaged: a checksum does not match in the block "
                f"at byte {offset}",
            )
