"""No process outlives the command that started it, even one killed with -9.

A refresh starts Prefect's temporary API server (a process of its own). Killed with
SIGKILL, the command cannot stop it, and it would run on, orphaned. ``watch_over(pid)``
starts a tiny watcher process (``python -m latinno.reaper PID``) that notes the command's
descendants every half second and, once the command is gone, ends those still running: SIGTERM,
then SIGKILL after a grace period. Linux only (it reads /proc, through ``latinno.procinfo``);
elsewhere it does nothing.

Standard library only (``latinno.procinfo`` is too): the watcher must start fast and import
nothing of the pipeline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from latinno import procinfo

POLL_S = 0.5
GRACE_S = 3.0


def watch_over(pid: int | None = None) -> subprocess.Popen[bytes] | None:
    """Start the watcher of ``pid`` (default: this process); None where there is no /proc."""
    if not procinfo.available():
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "latinno.reaper", str(pid or os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a signal to the command's process group spares the watcher
        close_fds=True,
    )


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process, or None."""
    try:
        info = procinfo.stat(pid)
    except OSError:
        return None
    if info is None or info.ended:  # a zombie is already dead
        return None
    return info.ppid, info.start_ticks


def descendants(pid: int) -> dict[int, int]:
    """Every live descendant of ``pid``: pid -> start time (to tell a reused pid apart)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for child in procinfo.pids():
        info = _stat(child)
        if info is not None:
            children.setdefault(info[0], []).append((child, info[1]))
    found: dict[int, int] = {}
    todo = [pid]
    while todo:
        for child, started in children.get(todo.pop(), []):
            if child not in found:
                found[child] = started
                todo.append(child)
    return found


def end(processes: dict[int, int], grace_s: float = GRACE_S) -> None:
    """SIGTERM every process that is still the one we saw, then SIGKILL the stubborn ones."""
    me = os.getpid()
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 0.0)):
        alive = {p: s for p, s in processes.items() if p != me and (i := _stat(p)) and i[1] == s}
        for pid in alive:
            with contextlib.suppress(OSError):  # it ended meanwhile
                os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while alive and time.monotonic() < deadline:
            alive = {p: s for p, s in alive.items() if (i := _stat(p)) and i[1] == s}
            time.sleep(0.1)
        if not alive:
            return


def watch(pid: int, poll_s: float = POLL_S) -> None:
    """Note ``pid``'s descendants while it lives; when it is gone, end them."""
    seen: dict[int, int] = {}
    while _stat(pid) is not None:
        seen = descendants(pid) | {p: s for p, s in seen.items() if (i := _stat(p)) and i[1] == s}
        seen.pop(os.getpid(), None)
        time.sleep(poll_s)
    end(seen)


if __name__ == "__main__":
    watch(int(sys.argv[1]))
