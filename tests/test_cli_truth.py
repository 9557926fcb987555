"""The CLI does what its help says (issue 21, item 18): ``-v`` after the command, ``serve
--db``, ``refresh --help`` naming exit 3, and a demo that is a plain refresh but for the URL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from latinno.cli import verbose_first

REPO = Path(__file__).resolve().parent.parent


def latinno(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latinno.cli", *args],
        capture_output=True, text=True, cwd=cwd, timeout=timeout,
    )  # fmt: skip


def test_verbose_moves_before_the_command() -> None:
    assert verbose_first(["refresh", "-v", "--limit", "3"]) == ["-v", "refresh", "--limit", "3"]
    assert verbose_first(["-v", "status"]) == ["-v", "status"]
    assert verbose_first(["query", "SELECT 1", "--verbose"]) == ["--verbose", "query", "SELECT 1"]
    assert verbose_first(["parse", "--", "-v"]) == ["parse", "--", "-v"]  # a file named -v


def test_v_after_the_command_shows_detail(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.duckdb")
    quiet = latinno(tmp_path, "status", "--db", missing)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    for args in (["-v", "status", "--db", missing], ["status", "--db", missing, "-v"]):
        loud = latinno(tmp_path, *args)
        assert loud.returncode == 1, loud.stderr  # not 2: "-v" is understood
        assert "Traceback" in loud.stderr and "no warehouse at this path" in loud.stderr


def test_refresh_help_names_every_exit_code(tmp_path: Path) -> None:
    done = latinno(tmp_path, "refresh", "--help")
    text = " ".join(done.stdout.replace("│", " ").split())
    for code in ("0 every page", "2 some pages", "3 the site-drift guard", "1 a fatal error"):
        assert code in text, code


def test_serve_takes_db(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.duckdb"
    damaged.write_bytes(b"not a DuckDB file at all" * 100)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"warehouse": {"path": "other.duckdb"}}), encoding="utf-8")
    # serve checks the warehouse it was given before Prefect starts: --db is the one used.
    done = latinno(tmp_path, "serve", "--config", str(config), "--db", str(damaged))
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert str(damaged) in line, line


@pytest.mark.slow
def test_the_demo_is_a_plain_refresh_but_for_the_base_url(tmp_path: Path) -> None:
    from flows.outcome import run_params
    from latinno.config import load_settings, override

    settings = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    settings["politeness"].update(rate=0, concurrency=4)  # loopback only
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    done = latinno(tmp_path, "demo", "--config", str(config), "--db", "demo.duckdb", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    with duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True) as con:
        ((recorded,),) = con.execute("SELECT params FROM runs").fetchall()
    params = json.loads(recorded)
    assert params["base_url"].startswith("http://127.0.0.1:")
    plain = override(
        load_settings(config, env={}), {"source": {"base_url": params["base_url"]}}, ""
    )
    assert params == json.loads(json.dumps(run_params(plain, None, False, False)))
    # What the help says it also writes, where the config says.
    assert (tmp_path / "reports" / "latinno-report.html").is_file()
    assert [p.name for p in (tmp_path / "releases").iterdir() if not p.name.startswith(".")]
