"""One refresh per warehouse at a time: the run lock.

The lock is a file beside the warehouse (``<db>.refresh.lock``) that the running refresh keeps
open under an exclusive ``flock`` and that names it: PID, start time (UTC), host and command. A
second refresh finds the flock taken and stops at once with ``RefreshRunningError`` naming the
first, before any request. The OS drops a flock when its process dies, however it dies, so the
file a killed run (kill -9) leaves behind is found free and taken over, and the new ``RunLock``
says so (``note``) for the run summary. A flock belongs to the open file, not the process: a
child forked while the lock was held keeps it after its parent died. A lock still held but
naming a process that no longer runs (on this host) is therefore stale too, and is taken over
by replacing the file.

The lock file is not the DuckDB file: readers (query, export, status) never look at it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from latinno.errors import RefreshRunningError, WarehouseError
from warehouse.holders import process_alive, this_command

LOCK_SUFFIX = ".refresh.lock"
_ATTEMPTS = 20
# A holder writes its details right after taking the flock; a taker that finds the file still
# empty waits this long for them before naming an unknown holder.
_DETAILS_WAIT_S = 1.0
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Takers hold the folder's flock for microseconds; one held longer was inherited by a stray
# process, and waiting for it any longer would only hang the refresh.
_GUARD_WAIT_S = 5.0

# The run locks this process holds, by lock file: (lock, how many ``with`` blocks hold it).
_HELD: dict[str, tuple[RunLock, int]] = {}
_HELD_GUARD = threading.Lock()


@dataclass(frozen=True, slots=True)
class LockOwner:
    """The process a run lock file names."""

    pid: int
    started: str  # UTC, ISO 8601 (2026-03-02T03:00:00Z)
    host: str
    command: str

    def to_bytes(self) -> bytes:
        fields = {"pid": self.pid, "started": self.started, "host": self.host}
        return (json.dumps({**fields, "command": self.command}) + "\n").encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> LockOwner | None:
        """The owner a lock file names; None for an empty or half-written file."""
        try:
            data = json.loads(raw.decode("utf-8"))
            pid, started, host = int(data["pid"]), str(data["started"]), str(data["host"])
            return cls(pid, started, host, str(data["command"]))
        except (ValueError, KeyError, TypeError):
            return None

    def started_epoch(self) -> float | None:
        try:
            moment = datetime.strptime(self.started, _TIME_FORMAT)
        except ValueError:
            return None
        return moment.replace(tzinfo=UTC).timestamp()

    def gone(self) -> bool:
        """True when this owner no longer runs; a process on another host counts as running."""
        if self.host != socket.gethostname():
            return False
        return not process_alive(self.pid, self.started_epoch())


@dataclass(frozen=True, slots=True)
class RunLock:
    """The run lock this process holds; ``took_over`` is the stale lock it replaced, if any."""

    db_path: Path
    lock_file: Path
    owner: LockOwner
    took_over: LockOwner | None = None

    @property
    def note(self) -> str | None:
        """One line for the run summary when this run took over a stale lock, else None."""
        stale = self.took_over
        if stale is None:
            return None
        where = "" if stale.host == self.owner.host else f" on {stale.host}"
        return (
            f"took over a stale lock left by PID {stale.pid}{where} (`{stale.command}`, "
            f"started {stale.started}): that run was stopped before it finished"
        )


def lock_path(db_path: Path) -> Path:
    """The run lock file of the warehouse at ``db_path``."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + LOCK_SUFFIX)


@contextmanager
def hold_run_lock(db_path: Path, command: str | None = None) -> Iterator[RunLock]:
    """Hold the run lock of ``db_path`` for the ``with`` block; raise ``RefreshRunningError``
    at once if another live process holds it.

    ``command`` is what the lock file (and so another refresh's error) names this run by:
    this process's command line when None. A process that holds the lock already (the CLI
    took it before starting the flow) gets the same ``RunLock`` back, and only the outermost
    ``with`` releases it. The lock file is removed on the way out.
    """
    db_path = Path(db_path)
    lock_file = lock_path(db_path)
    key = os.path.realpath(lock_file)
    joined = _join(key)
    if joined is not None:
        try:
            yield joined
        finally:
            with _HELD_GUARD:
                _HELD[key] = (joined, _HELD[key][1] - 1)
        return
    owner = LockOwner(os.getpid(), _utc_now(), socket.gethostname(), command or this_command())
    fd, took_over = _acquire(db_path, lock_file, owner)
    lock = RunLock(db_path, lock_file, owner, took_over)
    with _HELD_GUARD:
        _HELD[key] = (lock, 1)
    try:
        yield lock
    finally:
        with _HELD_GUARD:
            del _HELD[key]
        _release(fd, lock_file)


def _join(key: str) -> RunLock | None:
    """The run lock this process holds on ``key`` (counted once more), or None."""
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is None or held[0].owner.pid != os.getpid():  # none, or a forked child's copy
            return None
        _HELD[key] = (held[0], held[1] + 1)
        return held[0]


def running_refresh(db_path: Path) -> LockOwner | None:
    """The refresh holding the run lock of ``db_path`` now, or None (for status displays).

    Reads the lock file without locking it, so asking never makes a refresh starting at that
    moment find the lock taken.
    """
    try:
        owner = LockOwner.from_bytes(lock_path(db_path).read_bytes())
    except OSError:
        return None
    return None if owner is None or owner.gone() else owner


