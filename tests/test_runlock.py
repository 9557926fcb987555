"""One refresh per warehouse at a time (issue 13, part 5): the run lock, with real processes.

Holders are real Python processes that take the lock as a refresh does; they are stopped with
SIGKILL to leave the lock file behind as a crash would, and forked children keep the flock of a
dead parent as workers forked by a refresh would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from latinno.errors import RefreshRunningError
from warehouse.db import connect, writing
from warehouse.holders import process_alive
from warehouse.runlock import hold_run_lock, lock_path, running_refresh

pytestmark = pytest.mark.process  # commands run as processes: not in `make unit`

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "latinno refresh --db wh.duckdb --limit 5"

# Takes the run lock as a refresh would, says so (with the takeover note, if any), and holds it
# until a line arrives on stdin. With "fork", a forked child inherits the held lock and sleeps
# (its PID is printed first). A refused lock is one line on stderr and exit 1, as the CLI does.
HOLDER = """
import os, sys, time
from pathlib import Path
from latinno.errors import LatinnoError
from warehouse.runlock import hold_run_lock
try:
    with hold_run_lock(Path(sys.argv[1]), sys.argv[2]) as lock:
        if sys.argv[3:] == ["fork"]:
            child = os.fork()
            if child == 0:
                time.sleep(120)
                os._exit(0)
            print(child, flush=True)
        print(lock.note or "clean", flush=True)
        sys.stdin.readline()
except LatinnoError as exc:
    print(exc, file=sys.stderr)
    sys.exit(1)
"""

# The real CLI entry point, run as tests/test_warehouse_cli.py runs it.
RUNNER = "import sys\nfrom latinno.cli import main\nsys.argv[0] = 'latinno'\nmain()\n"


def _start(db: Path, command: str = COMMAND, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), command, *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _hold(db: Path, command: str = COMMAND, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """A holder process that has taken the lock, and its first line (note, or 'clean')."""
    holder = _start(db, command, *extra)
    assert holder.stdout is not None
    line = holder.stdout.readline().strip()
    assert line, holder.communicate(timeout=10)
    return holder, line


def _release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.wait(timeout=30) == 0


def _kill9(holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)


@pytest.fixture
def children() -> Iterator[list[int]]:
    """PIDs of orphaned grandchildren to kill at the end, whatever happens."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_second_refresh_stops_at_once_naming_the_running_one(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    holder, first = _hold(db)
    try:
        assert first == "clean"
        written = json.loads(lock_path(db).read_text(encoding="utf-8"))
        assert written["pid"] == holder.pid and written["command"] == COMMAND
        assert written["host"] == socket.gethostname()
        second = _start(db, "latinno refresh --db wh.duckdb")
        # At once: the holder keeps the lock until told, so a second run that waited for it
        # would never end here.
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1
        (line,) = err.splitlines()
        assert line.startswith(f"{db}: a refresh is already running on this warehouse: ")
        assert f"PID {holder.pid}" in line and f"`{COMMAND}`" in line
        assert f"started {written['started']}" in line and written["started"].endswith("Z")
        assert f"kill {holder.pid}" in line and line.endswith("then run again")
        with pytest.raises(RefreshRunningError) as caught, hold_run_lock(db, "again"):
            pass
        assert caught.value.pid == holder.pid and caught.value.command == COMMAND
        running = running_refresh(db)
        assert running is not None and running.pid == holder.pid
    finally:
        _release(holder)
    assert not lock_path(db).exists()  # a clean exit removes it
    assert running_refresh(db) is None
    with hold_run_lock(db, "next") as lock:  # and the next run starts clean
        assert lock.took_over is None and lock.note is None


def test_the_holding_process_takes_it_again_and_only_the_outer_block_releases_it(
    tmp_path: Path,
) -> None:
    # The CLI takes the lock before it starts Prefect; the flow, in the same process, takes it
    # again (scheduled runs have no CLI around them).
    db = tmp_path / "wh.duckdb"
    with hold_run_lock(db, "latinno refresh") as outer:
        with hold_run_lock(db, "flow") as inner:
            assert inner is outer
        assert lock_path(db).exists()  # still held after the inner block
        other = _start(db, "latinno refresh --full")
        _, err = other.communicate(timeout=30)
        assert other.returncode == 1 and f"PID {os.getpid()}" in err
        assert "`latinno refresh`" in err
    assert not lock_path(db).exists()
    successor, line = _hold(db)
    _release(successor)
    assert line == "clean"


