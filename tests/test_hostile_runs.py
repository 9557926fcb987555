"""Hostile sites, round two (issue 24): runs that would end with a wrong warehouse and exit 0.

Real `latinno refresh` processes or real refresh flows against our site server over loopback,
real DuckDB files: a site answering 404 everywhere is held, not emptied; a page that never
parses stays an open failure; a redirect from one case id to another case's page is a merge,
never a second copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from _flow_support import quiet_cli_env, without_progress

from latinno.sitemodel.server import run_server_in_thread

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"


def small_site(root: Path, count: int = 20) -> list[int]:
    """The first ``count`` English fixture cases, copied so a test may delete or edit them."""
    ids = sorted(int(p.name) for p in (FIXTURES / "en" / "case").iterdir() if p.name.isdigit())
    for case_id in ids[:count]:
        folder = Path("en") / "case" / str(case_id)
        shutil.copytree(FIXTURES / folder, root / folder)
    return ids[:count]


def latinno(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "latinno.cli", *args],
        capture_output=True,
        text=True,
        env=quiet_cli_env(tmp_path),
        timeout=300,
    )
    proc.stderr = without_progress(proc.stderr)
    return proc


def statuses(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("SELECT status, count(*) FROM cases GROUP BY 1").fetchall())


def test_a_site_answering_404_everywhere_is_held_not_withdrawn(tmp_path: Path) -> None:
    site = tmp_path / "site"
    ids = small_site(site)
    db = tmp_path / "w.duckdb"
    refresh = ["refresh", "--db", str(db), "--rate", "0", "--concurrency", "4"]
    with run_server_in_thread(site, sitemap=True) as server:
        first = latinno(tmp_path, *refresh, "--base-url", server.base_url)
        assert first.returncode == 0, first.stderr
        assert statuses(db) == {"active": len(ids)}
        # One case really goes: that is the site's normal life, applied as always.
        shutil.rmtree(site / "en" / "case" / str(ids[0]))
        one = latinno(tmp_path, *refresh, "--base-url", server.base_url)
        assert one.returncode == 0, one.stderr
        assert statuses(db) == {"active": len(ids) - 1, "withdrawn": 1}
        # Then every case page answers 404 (maintenance, a routing bug).
        shutil.rmtree(site / "en")
        held = latinno(tmp_path, *refresh, "--base-url", server.base_url)
        assert held.returncode == 3, held.stderr
        (line,) = held.stderr.strip().splitlines()
        known = len(ids) - 1
        assert f"held: {known} of {known} known cases would be withdrawn (100.0%)" in line, line
        assert "nothing applied" in line and "--accept-drift" in line, line
        assert statuses(db) == {"active": known, "withdrawn": 1}

        accepted = latinno(tmp_path, *refresh, "--base-url", server.base_url, "--accept-drift")
    assert accepted.returncode == 0, accepted.stderr
    assert statuses(db) == {"withdrawn": len(ids)}
    with duckdb.connect(str(db), read_only=True) as con:
        runs = [s for (s,) in con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()]
    assert runs == ["completed", "completed", "held", "completed"]
