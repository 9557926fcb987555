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

from latinno.reaper import POLL_S, descendants
from latinno.sitemodel.server import run_server_in_thread

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"

PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    from latinno.reaper import watch_over
    watch_over()
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
    assert wait_until(lambda: len(descendants(parent.pid)) >= 4, 10)  # watcher, 2 + grandchild
    time.sleep(2 * POLL_S)  # the watcher notes the tree every POLL_S; let it see this one
    left = descendants(parent.pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert wait_until(lambda: not alive(left), 15), alive(left)


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