def test_a_lock_left_by_a_killed_refresh_is_taken_over_with_a_note(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    holder, _ = _hold(db)
    started = json.loads(lock_path(db).read_text(encoding="utf-8"))["started"]
    _kill9(holder)
    assert lock_path(db).exists()  # left behind, as a crash leaves it
    assert running_refresh(db) is None
    successor, note = _hold(db, "latinno refresh")
    try:
        assert note == (
            f"took over a stale lock left by PID {holder.pid} (`{COMMAND}`, started {started}): "
            "that run was stopped before it finished"
        )
        assert json.loads(lock_path(db).read_text(encoding="utf-8"))["pid"] == successor.pid
        third = _start(db, "latinno refresh --full")
        _, err = third.communicate(timeout=30)
        assert third.returncode == 1 and f"PID {successor.pid}" in err
        assert "`latinno refresh`" in err
    finally:
        _release(successor)


def test_a_lock_kept_by_a_dead_refreshs_forked_child_is_stale(
    tmp_path: Path, children: list[int]
) -> None:
    # The child inherited the flock: the lock stays held after its parent was killed, but the
    # process the file names is gone, so the next refresh takes over (a new file).
    db = tmp_path / "wh.duckdb"
    holder = _start(db, COMMAND, "fork")
    assert holder.stdout is not None
    child = int(holder.stdout.readline())
    children.append(child)
    assert holder.stdout.readline().strip() == "clean"
    _kill9(holder)
    assert process_alive(child) and not process_alive(holder.pid)
    with hold_run_lock(db, "latinno refresh") as lock:
        assert lock.took_over is not None and lock.took_over.pid == holder.pid
        assert lock.note is not None and f"PID {holder.pid} (`{COMMAND}`" in lock.note
        other = _start(db, "latinno refresh --full")
        _, err = other.communicate(timeout=30)
        assert other.returncode == 1 and f"PID {os.getpid()}" in err  # the new lock holds
    assert process_alive(child)  # the orphan was left alone, it just lost the lock file


@pytest.mark.parametrize("stale", [False, True], ids=["free", "orphaned"])
def test_racing_refreshes_let_exactly_one_run(
    tmp_path: Path, children: list[int], stale: bool
) -> None:
    db = tmp_path / "wh.duckdb"
    if stale:
        holder = _start(db, COMMAND, "fork")
        assert holder.stdout is not None
        children.append(int(holder.stdout.readline()))
        holder.stdout.readline()
        _kill9(holder)
    racers = [_start(db, f"latinno refresh #{n}") for n in range(6)]
    try:
        deadline = time.monotonic() + 60  # refused racers exit; wait for all but one to
        while sum(racer.poll() is None for racer in racers) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        held = [racer for racer in racers if racer.poll() is None]
        assert len(held) == 1, [racer.communicate() for racer in racers if racer.poll() is not None]
        for racer in racers:
            if racer is not held[0]:
                _, err = racer.communicate(timeout=10)
                assert racer.returncode == 1 and f"PID {held[0].pid}" in err
        assert held[0].stdout is not None
        note = held[0].stdout.readline().strip()
        assert note.startswith("took over a stale lock") if stale else note == "clean"
    finally:
        for racer in racers:
            if racer.poll() is None:
                _release(racer)


def test_the_run_lock_never_blocks_readers_or_the_warehouse(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    connect(db).close()
    holder, _ = _hold(db)
    try:
        query = subprocess.run(
            [sys.executable, "-c", RUNNER, "query", "SELECT count(*) AS n FROM cases",
             "--format", "csv", "--db", str(db)],
            capture_output=True, text=True, cwd=ROOT, timeout=60,
        )  # fmt: skip
        assert query.returncode == 0, query.stderr
        assert query.stdout.splitlines() == ["n", "0"]
        with writing(db, lock_timeout_s=1.0) as con:  # the DuckDB file is not the run lock
            assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)
    finally:
        _release(holder)


def test_process_liveness_sees_exits_zombies_and_reused_pids() -> None:
    assert process_alive(os.getpid())
    assert process_alive(os.getpid(), started_by=time.time())
    # A lock written an hour ago cannot name this process: its PID was reused.
    assert not process_alive(os.getpid(), started_by=time.time() - 3600)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process_alive(sleeper.pid)
        sleeper.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while process_alive(sleeper.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_alive(sleeper.pid)  # a zombie now: not reaped yet, holds nothing
    finally:
        sleeper.wait(timeout=10)
    assert not process_alive(sleeper.pid)
