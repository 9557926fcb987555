"""One open failure per URL (issue 24, item 17): a page that keeps failing is one open row in
``fetch_failures`` whatever the number of runs, counted in ``runs_failed``; a run that fetches it
closes it; a warehouse that holds one open row per run and URL migrates to one."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _warehouse_support import day, naive

from warehouse import db
from warehouse.db import connect, migrations
from warehouse.runs import (
    FetchFailure,
    open_failures,
    record_fetch_failures,
    resolve_failures,
    start_run,
)
from warehouse.status import status_tables

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"
A = "https://latinno.net/en/case/1001/"
B = "https://latinno.net/en/case/1002/"
C = "https://latinno.net/robots.txt"
COLUMNS = "url, run_id, first_run_id, runs_failed, status, reason, resolved_run_id"


def rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(f"SELECT {COLUMNS} FROM fetch_failures ORDER BY ALL").fetchall()


def test_a_url_failing_in_several_runs_is_one_open_row(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    for n in range(4):
        start_run(con, f"r{n}", day(n), {})
    record_fetch_failures(con, "r0", [FetchFailure(A, 1001, "en", 503, "HTTP 503", 6)])
    record_fetch_failures(con, "r1", [FetchFailure(A, 1001, "en", None, "timeout", 6)])
    # A run reporting the URL twice (two batches) counts once; its last report wins.
    record_fetch_failures(con, "r1", [FetchFailure(A, 1001, "en", 500, "HTTP 500", 3)])
    assert rows(con) == [(A, "r1", "r0", 2, 500, "HTTP 500", None)]
    seen = con.execute("SELECT first_seen_at, last_seen_at FROM fetch_failures").fetchall()
    assert seen == [(naive(0), naive(1))]
    assert [(f["url"], f["runs_failed"], f["first_run_id"]) for f in open_failures(con)] == [
        (A, 2, "r0")
    ]
    (shown,) = [t for t in status_tables(con) if t.title.startswith("Open fetch failures")]
    assert shown.title == "Open fetch failures: 1"
    assert dict(zip(shown.columns, shown.rows[0], strict=True)) == {
        "run_id": "r1",
        "url": A,
        "status": 500,
        "reason": "HTTP 500",
        "attempts": 3,
        "runs_failed": 2,
        "first_run_id": "r0",
    }
    assert resolve_failures(con, [(1001, "en")], "r2") == 1
    assert open_failures(con) == []
    # Failing again after it was fetched is a new spell: a new open row, the closed one kept.
    record_fetch_failures(con, "r3", [FetchFailure(A, 1001, "en", 404, "HTTP 404", 1)])
    assert rows(con) == [
        (A, "r1", "r0", 2, 500, "HTTP 500", "r2"),
        (A, "r3", "r3", 1, 404, "HTTP 404", None),
    ]
    con.close()


def test_a_warehouse_with_an_open_row_per_run_migrates_to_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "w.duckdb"
    real_migrations = migrations
    with monkeypatch.context() as patch:  # the warehouse as migration 5 left it
        home = sys.modules[db.migrate.__module__]
        patch.setattr(home, "migrations", lambda: [m for m in real_migrations() if m[0] < 6])
        con = connect(path)
        for n in range(4):
            start_run(con, f"r{n}", day(n), {})
        con.executemany(
            "INSERT INTO fetch_failures VALUES (?, ?, ?, 'en', ?, ?, 6, ?)",
            [
                ("r0", A, 1001, 503, "HTTP 503", None),
                ("r1", A, 1001, 500, "HTTP 500", None),
                ("r2", A, 1001, None, "timeout", None),
                ("r0", B, 1002, 503, "HTTP 503", "r1"),
                ("r0", C, None, 500, "HTTP 500", "r2"),  # open together, closed by one run
                ("r1", C, None, 502, "HTTP 502", "r2"),
                ("r3", C, None, 404, "HTTP 404", None),  # failing again since
            ],
        )
        con.close()

    con = connect(path)  # applies migration 6
    assert rows(con) == [
        (A, "r2", "r0", 3, None, "timeout", None),
        (B, "r0", "r0", 1, 503, "HTTP 503", "r1"),
        (C, "r1", "r0", 2, 502, "HTTP 502", "r2"),
        (C, "r3", "r3", 1, 404, "HTTP 404", None),
    ]
    assert con.execute(
        "SELECT first_seen_at, last_seen_at FROM fetch_failures WHERE url = ? AND resolved_run_id "
        "IS NULL",
        [A],
    ).fetchall() == [(naive(0), naive(2))]
    # The migrated rows go on as new ones do.
    start_run(con, "r4", day(4), {})
    record_fetch_failures(con, "r4", [FetchFailure(A, 1001, "en", 503, "HTTP 503", 6)])
    assert [(f["url"], f["run_id"], f["runs_failed"]) for f in open_failures(con)] == [
        (A, "r4", 4),
        (C, "r3", 1),
    ]
    assert resolve_failures(con, [], "r5", urls=[A, C]) == 2
    assert open_failures(con) == []
    con.close()


def small_site(root: Path, count: int) -> list[int]:
    ids = sorted(int(p.name) for p in (FIXTURES / "en" / "case").iterdir() if p.name.isdigit())
    for case_id in ids[:count]:
        folder = Path("en") / "case" / str(case_id)
        shutil.copytree(FIXTURES / folder, root / folder)
    return ids[:count]


@pytest.mark.slow
def test_pages_failing_in_two_runs_are_one_open_row_each_until_fetched(tmp_path: Path) -> None:
    from _flow_support import run_refresh

    from latinno.sitemodel.server import run_server_in_thread

    site = tmp_path / "site"
    ids = small_site(site, 6)
    unparsable = site / "en" / "case" / "19950"
    unparsable.mkdir(parents=True)
    (unparsable / "index.html").write_text("<h1>Maintenance</h1>", encoding="utf-8")
    redirected = f"/en/case/{ids[2]}/"
    db_path = tmp_path / "w.duckdb"

    def failures() -> list[tuple[Any, ...]]:
        with duckdb.connect(str(db_path), read_only=True) as con:
            return con.execute(
                "SELECT f.case_id, f.runs_failed, f.resolved_run_id, "
                "f.first_seen_at = a.started_at, f.last_seen_at = b.started_at "
                "FROM fetch_failures AS f JOIN runs AS a ON a.run_id = f.first_run_id "
                "JOIN runs AS b ON b.run_id = f.run_id ORDER BY f.case_id"
            ).fetchall()

    def run_ids() -> list[str]:
        with duckdb.connect(str(db_path), read_only=True) as con:
            sql = "SELECT run_id FROM runs ORDER BY started_at"
            return [r for (r,) in con.execute(sql).fetchall()]

    with run_server_in_thread(site, sitemap=True, redirects={redirected: "mailto:x@a.org"}) as s:
        for _ in range(2):
            summary = run_refresh(base_url=s.base_url, db=str(db_path))
            assert summary["counts"]["failed"] == 2, summary["counts"]
        assert failures() == [(ids[2], 2, None, True, True), (19950, 2, None, True, True)]
        first, second = run_ids()
        with duckdb.connect(str(db_path), read_only=True) as con:
            sql = "SELECT DISTINCT first_run_id, run_id FROM fetch_failures"
            assert con.execute(sql).fetchall() == [(first, second)]

        del s.server.redirects[redirected]  # both pages are fine again
        shutil.copy(FIXTURES / "en" / "case" / "1003" / "index.html", unparsable / "index.html")
        fixed = run_refresh(base_url=s.base_url, db=str(db_path))
    assert fixed["counts"].get("failed", 0) == 0, fixed["counts"]
    third = run_ids()[-1]
    assert failures() == [(ids[2], 2, third, True, True), (19950, 2, third, True, True)]
