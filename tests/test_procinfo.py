"""/proc read in one place (latinno.procinfo), for the reaper and the warehouse's lock holders:
real processes and a real POSIX lock. Their users: tests/test_reaper.py, tests/test_runlock.py,
tests/test_warehouse_db.py."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from latinno import procinfo
from latinno.reaper import descendants
from warehouse.holders import locking_pid, process_alive, process_command

pytestmark = pytest.mark.skipif(not procinfo.available(), reason="Linux /proc only")


def test_this_process_as_proc_tells_it() -> None:
    me = procinfo.stat(os.getpid())
    assert me is not None and not me.ended
    assert me.ppid == os.getppid()
    started = me.started_epoch()
    assert started is not None and procinfo.boot_time() is not None
    assert procinfo.boot_time() <= started <= time.time()  # type: ignore[operator]
    assert os.getpid() in procinfo.pids()
    assert procinfo.cmdline(os.getpid()) == [arg for arg in sys.orig_argv if arg]


def test_a_child_from_start_to_zombie_to_gone() -> None:
    script = "import sys; print(flush=True); sys.stdin.read()"
    child = subprocess.Popen(
        [sys.executable, "-c", script, "a b) c"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path.cwd(),
    )
    try:
        # Started is not yet exec'd: until then its /proc entry shows pytest's command line, or
        # none while exec replaces it. A line from the child says it is running the script.
        assert child.stdout is not None and child.stdout.readline() == b"\n"
        info = procinfo.stat(child.pid)
        assert info is not None and info.ppid == os.getpid() and not info.ended
        assert procinfo.cmdline(child.pid) == [sys.executable, "-c", script, "a b) c"]
        assert process_command(child.pid) == f"{Path(sys.executable).name} -c '{script}' 'a b) c'"
        assert descendants(os.getpid())[child.pid] == info.start_ticks
        assert process_alive(child.pid)
        assert child.stdin is not None
        child.stdin.close()  # it ends now
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # ended, left unreaped: a zombie
        zombie = procinfo.stat(child.pid)
        assert zombie is not None and zombie.ended
        assert not process_alive(child.pid)  # a zombie holds no files
        assert child.pid not in descendants(os.getpid())
    finally:
        child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
    assert procinfo.stat(child.pid) is None
    assert procinfo.cmdline(child.pid) is None
    assert not process_alive(child.pid)


def test_a_posix_lock_is_found_by_its_file(tmp_path: Path) -> None:
    path = tmp_path / "locked"
    path.write_text("x")
    assert procinfo.posix_lockers(path) == []
    with path.open("r+") as file:
        fcntl.lockf(file, fcntl.LOCK_EX)
        assert procinfo.posix_lockers(path) == [os.getpid()]
        assert locking_pid(path) is None  # our own lock is nobody else's
    assert procinfo.posix_lockers(path) == []
    assert procinfo.posix_lockers(tmp_path / "missing") == []
