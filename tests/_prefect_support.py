"""One Prefect server for a whole test session (issue 20, part 7).

Without ``PREFECT_API_URL`` every `latinno refresh` a test starts would run Prefect's temporary
server in a fresh ``PREFECT_HOME``: a cold start (database, migrations) of 5-25 s per command on
a busy machine. Instead the session names one server on a free loopback port before anything
imports Prefect (settings are read at import), starts it the first time a test needs it, and
stops it when the session ends. In-process flows and CLI processes alike report to it.

The tests of the temporary server itself (a first run on a machine, a server that does not
start, nothing outliving a killed refresh) drop ``PREFECT_API_URL`` from their command's
environment: ``quiet_cli_env(..., temporary_server=True)``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

START_TIMEOUT_S = 180.0  # a cold start on a busy 2-core machine, with headroom


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SessionServer:
    """``prefect server start`` on ``port`` with its own home; started once, on demand."""

    def __init__(self, home: Path, port: int) -> None:
        self.home = home
        self.port = port
        self.url = f"http://127.0.0.1:{port}/api"
        self.log = home / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._healthy = False

    def begin(self) -> None:
        """Start the server process without waiting for it (it starts while tests run)."""
        with self._lock:
            if self._proc is not None:
                return
            self.home.mkdir(parents=True, exist_ok=True)
            env = dict(
                os.environ,
                PREFECT_HOME=str(self.home),
                # The refresh uses no blocks; registering Prefect's catalog costs 2.5 s.
                PREFECT_API_BLOCKS_REGISTER_ON_START="false",
                PREFECT_SERVER_ANALYTICS_ENABLED="false",
                PREFECT_SERVER_UI_ENABLED="false",
            )
            command = [sys.executable, "-m", "prefect", "server", "start"]
            command += ["--host", "127.0.0.1", "--port", str(self.port)]
            command += ["--no-scheduler", "--no-late-runs"]  # no deployments run here
            with self.log.open("wb") as out:
                self._proc = subprocess.Popen(
                    command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )

    def ensure(self) -> str:
        """The API's URL once the server answers its health check."""
        if self._healthy:
            return self.url
        self.begin()
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise RuntimeError(f"the session's Prefect server exited\n{self._tail()}")
                try:
                    if client.get(self.url + "/health").status_code == 200:
                        self._healthy = True
                        return self.url
                except httpx.TransportError:
                    pass
                time.sleep(0.1)  # polling the health check: the condition waited on
        raise RuntimeError(f"the session's Prefect server did not start\n{self._tail()}")

    def stop(self) -> None:
        proc, self._proc, self._healthy = self._proc, None, False
        if proc is not None:
            stop_group(proc, (signal.SIGTERM, signal.SIGKILL))
        shutil.rmtree(self.home, ignore_errors=True)

    def _tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"


_SERVER: SessionServer | None = None


def configure(home: Path) -> None:
    """Name the session's server in the environment, before anything imports Prefect."""
    global _SERVER
    _SERVER = SessionServer(home, free_port())
    os.environ["PREFECT_API_URL"] = _SERVER.url


def session_server() -> SessionServer:
    assert _SERVER is not None, "tests/conftest.py configures the session's Prefect server"
    return _SERVER


def prefect_api_url() -> str:
    """The session server's API, started if it is not yet."""
    return session_server().ensure()


def stop_group(proc: subprocess.Popen[bytes], signals: tuple[signal.Signals, ...]) -> None:
    """Send a process group each signal in turn, until its leader has ended (15 s each)."""
    for sig in signals:
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue
