"""The refresh flow end to end: real Prefect, real loopback HTTP to our site server, a DuckDB file.

Slow (Prefect's temporary API server starts once per session, ~10 s); CI runs it all the same.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _flow_support import copy_refreshed, expected_records, run_refresh, stored_case

from latinno.sitemodel.server import run_server_in_thread
from warehouse.content import HASHED_FIELDS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"
CONFIG = str(REPO / "config.yaml")


CASE_FIELDS = HASHED_FIELDS  # the case-level content of a record


@pytest.fixture(scope="module")
def loaded(
    refreshed_site: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """First refresh of the fixture site, all three languages, discovered by its sitemap: the
    session's one (conftest.py), copied, so that tests here may change and delete pages.

    (The fixture ids are real-looking and sparse, gaps wider than max_consecutive_misses; id
    probing is tested on the generated site, whose gaps are realistic.)
    """
    return copy_refreshed(refreshed_site, tmp_path_factory.mktemp("loaded"))


def test_first_refresh_loads_every_fixture_case_as_expected(loaded: dict[str, Any]) -> None:
    # Every case, whatever its languages; its row from the first of en, es, pt that has it.
    expected = {
        **expected_records(loaded["site"], "pt"),
        **expected_records(loaded["site"], "es"),
        **expected_records(loaded["site"], "en"),
    }
    assert len(expected) > len(expected_records(loaded["site"], "en"))  # es/pt-only cases
    summary = loaded["summary"]
    assert summary["counts"].get("failed", 0) == 0, summary["failed_urls"]
    assert summary["counts"]["new"] == len(expected)
    with duckdb.connect(str(loaded["db"]), read_only=True) as con:
        ids = {r[0] for r in con.execute("SELECT case_id FROM cases").fetchall()}
        assert ids == set(expected)
        for case_id, record in expected.items():
            want = {name: record[name] for name in CASE_FIELDS}
            assert stored_case(con, case_id) == want, f"case {case_id}"
            issues = sorted(
                con.execute(
                    "SELECT field, raw FROM parse_issues WHERE case_id = ? AND lang = ?",
                    [case_id, record["lang"]],
                ).fetchall(),
                key=str,
            )
            assert issues == sorted(((i["field"], i["raw"]) for i in record["issues"]), key=str)


def test_first_refresh_loads_translations(loaded: dict[str, Any]) -> None:
    with duckdb.connect(str(loaded["db"]), read_only=True) as con:
        for lang in ("es", "pt"):
            expected = expected_records(loaded["site"], lang)
            assert expected, f"no {lang} fixtures"
            for case_id, record in expected.items():
                row = con.execute(
                    "SELECT title, description FROM case_texts WHERE case_id = ? AND lang = ?",
                    [case_id, lang],
                ).fetchone()
                assert row == (record["title"], record["description"]), (case_id, lang)


def test_second_refresh_is_all_not_modified(loaded: dict[str, Any]) -> None:
    db = loaded["db"]
    with duckdb.connect(str(db), read_only=True) as con:
        history_before = con.execute("SELECT count(*) FROM case_history").fetchone()
        pages = con.execute("SELECT count(*) FROM case_texts").fetchone()[0]
    # Without <lastmod> every known page is revalidated with a conditional GET.
    with run_server_in_thread(loaded["site"], sitemap=True, sitemap_lastmod=False) as server:
        summary = run_refresh(base_url=server.base_url, db=str(db), languages=["en", "es", "pt"])
    counts = summary["counts"]
    assert counts["not_modified"] == pages
    assert counts.get("fetched", 0) == 0
    assert counts.get("parsed", 0) == 0
    assert counts.get("new", 0) == counts.get("changed", 0) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM case_history").fetchone() == history_before


def test_changed_and_removed_pages(loaded: dict[str, Any]) -> None:
    db, site = loaded["db"], loaded["site"]
    expected = expected_records(site, "en")
    changed_id, removed_id = sorted(expected)[0], sorted(expected)[1]
    page = site / "en" / "case" / str(changed_id) / "index.html"
    old_title = expected[changed_id]["title"]
    page.write_bytes(page.read_bytes().replace(old_title.encode(), b"A Renamed Council", 2))
    shutil.rmtree(site / "en" / "case" / str(removed_id))

    with run_server_in_thread(site, sitemap=True) as server:
        summary = run_refresh(base_url=server.base_url, db=str(db))
    counts = summary["counts"]
    assert counts["changed"] == 1
    assert counts["withdrawn"] == 1
    # The sitemap dates every other page no later than our copy: none of them was requested.
    assert counts["sitemap_unchanged"] == len(expected) - 2
    assert counts.get("not_modified", 0) == 0
    assert counts.get("new", 0) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "SELECT title FROM cases WHERE case_id = ?", [changed_id]
        ).fetchone() == ("A Renamed Council",)
        versions = con.execute(
            "SELECT change FROM case_history WHERE case_id = ? ORDER BY version", [changed_id]
        ).fetchall()
        assert versions == [("new",), ("changed",)]
        changes = con.execute(
            "SELECT field FROM case_changes WHERE case_id = ?", [changed_id]
        ).fetchall()
        assert ("title",) in changes
        assert con.execute(
            "SELECT status FROM cases WHERE case_id = ?", [removed_id]
        ).fetchone() == ("withdrawn",)


def test_faults_still_load_every_case_once(tmp_path: Path) -> None:
    expected = expected_records(FIXTURES, "en")
    db = tmp_path / "faults.duckdb"
    with run_server_in_thread(FIXTURES, faults=0.2, seed=7, sitemap=True) as server:
        summary = run_refresh(base_url=server.base_url, db=str(db), concurrency=4)
        stats = server.stats()
    assert sum(stats["faults"].values()) > 0, stats
    counts = summary["counts"]
    assert counts.get("failed", 0) == 0, summary["failed_urls"]
    assert counts["new"] == len(expected)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT case_id) FROM cases").fetchone() == (
            len(expected),
            len(expected),
        )
        run = con.execute("SELECT fetched, new, failed FROM runs").fetchone()
        durations = con.execute("SELECT duration_s, fetch_s, parse_s, load_s FROM runs").fetchone()
    assert run == (counts["fetched"], counts["new"], 0)
    assert all(d > 0 for d in durations), durations
    assert durations[1] < durations[0]


def test_politeness_and_robots_measured_at_the_server(tmp_path: Path) -> None:
    expected = expected_records(FIXTURES, "en")
    blocked = sorted(expected)[3]
    robots = f"User-agent: *\nDisallow: /en/case/{blocked}/\n"
    db = tmp_path / "polite.duckdb"
    with run_server_in_thread(FIXTURES, sitemap=True, robots=robots) as server:
        summary = run_refresh(
            base_url=server.base_url, db=str(db), rate=20.0, concurrency=2, limit=25
        )
        stats = server.stats()
    assert stats["max_in_flight"] <= 2
    assert stats["max_per_second"] <= 20 + 1
    assert not any(str(blocked) in path for path in stats["paths"]), stats["paths"]
    assert summary["counts"]["new"] == 24
    assert summary["counts"]["robots_disallowed"] == 1
    assert summary["counts"].get("failed", 0) == 0


def test_probing_discovers_a_generated_site(tmp_path: Path) -> None:
    """No sitemap: ids are probed per prefix until max_consecutive_misses 404s in a row."""
    from latinno.sitemodel.generate import generate_site

    root = tmp_path / "site"
    generate_site(root, total=300, seed=3)
    expected = expected_records(root, "en")
    db = tmp_path / "probe.duckdb"
    with run_server_in_thread(root) as server:
        summary = run_refresh(base_url=server.base_url, db=str(db))
        stats = server.stats()
    assert summary["counts"]["new"] == len(expected)
    assert summary["counts"].get("failed", 0) == 0
    assert "/sitemap.xml" in stats["paths"]  # asked for, answered 404, then probed
    with duckdb.connect(str(db), read_only=True) as con:
        for case_id in sorted(expected)[::7]:
            want = {name: expected[case_id][name] for name in CASE_FIELDS}
            assert stored_case(con, case_id) == want, f"case {case_id}"


def test_reparse_rebuilds_from_the_archive_without_network(loaded: dict[str, Any]) -> None:
    """No server is running: every row comes back from the archived bodies, unchanged."""
    from flows.reparse import reparse_archive
    from latinno.config import load_settings, override

    db = loaded["db"]
    settings = override(
        load_settings(Path(CONFIG), env={}), {"warehouse": {"path": str(db)}}, "test"
    )
    with duckdb.connect(str(db), read_only=True) as con:
        pages = con.execute(
            "SELECT count(*) FROM case_texts JOIN cases USING (case_id) WHERE status = 'active'"
        ).fetchone()[0]
        history = con.execute("SELECT count(*) FROM case_history").fetchone()
        statuses = con.execute("SELECT case_id, status FROM cases ORDER BY 1").fetchall()
    counts, failures = reparse_archive(settings)
    assert failures == []
    assert counts.pages == pages
    assert counts.parsed == pages
    assert counts.parse_failed == 0
    assert counts.new == counts.changed == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM case_history").fetchone() == history
        assert con.execute("SELECT case_id, status FROM cases ORDER BY 1").fetchall() == statuses


def test_pages_failing_after_retries_exit_two_and_are_stored(
    tmp_path: Path, prefect_api: str
) -> None:
    """The CLI's contract: exit 2, the failed page listed and kept in fetch_failures."""
    import subprocess
    import sys

    import yaml

    expected = expected_records(FIXTURES, "en")
    broken = sorted(expected)[2]
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"http": {"max_retries": 2, "backoff_base_s": 0.01, "backoff_max_s": 0.05}})
    )
    db = tmp_path / "fail.duckdb"
    plan = {f"/en/case/{broken}/": ["500"] * 10}
    with run_server_in_thread(FIXTURES, sitemap=True, plan=plan) as server:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "latinno.cli",
                "refresh",
                "--config",
                str(config),
                "--base-url",
                server.base_url,
                "--db",
                str(db),
                "--rate",
                "0",
                "--limit",
                "5",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=240,
        )
    assert proc.returncode == 2, proc.stderr
    assert f"/en/case/{broken}/" in proc.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT case_id, status, attempts, resolved_run_id FROM fetch_failures"
        ).fetchall()
        loaded_ids = {r[0] for r in con.execute("SELECT case_id FROM cases").fetchall()}
    assert rows == [(broken, 500, 3, None)]
    assert loaded_ids == set(sorted(expected)[:5]) - {broken}