def _acquire(db_path: Path, lock_file: Path, owner: LockOwner) -> tuple[int, LockOwner | None]:
    """The descriptor holding the flock on the current lock file, and the stale owner that
    file named (None when the lock was free and clean).

    Takers go one at a time (a flock on the folder): a holder has always written its details
    by the time another taker reads them, so a held lock naming a dead process is orphaned,
    never one taken a moment ago.
    """
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(f"{lock_file}: cannot create the run lock: {exc.strerror}") from None
    guard = _open_guard(lock_file.parent)
    try:
        for _attempt in range(_ATTEMPTS):
            fd = _open_lock(lock_file)
            try:
                if _try_flock(fd, lock_file, fcntl.LOCK_EX):
                    if _is_current(fd, lock_file):  # else its holder removed it on release
                        left = LockOwner.from_bytes(_read(fd))
                        _write(fd, lock_file, owner)
                        return fd, left
                else:
                    holder = _holder_details(fd)
                    if holder is None or not holder.gone():
                        raise _running(db_path, lock_file, holder)
                    _replace_orphaned(fd, lock_file, holder.to_bytes())
            except BaseException:
                _close_quietly(fd)
                raise
            os.close(fd)
    finally:
        if guard is not None:
            os.close(guard)
    raise WarehouseError(
        f"{lock_file}: cannot take the run lock: the file kept changing under {_ATTEMPTS} tries; "
        "run again"
    )


def _running(db_path: Path, lock_file: Path, holder: LockOwner | None) -> RefreshRunningError:
    if holder is None:
        return RefreshRunningError(str(db_path), None, "", "", "", str(lock_file))
    return RefreshRunningError(
        str(db_path), holder.pid, holder.command, holder.started, holder.host, str(lock_file)
    )


def _holder_details(fd: int) -> LockOwner | None:
    """What the held lock file says about its holder, waiting briefly for a fresh holder to
    write it; None if it never does."""
    deadline = time.monotonic() + _DETAILS_WAIT_S
    while True:
        holder = LockOwner.from_bytes(_read(fd))
        if holder is not None or time.monotonic() >= deadline:
            return holder
        time.sleep(0.05)


def _replace_orphaned(fd: int, lock_file: Path, stale: bytes) -> None:
    """Put a fresh lock file, free and naming the dead holder, in place of the one ``fd`` is
    open on; the next try takes it as a stale lock, with its note."""
    fresh = lock_file.with_name(f"{lock_file.name}.{os.getpid()}.tmp")
    try:
        if _is_current(fd, lock_file):
            fresh.write_bytes(stale)
            os.replace(fresh, lock_file)
    except OSError as exc:
        raise WarehouseError(
            f"{lock_file}: cannot replace the stale run lock: {exc.strerror}"
        ) from None
    finally:
        fresh.unlink(missing_ok=True)


def _open_guard(folder: Path) -> int | None:
    """A flock on ``folder`` that makes takers go one at a time; None where the folder cannot
    be locked (or another taker kept it for ``_GUARD_WAIT_S``): then unguarded."""
    try:
        guard = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    deadline = time.monotonic() + _GUARD_WAIT_S
    while True:
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return guard
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(0.01)
                continue
        except OSError:
            pass
        os.close(guard)
        return None


def _release(fd: int, lock_file: Path) -> None:
    # Unlink while still holding the flock, so nobody takes a lock on a file about to vanish
    # without noticing (takers check the file is still current after their flock).
    try:
        if _is_current(fd, lock_file):
            os.unlink(lock_file)
    except OSError:
        pass  # the flock goes with the descriptor; a file left behind is taken over cleanly
    finally:
        _close_quietly(fd)


def _open_lock(lock_file: Path) -> int:
    try:
        return os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise WarehouseError(f"{lock_file}: cannot open the run lock: {exc.strerror}") from None


def _try_flock(fd: int, lock_file: Path, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        raise WarehouseError(f"{lock_file}: cannot lock the run lock: {exc.strerror}") from None
    return True


def _is_current(fd: int, lock_file: Path) -> bool:
    """True when ``lock_file`` is still the file ``fd`` is open on (not removed or replaced)."""
    try:
        named = os.stat(lock_file)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _read(fd: int) -> bytes:
    return os.pread(fd, 64 * 1024, 0)


def _write(fd: int, lock_file: Path, owner: LockOwner) -> None:
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, owner.to_bytes(), 0)
        os.fsync(fd)
    except OSError as exc:
        raise WarehouseError(f"{lock_file}: cannot write the run lock: {exc.strerror}") from None


def _close_quietly(fd: int) -> None:
    with suppress(OSError):
        os.close(fd)


def _utc_now() -> str:
    return datetime.now(UTC).strftime(_TIME_FORMAT)


def refuse_if_running(db_path: Path) -> None:
    """Raise ``RefreshRunningError`` now when a live refresh holds the lock of ``db_path``: the
    CLI asks before it starts Prefect, so a second refresh stops at once, not 10-25 s later."""
    holder = running_refresh(db_path)
    if holder is not None:
        raise _running(Path(db_path), lock_path(db_path), holder)
