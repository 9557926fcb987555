"""Discovery never loses a case it knew (issue 9, part 3).

Real Prefect flows over loopback HTTP to our site server. Probing stops a prefix after
``max_consecutive_misses`` misses, but never below the highest serial the warehouse knows for it;
every known case is rechecked; a case is withdrawn only on its own 404/410; ``--sweep`` probes
every serial up to ``source.max_serial``.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
import yaml
from _flow_support import quiet_cli_env, run_refresh

from latinno.sitemodel.build_fixtures import write_case
from latinno.sitemodel.cases import fixture_cases
from latinno.sitemodel.server import run_server_in_thread

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
# Argentina (prefix 1): serials 1-5, then a gap of 120 ids (6-125), then serial 126.
BEFORE_GAP = [1001, 1002, 1003, 1004, 1005]
PAST_GAP = 1126
SOURCE = {"country_prefixes": [1], "max_consecutive_misses": 50}
# Where probing reaches, every run asking every page: which pages a run leaves for later is
# tests/test_revisit.py's.
EVERY_RUN = {"revisit": {"enabled": False}}


def _site(root: Path, ids: list[int]) -> Path:
    template = next(s for s in fixture_cases() if s.case_id == 1003 and s.lang == "en")
    for n, case_id in enumerate(ids):
        write_case(root, replace(template, case_id=case_id, title=f"Case number {n}"))
    return root


def _statuses(db: Path) -> dict[int, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("SELECT case_id, status FROM cases").fetchall())


def test_probing_rechecks_a_known_case_past_a_wide_gap(tmp_path: Path) -> None:
    site = _site(tmp_path / "site", [*BEFORE_GAP, PAST_GAP])
    db = tmp_path / "w.duckdb"
    with run_server_in_thread(site, sitemap=True) as server:
        first = run_refresh(
            base_url=server.base_url, db=str(db), overrides={"source": SOURCE, **EVERY_RUN}
        )
    assert first["counts"]["new"] == 6
    assert _statuses(db) == {cid: "active" for cid in [*BEFORE_GAP, PAST_GAP]}

    # The same site without a sitemap: probing alone. 1126 lies 121 serials past the last
    # hit before it, more than 50 misses: only the warehouse knowing it keeps probing going.
    with run_server_in_thread(site) as server:
        second = run_refresh(
            base_url=server.base_url, db=str(db), overrides={"source": SOURCE, **EVERY_RUN}
        )
        stats = server.stats()
    counts = second["counts"]
    assert counts.get("withdrawn", 0) == 0
    assert counts.get("failed", 0) == 0
    assert counts["not_modified"] == 6  # every known case revalidated, 1126 included
    assert stats["paths"][f"/en/case/{PAST_GAP}/"] == 1
    assert _statuses(db) == {cid: "active" for cid in [*BEFORE_GAP, PAST_GAP]}
    # Probing went to the known serial 126 and 50 misses past it; no known case lay beyond.
    assert counts["probe_stop_1"] == 126 + 50
    assert counts["probe_known_beyond_1"] == 0 == counts["known_beyond_probe"]
    probed = {p for p in stats["paths"] if p.startswith("/en/case/")}
    assert probed == {f"/en/case/{1000 + s}/" for s in range(1, 177)}

    # A case is withdrawn on its own 404 only: 1003 goes, 1126 and the rest stay.
    (site / "en" / "case" / "1003" / "index.html").unlink()
    with run_server_in_thread(site) as server:
        third = run_refresh(
            base_url=server.base_url, db=str(db), overrides={"source": SOURCE, **EVERY_RUN}
        )
    assert third["counts"]["withdrawn"] == 1
    assert _statuses(db) == {
        **{cid: "active" for cid in [*BEFORE_GAP, PAST_GAP]},
        1003: "withdrawn",
    }


def test_known_case_past_max_serial_is_rechecked_and_counted(tmp_path: Path) -> None:
    site = _site(tmp_path / "site", [*BEFORE_GAP, PAST_GAP])
    db = tmp_path / "w.duckdb"
    with run_server_in_thread(site, sitemap=True) as server:
        run_refresh(base_url=server.base_url, db=str(db), overrides={"source": SOURCE, **EVERY_RUN})
    low = {**SOURCE, "max_serial": 100}
    with run_server_in_thread(site) as server:
        summary = run_refresh(
            base_url=server.base_url, db=str(db), overrides={"source": low, **EVERY_RUN}
        )
        stats = server.stats()
    counts = summary["counts"]
    # Probing never goes past max_serial, but the known case beyond it is asked for anyway.
    assert counts["probe_stop_1"] == 55
    assert counts["probe_known_beyond_1"] == 1 == counts["known_beyond_probe"]
    assert stats["paths"][f"/en/case/{PAST_GAP}/"] == 1
    assert counts.get("withdrawn", 0) == 0 and counts["not_modified"] == 6


def test_sweep_finds_a_case_no_probing_reaches(tmp_path: Path) -> None:
    """`latinno refresh --sweep` as a process: every serial up to max_serial, then the tables."""
    site = _site(tmp_path / "site", [*BEFORE_GAP, PAST_GAP])
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"source": {**SOURCE, "max_serial": 130}}))
    db = tmp_path / "w.duckdb"

    def refresh(*flags: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "latinno.cli", "refresh", "--config", str(config)]
        command += ["--base-url", server.base_url, "--db", str(db), "--rate", "0", *flags]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=quiet_cli_env(tmp_path),
            timeout=300,
        )

    with run_server_in_thread(site) as server:
        # The plain run in this process (a refresh as a process is the swept one's part).
        plain = run_refresh(config_path=str(config), base_url=server.base_url, db=str(db))
        assert plain["counts"].get("failed", 0) == 0, plain["counts"]
        assert set(_statuses(db)) == set(BEFORE_GAP)  # the gap hides 1126 from plain probing
        swept = refresh("--sweep")
        stats = server.stats()
    assert swept.returncode == 0, swept.stderr
    assert _statuses(db) == {cid: "active" for cid in [*BEFORE_GAP, PAST_GAP]}
    assert all(stats["paths"].get(f"/en/case/{1000 + s}/", 0) >= 1 for s in range(1, 131))
    assert "/en/case/1131/" not in stats["paths"]
    # The CLI prints where probing stopped per prefix, and the pages by language.
    table = swept.stdout[swept.stdout.index("Probing") :]
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines()]
    assert ["1", "130", "0"] in rows, swept.stdout
    by_language = swept.stdout[swept.stdout.index("By language") :]
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in by_language.splitlines()]
    assert ["en", "6", "1", "124", "6"] in rows, swept.stdout
