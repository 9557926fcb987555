"""The refresh on a Prefect work pool, run by a real worker (issue 20, part 2).

The README's "On a Prefect work pool" commands, word for word (a free port instead of 4200, a
test config instead of config.yaml): a real Prefect server, `prefect work-pool create`,
`latinno deploy`, a real `prefect worker` process and `prefect deployment run`. The test waits
for the run, then checks it through the Prefect API and the warehouse. Everything it starts is
stopped by process group.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import yaml
from _flow_support import expected_records

from latinno.sitemodel.server import run_server_in_thread

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"
BIN = Path(sys.executable).parent
WAIT_S = 240


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### On a Prefect work pool") :]
    start = section.index("```sh") + 5
    block = section[start : section.index("```", start)]
    lines = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    return [line for line in lines if line]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def argv(command: str) -> list[str]:
    words = shlex.split(command.rstrip("& "))
    if words[0].startswith(".venv/bin/"):
        words[0] = str(BIN / Path(words[0]).name)
    return words


@contextmanager
def started(command: str, env: dict[str, str], log: Path, cwd: Path) -> Iterator[None]:
    """A command in its own process group, output to ``log``; the group is stopped on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv(command), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            if proc.poll() is not None:
                break
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
        with suppress(ProcessLookupError):  # leftovers: the worker's flow-run processes
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for(what: str, check: Any, logs: list[Path]) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(1)  # polling an API that has no push, not waiting for a process to be ready
    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)
    pytest.fail(f"timed out waiting for {what}\n{tails}")


def test_a_deployment_on_a_work_pool_is_run_by_a_worker(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "deploy.yaml"
    commands = [
        c.replace("4200", str(port)).replace("config.yaml", str(config)) for c in readme_commands()
    ]
    assert any("latinno deploy" in c for c in commands)
    assert any("prefect worker start" in c for c in commands)
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect-home"))
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_WORKER_QUERY_SECONDS"] = "2"  # how often the worker asks for runs
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    db = tmp_path / "pool.duckdb"
    logs: list[Path] = []
    with ExitStack() as stack:
        site = stack.enter_context(run_server_in_thread(FIXTURES, sitemap=True))
        config.write_text(
            yaml.safe_dump(
                {
                    "source": {"base_url": site.base_url, "languages": ["en", "es"]},
                    "politeness": {"rate": 0, "concurrency": 4},
                    "warehouse": {"path": str(db)},
                }
            )
        )
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=10)
        for i, command in enumerate(commands):
            if command.startswith("export "):
                name, _, value = command.removeprefix("export ").partition("=")
                env[name] = value
                continue
            if command.endswith("&"):
                logs.append(tmp_path / f"{i}.log")
                stack.enter_context(started(command, env, logs[-1], tmp_path))
                if "prefect server start" in command:
                    wait_for("the Prefect server", lambda: _healthy(client), logs)
                continue
            done = subprocess.run(
                argv(command), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, (command, done.stdout, done.stderr)

        wrong = [str(BIN / "latinno"), "deploy", "--pool", "missing", "--config", str(config)]
        refused = subprocess.run(wrong, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert refused.returncode == 1
        (line,) = refused.stderr.splitlines()
        assert "work pool 'missing' not found" in line and "prefect work-pool create" in line

        def finished() -> dict[str, Any] | None:
            runs = client.post("/flow_runs/filter", json={}).json()
            ended = [r for r in runs if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")]
            return ended[0] if ended else None

        run = wait_for("the worker's run to finish", finished, logs)
        deployment = client.get(f"/deployments/{run['deployment_id']}").json()
        worker_log = logs[-1].read_text(errors="replace")

    assert run["state_type"] == "COMPLETED", worker_log
    assert deployment["work_pool_name"] == "latinno"
    assert deployment["entrypoint"] == "flows.refresh.refresh"
    assert run["work_pool_name"] == "latinno"
    assert run["infrastructure_pid"]  # a worker started a process for it
    expected = {**expected_records(FIXTURES, "es"), **expected_records(FIXTURES, "en")}
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM cases").fetchone() == (len(expected),)
        (status,) = con.execute("SELECT status FROM runs").fetchone()  # type: ignore[misc]
    assert status == "completed"


def _healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/health").status_code == 200
    except httpx.HTTPError:
        return False


def test_deploy_without_a_prefect_server_fails_in_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect-home"))
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "latinno.cli", "deploy", "--pool", "nowhere"]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert "PREFECT_API_URL is not set" in line
