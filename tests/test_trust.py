"""No run reports success while it is wrong (issue 9, parts 1, 5 and 6), tried as a user would:
`latinno refresh` as a process against our site server, or against nothing at all.

Every run here must also be quiet: no traceback and no ERROR line on any output.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml
from _flow_support import quiet_cli_env, without_progress

from latinno.sitemodel.server import run_server_in_thread
from warehouse.db import connect

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"
NOISE = re.compile(r"Traceback|\bERROR\b|Exception|[Tt]elemetry")


def refresh(tmp_path: Path, db: Path, base_url: str, **http: object) -> subprocess.CompletedProcess:
    config = tmp_path / "c.yaml"
    settings = {"http": {"max_retries": 1, "backoff_base_s": 0.05, "backoff_max_s": 0.1, **http}}
    config.write_text(yaml.safe_dump(settings))
    command = ["refresh", "--config", str(config), "--db", str(db), "--rate", "0"]
    proc = subprocess.run(
        [sys.executable, "-m", "latinno.cli", *command, "--base-url", base_url],
        capture_output=True,
        text=True,
        env=quiet_cli_env(tmp_path),
        timeout=300,
    )
    assert not NOISE.search(proc.stderr), proc.stderr
    assert not NOISE.search(proc.stdout), proc.stdout
    proc.stderr = without_progress(proc.stderr)
    return proc


def table_counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in ("cases", "pages", "case_history", "fetch_failures", "parse_issues")
        }


def runs(db: Path) -> list[tuple[str, str | None]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT status, reason FROM runs ORDER BY started_at").fetchall()


def test_a_site_where_nothing_listens_fails_the_run_and_changes_nothing(tmp_path: Path) -> None:
    with socket.socket() as sock:  # bound, never listening: connection refused
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        db = tmp_path / "w.duckdb"
        connect(db).close()  # an existing warehouse records the failed run (a new one is not made)
        proc = refresh(tmp_path, db, base)
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert f"cannot reach {base}: connection refused" in line, line
    assert "disallowed by robots.txt" not in proc.stderr + proc.stdout
    assert table_counts(db) == dict.fromkeys(table_counts(db), 0)
    ((status, reason),) = runs(db)
    assert status == "failed" and "connection refused" in (reason or "")


def test_a_broken_robots_txt_fails_the_run_saying_so_first(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with run_server_in_thread(FIXTURES, sitemap=True, plan={"/robots.txt": ["503:0"] * 4}) as site:
        proc = refresh(tmp_path, db, site.base_url)
        requested = site.stats()["paths"]
    assert proc.returncode == 2, proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert "robots.txt unavailable (503)" in first and "not requested" in first, first
    assert set(requested) == {"/robots.txt"}  # RFC 9309: nothing else is asked for
    ((status, reason),) = runs(db)
    assert status == "failed" and "robots.txt unavailable (503)" in (reason or "")


def test_a_run_where_most_pages_fail_exits_two_saying_so_first(tmp_path: Path) -> None:
    expected = sorted((FIXTURES / "en" / "case").iterdir())
    broken = {f"/en/case/{p.name}/": ["500"] * 3 for p in expected[: len(expected) * 2 // 3]}
    db = tmp_path / "w.duckdb"
    with run_server_in_thread(FIXTURES, sitemap=True, plan=broken) as site:
        proc = refresh(tmp_path, db, site.base_url)
    assert proc.returncode == 2, proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert f"most pages failed, {len(broken)} of {len(expected)}" in first, first
    assert "http.max_failure_share" in first
    assert table_counts(db)["cases"] == len(expected) - len(broken)  # the rest were loaded
    ((status, _),) = runs(db)
    assert status == "failed"


def test_a_first_and_a_no_change_run_are_quiet_and_complete(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with run_server_in_thread(FIXTURES, sitemap=True) as site:
        first = refresh(tmp_path, db, site.base_url)
        again = refresh(tmp_path, db, site.base_url)
    assert first.returncode == 0 and again.returncode == 0, (first.stderr, again.stderr)
    assert [status for status, _ in runs(db)] == ["completed", "completed"]
    with duckdb.connect(str(db), read_only=True) as con:
        counts = con.execute("SELECT * FROM runs").fetchall()
    assert all(v is not None for row in counts for v in row[4:14])  # counts: 0, never NULL
    with duckdb.connect(str(db), read_only=True) as con:
        times = con.execute("SELECT load_s, fetch_s, duration_s FROM runs").fetchall()
    assert all(load <= total and fetch <= total for load, fetch, total in times), times


def test_every_count_equals_what_the_site_server_saw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A probing run with injected faults, then a run of 304s: the summary's requests by
    status, its 404s, its 304s and its 200s are the server's own counts."""
    from _flow_support import run_refresh

    from latinno.sitemodel.generate import generate_site

    root = tmp_path / "site"
    generate_site(root, total=120, seed=5)
    db = tmp_path / "w.duckdb"
    overrides = {
        "source": {"discovery": "probe", "country_prefixes": [1, 2, 3]},
        "http": {"max_retries": 8, "backoff_base_s": 0.01, "backoff_max_s": 0.05},
    }
    with run_server_in_thread(root, faults=0.15, seed=11, slow_s=0.05) as site:
        for week in (0, 5):
            # Five weeks on, every page is due again (flows.revisit): a run of revalidations.
            when = datetime(2026, 1, 5, 3, tzinfo=UTC) + timedelta(weeks=week)
            monkeypatch.setenv("LATINNO_NOW", when.isoformat())
            site.reset_stats()
            summary = run_refresh(base_url=site.base_url, db=str(db), overrides=overrides)
            assert summary["run_id"].startswith(f"{when:%Y%m%dT%H%M%SZ}-")  # by the run clock
            seen = site.stats()
            counts = summary["counts"]
            served = {int(k): v for k, v in seen["statuses"].items()}
            mine = {int(k[5:]): v for k, v in counts.items() if k.startswith("http_")}
            assert mine == served, (mine, served)
            assert counts["requests"] == seen["total_requests"]
            # Resets, and bodies cut short (the server counts no status for those either).
            cut = seen["faults"].get("reset", 0) + seen["faults"].get("truncate", 0)
            assert counts["no_answer"] == cut
            assert counts.get("gone", 0) == served.get(404, 0)
            assert counts.get("not_modified", 0) == served.get(304, 0)
            robots = seen["paths"]["/robots.txt"]
            assert counts.get("fetched", 0) == served.get(200, 0) - robots
            assert counts.get("failed", 0) == 0, summary["failed_urls"]
    with duckdb.connect(str(db), read_only=True) as con:
        (fetched, not_modified, failed) = con.execute(
            "SELECT fetched, not_modified, failed FROM runs ORDER BY started_at DESC LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    assert (fetched, not_modified, failed) == (
        counts.get("fetched", 0),
        counts.get("not_modified", 0),
        0,
    )
    assert not_modified > 0  # the second run was one of revalidations
