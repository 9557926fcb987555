"""Who holds the warehouse: the process a DuckDB lock conflict names, as a person knows it.

DuckDB names only the executable (``/usr/bin/python3 (PID 42)``), which for every latinno
command is the Python interpreter, and appends advice meant for its own CLI ("open this
database in read-only mode, e.g. by using the -readonly parameter in the CLI"). Our messages
name the holder's command line and PID instead (from /proc where there is one, read by
``latinno.procinfo``) and say which of our settings applies. The run lock
(``warehouse.runlock``) names and checks processes the same way.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

from latinno import procinfo

# 'Could not set lock on file "x": Conflicting lock is held in /usr/bin/python3 (PID 42) [by user
# u]. However, you would be able to open this database in read-only mode, e.g. by using the
# -readonly parameter in the CLI. See also https://duckdb.org/docs/current/connect/concurrency'
_HOLDER_WITH_PID = re.compile(r"Conflicting lock is held in (.+?\(PID \d+\))", re.S)
_HOLDER_ANY = re.compile(r"Conflicting lock is held in (.+?)(?:\. However|\. See also|$)", re.S)
_HOLDER_PID = re.compile(r"\(PID (\d+)\)")
_COMMAND_LIMIT = 100


def lock_holder(message: str) -> str | None:
    """The process DuckDB names in a lock conflict message, or None if it is not one."""
    if "lock" not in message.lower():
        return None
    match = _HOLDER_WITH_PID.search(message) or _HOLDER_ANY.search(message)
    if match:
        return " ".join(match.group(1).split())
    return "another process" if "Could not set lock" in message else None


def locking_pid(path: Path) -> int | None:
    """A process holding a POSIX lock on ``path``, from /proc/locks (Linux); None if none is
    listed or there is no /proc. For DuckDB messages that name no process."""
    me = os.getpid()
    return next((pid for pid in procinfo.posix_lockers(path) if pid != me), None)


def holder_pid(holder: str) -> int | None:
    """The PID in a holder as ``lock_holder`` or ``describe_holder`` give it."""
    match = _HOLDER_PID.search(holder)
    return int(match.group(1)) if match else None


def describe_holder(duckdb_holder: str) -> str:
    """The process holding the lock as a person knows it: ```latinno refresh …` (PID 42)``.

    Falls back to what DuckDB said when the process's command line cannot be read (another
    user's process without /proc access, or no /proc at all).
    """
    pid = holder_pid(duckdb_holder)
    if pid is None:
        return duckdb_holder
    command = process_command(pid)
    return duckdb_holder if command is None else f"`{command}` (PID {pid})"


def process_command(pid: int) -> str | None:
    """The command line of process ``pid`` as ``command_of`` gives it; None when unreadable."""
    argv = procinfo.cmdline(pid)
    return command_of(argv) if argv else None


def this_command() -> str:
    """This process's command line as ``command_of`` gives it."""
    return process_command(os.getpid()) or command_of(list(sys.orig_argv) or ["python"])


def command_of(argv: list[str]) -> str:
    """``latinno refresh --db x`` for our console script or ``python -m latinno.cli``, else argv."""
    for index, part in enumerate(argv):
        if os.path.basename(part) == "latinno":
            return _shorten(["latinno", *argv[index + 1 :]])
        if part == "-m" and index + 1 < len(argv) and argv[index + 1] in ("cli", "latinno.cli"):
            return _shorten(["latinno", *argv[index + 2 :]])
    return _shorten([os.path.basename(argv[0]), *argv[1:]])


def _shorten(argv: list[str]) -> str:
    text = " ".join(shlex.quote(" ".join(part.split())) for part in argv)
    return text if len(text) <= _COMMAND_LIMIT else text[: _COMMAND_LIMIT - 1] + "…"


def process_alive(pid: int, started_by: float | None = None) -> bool:
    """True when process ``pid`` runs (on this host), and, given ``started_by`` (epoch seconds),
    started no later than that: a process started after it only reuses the PID.

    A zombie (exited, not yet reaped) counts as gone: it holds no files any more.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    try:
        stat = procinfo.stat(pid)
    except OSError:
        return True  # /proc will not say: the signal check is all we know
    if stat is None:  # gone since the signal check; without /proc, that check is all we know
        return not procinfo.available()
    if stat.ended:
        return False
    started = None if started_by is None else stat.started_epoch()
    return started_by is None or started is None or started <= started_by + 2.0


def waiting_line(path: Path, holder: str, waited_s: float) -> str:
    """What a patient writer says while another process holds the warehouse (one line)."""
    return (
        f"{path}: waiting for {holder} to close the warehouse ({waited_s:.0f}s so far); "
        "this run goes on as soon as it does (stop that process to go on sooner)"
    )
