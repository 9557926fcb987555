"""One bad page never stops a refresh (issue 13, part 1), tried the way a user meets it.

`latinno refresh` (a real process, a real Prefect flow) against our
site server serving the bundled site plus hostile pages in the same batch: a maintenance page,
an empty body, binary bytes, deep nesting, one invalid UTF-8 byte, a gzip bomb and a slow drip.
Every good case loads, the command exits 2, and each bad page is stored with its reason.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from _flow_support import expected_records, quiet_cli_env, run_refresh

from latinno.sitemodel.hostile import hostile_body
from latinno.sitemodel.server import HOSTILE_PAGES, run_server_in_thread

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"
BOMB_BYTES = 64 << 20  # what the double gzip expands to

# What each hostile page must be recorded as (a part of its stored reason).
REASONS = {
    "maintenance": "not a case page",
    "empty": "empty",
    "binary": "not a case page",
    "deep_nesting": "nested too deep",
    "double_gzip": "exceeds max_body_bytes",
    "slow_drip": "max_request_s",
}


def test_bad_pages_are_recorded_and_every_good_case_loads(tmp_path: Path) -> None:
    db = tmp_path / "hostile.duckdb"
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "http": {
                    "max_request_s": 1,
                    "max_retries": 1,
                    "backoff_base_s": 0.05,
                    "backoff_max_s": 0.1,
                },
                "runner": {"batch_size": 400},
            }
        )
    )
    env = quiet_cli_env(tmp_path)
    # The server builds the bomb on its first request (about 1 s on a busy machine), which the
    # client's 1 s max_request_s would count: built here first (it is kept), the double gzip is
    # refused for its size, never for the time the server took to make it.
    hostile_body("double_gzip", BOMB_BYTES)
    with run_server_in_thread(
        FIXTURES, sitemap=True, hostile=True, drip_s=0.5, bomb_bytes=BOMB_BYTES
    ) as server:
        command = ["refresh", "--config", str(config), "--db", str(db), "--rate", "0"]
        proc = subprocess.run(
            [sys.executable, "-m", "latinno.cli", *command, "--base-url", server.base_url],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr

    expected = expected_records(FIXTURES, "en")
    hostile_ids = {page.case_id: name for name, page in HOSTILE_PAGES.items()}
    with duckdb.connect(str(db), read_only=True) as con:
        loaded = {r[0] for r in con.execute("SELECT case_id FROM cases").fetchall()}
        failures = dict(
            con.execute(
                "SELECT case_id, reason FROM fetch_failures WHERE resolved_run_id IS NULL"
            ).fetchall()
        )
        utf8_issues = con.execute(
            "SELECT raw FROM parse_issues WHERE case_id = ?",
            [HOSTILE_PAGES["invalid_utf8"].case_id],
        ).fetchall()
        (failed,) = con.execute("SELECT failed FROM runs").fetchone()  # type: ignore[misc]

    assert set(expected) <= loaded  # every good case, in the same batch as the bad pages
    assert HOSTILE_PAGES["invalid_utf8"].case_id in loaded  # a case with one bad byte still is
    assert utf8_issues, "the invalid byte must leave a parse issue"
    assert {hostile_ids[cid] for cid in failures} == set(REASONS)
    for case_id, reason in failures.items():
        assert REASONS[hostile_ids[case_id]] in reason, (hostile_ids[case_id], reason)
    assert failed == len(REASONS)
    for name in REASONS:
        assert f"/en/case/{HOSTILE_PAGES[name].case_id}/" in proc.stderr  # listed to the user


def test_a_probed_page_that_was_not_a_case_is_closed_once_it_is_gone(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for case_id in (1001, 1002, 1003):  # a real case page of prefix 1 at each of these ids
        folder = site / "en" / "case" / str(case_id)
        folder.mkdir(parents=True)
        page = (FIXTURES / "en" / "case" / "1003" / "index.html").read_bytes()
        (folder / "index.html").write_bytes(page)
    odd = site / "en" / "case" / "1004"
    odd.mkdir(parents=True)
    (odd / "index.html").write_text("<h1>Maintenance</h1>", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    source = {"discovery": "probe", "country_prefixes": [1], "max_consecutive_misses": 3}

    def open_failures() -> list[int]:
        with duckdb.connect(str(db), read_only=True) as con:
            sql = "SELECT case_id FROM fetch_failures WHERE resolved_run_id IS NULL"
            return sorted(r[0] for r in con.execute(sql).fetchall())

    with run_server_in_thread(site) as server:
        first = run_refresh(base_url=server.base_url, db=str(db), overrides={"source": source})
        assert first["counts"]["failed"] == 1 and open_failures() == [1004]
        (odd / "index.html").unlink()  # the site fixed it: that id answers 404 now
        second = run_refresh(base_url=server.base_url, db=str(db), overrides={"source": source})
    assert second["counts"].get("failed", 0) == 0
    assert open_failures() == []
