"""Killing a command with -9 leaves nothing behind (issue 13, part 6): real processes, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _flow_support import quiet_cli_env

from latinno.reaper import descendants
from latinno.sitemodel.server import run_server_in_thread

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"

PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    nested = [sys.executable, "-c",
              "import subprocess, sys, time; subprocess.Popen(sys.argv[1:]); time.sleep(120)",
              *sleeper]
    subprocess.Popen(sleeper)
    subprocess.Popen(nested)
    print("ready", flush=True)
    time.sleep(120)
    """
)
# The watcher ``watch_over`` starts (``python -m latinno.reaper PID``), saying after each poll
# how many descendants it has noted: the test kills the parent once the watcher has seen them
# all, not after a guess at how long that takes.
WATCHER = textwrap.dedent(
    """
    import sys
    from latinno import reaper
    _descendants = reaper.descendants
    def descendants(pid):
        found = _descendants(pid)
        print(len(found), flush=True)
        return found
    reaper.descendants = descendants
    reaper.watch(int(sys.argv[1]))
    """
)


def wait_until(check, timeout_s: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def alive(pids: dict[int, int]) -> set[int]:
    from latinno.reaper import _stat

    return {p for p, started in pids.items() if (s := _stat(p)) and s[1] == started}


@pytest.mark.process
def test_descendants_of_a_killed_process_are_ended() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
    watcher = subprocess.Popen(
        [sys.executable, "-c", WATCHER, str(parent.pid)],
        stdout=subprocess.PIPE, text=True, cwd=REPO, start_new_session=True,
    )  # fmt: skip
    assert watcher.stdout is not None
    try:
        # 2 children + a grandchild; the watcher polls every POLL_S until it has noted them all
        for noted in watcher.stdout:
            if int(noted) >= 3:
                break
        left = descendants(parent.pid)
        assert len(left) == 3, left
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert watcher.wait(timeout=15) == 0  # it ends once the tree is gone
        assert wait_until(lambda: not alive(left), 15), alive(left)
    finally:
        for process in (parent, watcher):
            if process.poll() is None:
                process.kill()


@pytest.mark.slow
def test_a_killed_refresh_leaves_no_prefect_server_or_worker(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with run_server_in_thread(FIXTURES, sitemap=True) as site:
        command = ["refresh", "--db", str(db), "--rate", "1", "--base-url", site.base_url]
        proc = subprocess.Popen(
            [sys.executable, "-m", "latinno.cli", *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=quiet_cli_env(tmp_path, temporary_server=True),  # the server it must end
        )

        def serving() -> bool:
            cmdlines = [Path(f"/proc/{p}/cmdline").read_bytes() for p in descendants(proc.pid)]
            return any(b"uvicorn" in c for c in cmdlines) and site.stats()["total_requests"] > 3

        try:
            assert wait_until(serving, 120), "the refresh never got going"
            left = descendants(proc.pid)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert wait_until(lambda: not alive(left), 20), alive(left)
