"""What Linux's /proc says about processes: the one place it is read and parsed.

The reaper (``latinno.reaper``) walks a command's descendants with it, and the warehouse
(``warehouse.holders``) names and checks the process holding a file. Standard library only, and
nothing of the pipeline: the reaper's watcher process must start fast. Where there is no /proc
(macOS, Windows) every function answers "unknown" (None, or nothing found), never raises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class ProcStat:
    """What ``/proc/PID/stat`` says of a process: its state letter (``R``, ``S``, ``Z``...),
    its parent and when it started, in clock ticks after boot (with the pid, it tells a
    process from a later one that reuses its pid)."""

    state: str
    ppid: int
    start_ticks: int

    @property
    def ended(self) -> bool:
        """A zombie (exited, not reaped yet) or a dead one: it holds no files any more."""
        return self.state in ("Z", "X")

    def started_epoch(self) -> float | None:
        """When it started, in seconds since the epoch; None if the boot time is unknown."""
        boot = boot_time()
        try:
            return None if boot is None else boot + self.start_ticks / os.sysconf("SC_CLK_TCK")
        except (ValueError, OSError):
            return None


def available() -> bool:
    """True where there is a /proc to read (Linux)."""
    return (PROC / "self" / "stat").exists()


def stat(pid: int) -> ProcStat | None:
    """``pid``'s stat; None when there is no such process (or no /proc: see ``available``).

    Raises OSError when /proc lists the process but does not say (no permission).
    """
    try:
        raw = (PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while we read
        return None
    fields = raw[raw.rfind(")") + 2 :].split()  # the command name may hold spaces and ")"
    try:
        return ProcStat(fields[0], int(fields[1]), int(fields[19]))  # fields 3, 4 and 22
    except (IndexError, ValueError):
        raise OSError(f"/proc/{pid}/stat: unexpected format") from None


def pids() -> list[int]:
    """Every process id /proc lists now; empty without /proc."""
    try:
        return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]
    except OSError:
        return []


def cmdline(pid: int) -> list[str] | None:
    """``pid``'s command line as argv; None when unreadable (gone, another user's, no /proc)
    or empty (a kernel thread, a zombie)."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    argv = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    return argv or None


def posix_lockers(path: Path) -> list[int]:
    """The processes /proc/locks lists as holding a POSIX lock on ``path``; empty when none is
    listed, ``path`` is gone or there is no /proc."""
    try:
        st = os.stat(path)
        listed = (PROC / "locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    found = []
    for line in listed.splitlines():
        fields = line.split()  # 1: POSIX ADVISORY WRITE 42 fe:00:2293771 0 EOF
        if len(fields) >= 6 and fields[1] == "POSIX" and fields[5] == device:
            try:
                found.append(int(fields[4]))
            except ValueError:
                continue
    return found


@cache
def boot_time() -> float | None:
    """When this machine booted, in seconds since the epoch (``btime`` of /proc/stat)."""
    try:
        lines = (PROC / "stat").read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("btime "):
            return float(line.split()[1])
    return None
