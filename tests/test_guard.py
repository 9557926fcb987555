"""The site-drift guard (issue 9, part 4): when the site changes under us, a refresh must not
fill the warehouse with empty values.

A first refresh of the bundled site; then the site server serves a redesigned variant (the class
marking an applying option renamed): the next refresh is held (exit 3, one line naming what was
lost), the exports are byte for byte what they were, `latinno reparse` of the archived pages is
held the same way, and `--accept-drift` applies it.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import duckdb
import pytest
from _flow_support import run_cli, run_refresh

from latinno.sitemodel.server import run_server_in_thread

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"


def latinno(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, *args, timeout=300)


def exported(tmp_path: Path, db: Path, name: str) -> dict[str, str]:
    """The Parquet and CSV exports of the warehouse, by file, as hashes."""
    out = tmp_path / name
    proc = latinno(tmp_path, "export", "--db", str(db), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_a_redesigned_site_is_held_and_applied_only_when_accepted(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    refresh = ["refresh", "--db", str(db), "--rate", "0", "--concurrency", "4"]
    with run_server_in_thread(FIXTURES, sitemap=True) as site:  # the first run, in this process
        first = run_refresh(base_url=site.base_url, db=str(db))
    assert first["counts"].get("failed", 0) == 0 and first["counts"]["new"] > 0, first["counts"]
    before = exported(tmp_path, db, "before")
    with duckdb.connect(str(db), read_only=True) as con:
        had_means = con.execute("SELECT count(DISTINCT case_id) FROM case_means").fetchone()[0]
    assert had_means > 0

    with run_server_in_thread(FIXTURES, sitemap=True, redesign="marker") as site:
        held = latinno(tmp_path, *refresh, "--base-url", site.base_url)
        assert held.returncode == 3, held.stderr
        (line,) = held.stderr.strip().splitlines()
        assert line.startswith("latinno: error: held: ") and "nothing applied" in line, line
        assert f"means lost on {had_means} of {had_means} cases (100.0%)" in line, line
        assert "--accept-drift" in line
        assert exported(tmp_path, db, "after-held") == before

        reparsed = latinno(tmp_path, "reparse", "--db", str(db))  # the archived redesign
        assert reparsed.returncode == 3 and "means lost on" in reparsed.stderr, reparsed.stderr
        assert exported(tmp_path, db, "after-reparse") == before

        # The held run's pages are re-read, not taken as known: accepting applies them.
        accepted = latinno(tmp_path, *refresh, "--base-url", site.base_url, "--accept-drift")
    assert accepted.returncode == 0, accepted.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM case_means").fetchone() == (0,)
        statuses = con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()
    assert [s for (s,) in statuses] == ["completed", "held", "held", "completed"]
