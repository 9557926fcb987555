"""The CLI as a product: help everywhere, quiet runs, one-line errors, the scheduled deployment."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml
from _flow_support import quiet_cli_env
from typer.testing import CliRunner

from latinno.cli import app

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"

pytestmark = pytest.mark.process  # commands run as processes: not in `make unit`


def _commands() -> list[list[str]]:
    """Every leaf command path, found from the app itself (a new command is covered too)."""
    found: list[list[str]] = []

    def walk(group: object, prefix: list[str]) -> None:
        for name, command in group.commands.items():  # type: ignore[attr-defined]
            if hasattr(command, "commands"):
                walk(command, [*prefix, name])
            else:
                found.append([*prefix, name])

    walk(typer.main.get_command(app), [])
    return found


def latinno(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latinno.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def test_the_app_has_the_documented_commands() -> None:
    names = {" ".join(c) for c in _commands()}
    assert {
        "parse",
        "refresh",
        "reparse",
        "query",
        "export",
        "status",
        "serve",
        "demo",
        "site serve",
        "site generate",
    } <= names


# In this process (Typer's runner): the help a command prints is the app's, which a process
# started per command (20 cold starts) proved no better; `latinno --help` runs as a process in
# test_version_comes_from_the_package_metadata.
@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c))
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], prog_name="latinno")
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout, result.stdout
    assert "latinno " + command[0] in result.stdout


def test_usage_error_is_short_and_nonzero() -> None:
    proc = latinno("refresh", "--rate", "fast")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "--rate" in proc.stderr


def test_bad_override_names_the_setting(tmp_path: Path) -> None:
    proc = latinno("refresh", "--base-url", "latinno.net", "--db", str(tmp_path / "x.duckdb"))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "source.base_url" in lines[0]
    assert not (tmp_path / "x.duckdb").exists()  # rejected before anything ran


def test_deployment_carries_the_configured_schedule_and_parameters(tmp_path: Path) -> None:
    from flows.deployment import build_deployment
    from latinno.config import load_settings

    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "schedule": {"cron": "15 4 * * 2", "timezone": "America/Lima"},
                "warehouse": {"path": str(tmp_path / "w.duckdb")},
            }
        )
    )
    settings = load_settings(config, env={})
    deployment = build_deployment(settings, config, name="nightly")
    assert deployment.name == "nightly"
    assert deployment.flow_name == "latinno-refresh"
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "15 4 * * 2"
    assert schedule.schedule.timezone == "America/Lima"
    assert deployment.parameters == {
        "config_path": str(config.resolve()),
        "overrides": {"warehouse": {"path": str((tmp_path / "w.duckdb").resolve())}},
    }


@pytest.mark.slow
def test_refresh_cli_run_is_quiet_and_exits_zero(tmp_path: Path) -> None:
    from latinno.sitemodel.server import run_server_in_thread

    # A first run on a machine: no PREFECT_API_URL, so Prefect starts its temporary server.
    env = quiet_cli_env(tmp_path, temporary_server=True)  # the CLI must quieten Prefect itself
    db = tmp_path / "cli.duckdb"
    with run_server_in_thread(FIXTURES, sitemap=True) as server:
        proc = latinno(
            "refresh",
            "--base-url",
            server.base_url,
            "--db",
            str(db),
            "--rate",
            "0",
            "--limit",
            "10",
            env=env,
            timeout=240,
        )
    assert proc.returncode == 0, proc.stderr
    noise = re.compile(
        r"Traceback|ERROR|WARNING|telemetry|Exception|Warning|Shutting down", re.IGNORECASE
    )
    assert not noise.search(proc.stderr), proc.stderr
    assert not noise.search(proc.stdout), proc.stdout
    assert re.search(r"new cases\s*│\s*10\b", proc.stdout), proc.stdout
    # The temporary server of a first run on a machine skipped registering block types
    # (2.5 s of its start): its new database has none, and the run did not need them.
    with sqlite3.connect(tmp_path / "prefect" / "prefect.db") as prefect_db:
        (block_types,) = prefect_db.execute("SELECT count(*) FROM block_type").fetchone()
    assert block_types == 0


HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE IF NOT EXISTS held (x INTEGER)")
print("ready", flush=True)
sys.stdin.readline()
"""


@pytest.mark.slow
def test_refresh_on_a_locked_database_fails_in_one_line_naming_the_holder(tmp_path: Path) -> None:
    """Someone has the database open: the scheduled refresh must say so, not fail silently."""
    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"warehouse": {"lock_timeout_s": 1}}))
    env = quiet_cli_env(tmp_path)
    try:
        proc = latinno(
            "refresh",
            "--config",
            str(config),
            "--db",
            str(db),
            "--base-url",
            "http://127.0.0.1:9",
            env=env,
            timeout=240,
        )
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(db) in lines[0] and f"PID {holder.pid}" in lines[0]
    assert "lock_timeout_s" in lines[0]


def test_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    result = latinno("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"latinno {version('latinno-pipeline')}\n"
    assert latinno("--help").stdout.count("--version") == 1
