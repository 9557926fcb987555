"""A sitemap ``<lastmod>`` that differs from our copy's, in either direction, means fetch
(issue 21, item 5): a site restored from a backup dates its pages back, and those pages must
not be skipped until ``--full``."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import duckdb
import pytest

from flows.fetch_types import Validators
from flows.sitemap import unchanged_per_sitemap
from latinno.pages import PageKey

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"
KEY = PageKey(1003, "en")
OURS = datetime(2026, 3, 2, 14, 30, 5, tzinfo=UTC)


def _unchanged(lastmod: datetime) -> bool:
    stored = {(1003, "en"): Validators('"abc"', format_datetime(OURS, usegmt=True))}
    return unchanged_per_sitemap(KEY, {KEY: lastmod}, stored)


def test_only_the_very_same_second_skips_the_page() -> None:
    assert _unchanged(OURS)
    assert _unchanged(OURS.replace(microsecond=400_000))  # Last-Modified has whole seconds
    assert not _unchanged(OURS + timedelta(seconds=1))  # edited after our copy
    assert not _unchanged(OURS - timedelta(seconds=1))  # restored from an older backup
    assert not _unchanged(OURS - timedelta(days=30))
    # A bare date vouches for nothing: the page may have changed later that day.
    assert not _unchanged(datetime(2026, 3, 2, tzinfo=UTC))
    assert not _unchanged(datetime(2026, 3, 1, tzinfo=UTC))


def test_without_a_stored_last_modified_the_page_is_asked_for() -> None:
    stored = {(1003, "en"): Validators('"abc"', None)}
    assert not unchanged_per_sitemap(KEY, {KEY: OURS}, stored)
    assert not unchanged_per_sitemap(KEY, {KEY: OURS}, {})


@pytest.mark.slow
def test_a_page_restored_from_a_backup_is_fetched_and_its_change_recorded(tmp_path: Path) -> None:
    from _flow_support import expected_records, run_refresh

    from latinno.sitemodel.server import run_server_in_thread

    site = tmp_path / "site"
    shutil.copytree(FIXTURES, site, ignore=shutil.ignore_patterns("_edge"))
    db = tmp_path / "w.duckdb"
    case_id = sorted(expected_records(site, "en"))[0]
    page = site / "en" / "case" / str(case_id) / "index.html"
    backup, backup_stat = page.read_bytes(), page.stat()
    old_title = expected_records(site, "en")[case_id]["title"]
    with run_server_in_thread(site, sitemap=True) as server:
        run_refresh(base_url=server.base_url, db=str(db))
        # An edit, seen by the next run (its lastmod is later than our copy's).
        page.write_bytes(backup.replace(old_title.encode(), b"An Edited Council", 2))
        later = backup_stat.st_mtime + 3600
        os.utime(page, (later, later))
        edited = run_refresh(base_url=server.base_url, db=str(db))
        # The site is restored from a backup: the old bytes, dated back to their old time.
        page.write_bytes(backup)
        os.utime(page, (backup_stat.st_atime, backup_stat.st_mtime))
        restored = run_refresh(base_url=server.base_url, db=str(db))
    assert edited["counts"].get("changed", 0) == 1
    assert restored["counts"].get("changed", 0) == 1, restored["counts"]
    with duckdb.connect(str(db), read_only=True) as con:
        title = con.execute("SELECT title FROM cases WHERE case_id = ?", [case_id]).fetchone()
        versions = con.execute(
            "SELECT count(*) FROM case_history WHERE case_id = ?", [case_id]
        ).fetchone()
    assert title == (old_title,)
    assert versions == (3,)
