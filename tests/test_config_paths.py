"""Settings do not depend on the working directory (issue 21, item 8).

Relative paths in a config file are relative to that file; every command says which config it
used; without a config.yaml a refresh refuses to crawl the real site on built-in defaults; and
a run that fails with nothing loaded leaves no warehouse behind.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _warehouse_support import day, make_record

from latinno.config import load_settings
from warehouse.db import writing
from warehouse.load import load_records


def latinno(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latinno.cli", *args],
        capture_output=True, text=True, cwd=cwd, timeout=120,
    )  # fmt: skip


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project folder with its config.yaml and a warehouse where that file says."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "config.yaml").write_text(
        yaml.safe_dump({"warehouse": {"path": "db/mine.duckdb"}, "export": {"dir": "out"}}),
        encoding="utf-8",
    )
    (folder / "db").mkdir()
    with writing(folder / "db" / "mine.duckdb") as con:
        load_records(con, [make_record(17001)], run_id="r1", seen_at=day(0), primary_lang="en")
    return folder


def test_relative_paths_resolve_against_the_config_file(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(project / "config.yaml", env={})
    assert settings.warehouse.path == project / "db" / "mine.duckdb"
    assert settings.export.dir == project / "out"
    # What the file leaves to the defaults is relative to it too.
    assert settings.release.dir == project / "releases"
    assert settings.report.path == project / "reports" / "latinno-report.html"
    # The environment and absolute paths are taken as they are.
    env = load_settings(project / "config.yaml", env={"LATINNO_DB": "env.duckdb"})
    assert env.warehouse.path == Path("env.duckdb")
    absolute = tmp_path / "abs.yaml"
    absolute.write_text(yaml.safe_dump({"warehouse": {"path": "/srv/w.duckdb"}}), "utf-8")
    assert load_settings(absolute, env={}).warehouse.path == Path("/srv/w.duckdb")


def test_commands_from_another_folder_use_the_config_files_warehouse_and_say_so(
    project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = str(project / "config.yaml")
    status = latinno(elsewhere, "status", "--config", config)
    assert status.returncode == 0, status.stderr
    assert f"Config: {config}" in status.stdout
    assert f"Warehouse: {project / 'db' / 'mine.duckdb'}" in status.stdout
    export = latinno(elsewhere, "export", "--config", config, "--format", "csv")
    assert export.returncode == 0, export.stderr
    assert export.stdout.splitlines() == [
        f"wrote 12 files to {project / 'out'}",
        f"config: {config}",
    ]
    assert (project / "out" / "cases_wide.csv").is_file()
    assert list(elsewhere.iterdir()) == []  # nothing made where the command ran
    # Run where config.yaml is, the same file is named (in full).
    here = latinno(project, "status")
    assert here.returncode == 0 and f"Config: {config}" in here.stdout


def test_without_a_config_a_command_says_it_used_the_defaults(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with writing(db) as con:
        load_records(con, [make_record(17001)], run_id="r1", seen_at=day(0), primary_lang="en")
    status = latinno(tmp_path, "status", "--db", str(db))
    assert status.returncode == 0, status.stderr
    assert f"Config: none: no config.yaml in {tmp_path} and no --config; built-in defaults" in (
        status.stdout
    )


def test_refresh_without_a_config_refuses_to_crawl_the_real_site(tmp_path: Path) -> None:
    done = latinno(tmp_path, "refresh")
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"latinno: error: no config.yaml in {tmp_path} and no --config")
    assert "https://latinno.net" in line and "--base-url" in line
    assert list(tmp_path.iterdir()) == []  # no data/ folder, no warehouse
    serve = latinno(tmp_path, "serve")
    assert serve.returncode == 1 and "no config.yaml in" in serve.stderr


@pytest.mark.slow  # a flow run: it reports to the session's Prefect server
@pytest.mark.process
def test_a_failed_first_run_creates_no_warehouse(tmp_path: Path, prefect_api: str) -> None:
    with socket.socket() as sock:  # bound, never listening: connection refused
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        done = latinno(tmp_path, "refresh", "--base-url", base, "--db", "data/new.duckdb")
    assert done.returncode == 1
    assert "cannot reach" in done.stderr and "the warehouse is unchanged" in done.stderr
    assert list(tmp_path.iterdir()) == []  # as it said: no data/new.duckdb, no data/


@pytest.mark.process
def test_a_prefect_api_that_does_not_answer_is_one_line_and_no_warehouse(tmp_path: Path) -> None:
    with socket.socket() as sock:  # bound, never listening: connection refused
        sock.bind(("127.0.0.1", 0))
        api = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
        done = subprocess.run(
            [sys.executable, "-m", "latinno.cli", "refresh", "--base-url", "http://127.0.0.1:9",
             "--db", "data/new.duckdb"],
            capture_output=True, text=True, cwd=tmp_path, timeout=120,
            env={**os.environ, "PREFECT_API_URL": api},
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"latinno: error: cannot reach the Prefect API at {api} (PREFECT_API_URL), so nothing "
        "ran: start that server, or unset PREFECT_API_URL for a temporary one"
    )
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
