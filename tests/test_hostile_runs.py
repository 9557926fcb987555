"""Hostile sites, round two (issue 24): runs that would end with a wrong warehouse and exit 0.

Real `latinno refresh` processes or real refresh flows against our site server over loopback,
real DuckDB files: a site answering 404 everywhere is held, not emptied; a page that never
parses stays an open failure; a redirect from one case id to another case's page is a merge,
never a second copy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _flow_support import quiet_cli_env, run_cli, run_refresh, without_progress

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
    return run_cli(tmp_path, *args, timeout=300)


def exit_code(summary: dict[str, Any]) -> int:
    from flows.summary import RunSummary

    return RunSummary.from_dict(summary).exit_code


def statuses(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("SELECT status, count(*) FROM cases GROUP BY 1").fetchall())


def test_a_site_answering_404_everywhere_is_held_not_withdrawn(tmp_path: Path) -> None:
    site = tmp_path / "site"
    ids = small_site(site)
    db = tmp_path / "w.duckdb"
    refresh = ["refresh", "--db", str(db), "--rate", "0", "--concurrency", "4"]
    with run_server_in_thread(site, sitemap=True) as server:
        # The runs before the held one in this process (a CLI start each costs seconds).
        first = run_refresh(base_url=server.base_url, db=str(db))
        assert exit_code(first) == 0, first["counts"]
        assert statuses(db) == {"active": len(ids)}
        # One case really goes: that is the site's normal life, applied as always.
        shutil.rmtree(site / "en" / "case" / str(ids[0]))
        one = run_refresh(base_url=server.base_url, db=str(db))
        assert exit_code(one) == 0, one["counts"]
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

        # Accepted in this process too (`--accept-drift` as a process: tests/test_guard.py).
        accepted = run_refresh(base_url=server.base_url, db=str(db), accept_drift=True)
    assert exit_code(accepted) == 0, accepted["counts"]
    assert statuses(db) == {"withdrawn": len(ids)}
    with duckdb.connect(str(db), read_only=True) as con:
        runs = [s for (s,) in con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()]
    assert runs == ["completed", "completed", "held", "completed"]


def _reparse(db: Path) -> dict[str, int | float]:
    from flows.reparse import reparse_archive
    from latinno.config import load_settings, override

    settings = override(load_settings(None), {"warehouse": {"path": str(db)}}, "test")
    counts, failures = reparse_archive(settings)
    assert failures == []
    return dict(counts.as_row())


def test_a_redirect_to_another_cases_page_is_a_merge_never_a_phantom(tmp_path: Path) -> None:
    site = tmp_path / "site"
    ids = small_site(site)
    merged_id = 19905  # a real page on disk, so the sitemap lists it, but redirected
    shutil.copytree(site / "en" / "case" / str(ids[1]), site / "en" / "case" / str(merged_id))
    db = tmp_path / "w.duckdb"
    target = f"/en/case/{ids[0]}/"

    def case(case_id: int) -> tuple[str, str] | None:
        with duckdb.connect(str(db), read_only=True) as con:
            sql = "SELECT status, title FROM cases WHERE case_id = ?"
            return con.execute(sql, [case_id]).fetchone()  # type: ignore[return-value]

    with run_server_in_thread(
        site, sitemap=True, redirects={f"/en/case/{merged_id}/": target}
    ) as s:
        first = run_refresh(base_url=s.base_url, db=str(db))
        # Never a second copy of the other case under the id that redirects to it.
        assert case(merged_id) is None and case(ids[0]) is not None
        assert first["counts"]["merged"] == 1 and first["counts"].get("failed", 0) == 0
        assert _reparse(db)["parsed"] == len(ids) and case(merged_id) is None

        del s.server.redirects[f"/en/case/{merged_id}/"]  # the case is its own page again
        run_refresh(base_url=s.base_url, db=str(db))
        assert case(merged_id) == ("active", case(ids[1])[1])  # type: ignore[index]

        s.server.redirects[f"/en/case/{merged_id}/"] = target  # ... and is merged into another
        page = site / "en" / "case" / str(merged_id) / "index.html"
        later = page.stat().st_mtime + 5  # the sitemap's lastmod says so too
        os.utime(page, (later, later))
        third = run_refresh(base_url=s.base_url, db=str(db))
    assert third["counts"]["merged"] == 1 and third["counts"]["withdrawn"] == 1
    assert case(merged_id)[0] == "withdrawn"  # type: ignore[index]
    with duckdb.connect(str(db), read_only=True) as con:
        latest = con.execute(
            "SELECT status FROM pages WHERE case_id = ? ORDER BY fetched_at DESC LIMIT 1",
            [merged_id],
        ).fetchone()
    assert latest == (301,)  # recorded: its page is now a redirect
    assert _reparse(db)["parsed"] == len(ids) and case(merged_id)[0] == "withdrawn"  # type: ignore[index]


def test_a_page_that_never_parses_stays_an_open_failure(tmp_path: Path) -> None:
    site = tmp_path / "site"
    small_site(site)
    odd = site / "en" / "case" / "19950"
    odd.mkdir(parents=True)
    (odd / "index.html").write_text("<h1>Maintenance</h1>", encoding="utf-8")
    db = tmp_path / "w.duckdb"

    def open_failures() -> list[tuple[int, str]]:
        with duckdb.connect(str(db), read_only=True) as con:
            sql = "SELECT case_id, reason FROM fetch_failures WHERE resolved_run_id IS NULL"
            return con.execute(sql).fetchall()

    with run_server_in_thread(site, sitemap=True) as server:
        runs = [run_refresh(base_url=server.base_url, db=str(db)) for _ in range(3)]
        # Its body is the archived one each time: still not a case page, still a failure.
        for run in runs:
            assert run["counts"]["failed"] == 1 and exit_code(run) == 2, run["counts"]
            ((case_id, reason),) = open_failures()
            assert case_id == 19950 and reason.startswith("parse error"), reason
        # Once it parses, its failure is closed.
        shutil.copy(FIXTURES / "en" / "case" / "1003" / "index.html", odd / "index.html")
        fixed = run_refresh(base_url=server.base_url, db=str(db))
    assert fixed["counts"].get("failed", 0) == 0 and exit_code(fixed) == 0
    assert open_failures() == []


def run_rows(db: Path) -> list[tuple[str, str | None]]:
    with duckdb.connect(str(db), read_only=True) as con:
        sql = "SELECT status, reason FROM runs ORDER BY started_at"
        return con.execute(sql).fetchall()


def test_a_redirect_httpx_cannot_follow_costs_one_page_and_the_run_ends(tmp_path: Path) -> None:
    site = tmp_path / "site"
    ids = small_site(site)
    db = tmp_path / "w.duckdb"
    odd = f"/en/case/{ids[3]}/"
    with run_server_in_thread(site, sitemap=True, redirects={odd: "mailto:x@example.org"}) as s:
        summary = run_refresh(base_url=s.base_url, db=str(db))
    assert summary["counts"]["failed"] == 1 and exit_code(summary) == 2
    assert statuses(db) == {"active": len(ids) - 1}
    with duckdb.connect(str(db), read_only=True) as con:
        sql = "SELECT case_id, reason FROM fetch_failures"
        ((case_id, reason),) = con.execute(sql).fetchall()
    assert case_id == ids[3] and reason.startswith("unusable redirect"), reason
    assert [status for status, _ in run_rows(db)] == ["failed"]  # ended, with exit 2


def test_a_run_that_ends_on_an_unforeseen_error_is_not_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.pipeline import Pipeline

    async def broken(self: Pipeline) -> None:
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr(Pipeline, "drain", broken)
    site = tmp_path / "site"
    small_site(site, 3)
    db = tmp_path / "w.duckdb"
    with (
        run_server_in_thread(site, sitemap=True) as s,
        pytest.raises(RuntimeError, match="a bug nobody foresaw"),
    ):
        run_refresh(base_url=s.base_url, db=str(db))
    assert run_rows(db) == [("failed", "RuntimeError: a bug nobody foresaw")]


# A reader as `latinno query` is one: it opens the warehouse read-only, says so, and keeps it
# until told to let go (a line on stdin), so the test never sleeps on it.
READER = """
import sys
import threading
from pathlib import Path
from warehouse.db import connect
con = connect(Path(sys.argv[1]), read_only=True)
con.execute("SELECT count(*) FROM cases").fetchall()
print("ready", flush=True)
sys.stdin.readline()
con.close()
"""


def test_a_reader_holding_the_warehouse_when_a_refresh_starts_only_delays_it(
    tmp_path: Path,
) -> None:
    from warehouse.db import connect

    site = tmp_path / "site"
    small_site(site, 3)
    db = tmp_path / "w.duckdb"
    connect(db).close()
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert reader.stdout is not None and reader.stdin is not None
    assert reader.stdout.readline().strip() == "ready"
    waiting = threading.Event()
    outcome: dict[str, Any] = {}

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "waiting for" in record.getMessage():
                outcome.setdefault("line", record.getMessage())
                waiting.set()

    logger = logging.getLogger("flows.tasks")
    watch, level = Watch(), logger.level
    logger.addHandler(watch)
    logger.setLevel(logging.INFO)

    def refresh() -> None:
        try:
            overrides = {"warehouse": {"lock_timeout_s": 0.5}}
            outcome["summary"] = run_refresh(base_url=base_url, db=str(db), overrides=overrides)
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc
            waiting.set()

    try:
        with run_server_in_thread(site, sitemap=True) as server:
            base_url = server.base_url
            thread = threading.Thread(target=refresh)
            thread.start()
            # It waits past lock_timeout_s (0.5 s), saying for whom, instead of failing.
            assert waiting.wait(120) and "error" not in outcome, outcome.get("error")
            reader.stdin.write("\n")
            reader.stdin.flush()
            reader.wait(30)
            thread.join(300)
    finally:
        logger.removeHandler(watch)
        logger.setLevel(level)
        if reader.poll() is None:
            reader.kill()
    assert "error" not in outcome, outcome.get("error")
    assert f"{db}: waiting for " in outcome["line"]
    assert exit_code(outcome["summary"]) == 0 and statuses(db) == {"active": 3}


@pytest.mark.parametrize(
    ("sig", "code", "says"),
    [
        (signal.SIGTERM, 143, "latinno: stopped by SIGTERM; what was written before stays"),
        (signal.SIGINT, 130, "latinno: interrupted; what was written before stays"),
    ],
)
def test_a_signal_stops_a_refresh_in_one_line_and_records_it_interrupted(
    tmp_path: Path, sig: int, code: int, says: str
) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    page = (FIXTURES / "en" / "case" / "1003" / "index.html").read_bytes()
    arrived, release = threading.Event(), threading.Event()

    class Site(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if self.path == "/robots.txt":
                body = f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n".encode()
            elif self.path == "/sitemap.xml":
                body = (
                    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<url><loc>{base}/en/case/1003/</loc></url></urlset>"
                ).encode()
            else:
                arrived.set()  # the run is fetching: stop it now
                release.wait(300)
                body = page
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it was stopped
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    db = tmp_path / "w.duckdb"
    command = ["refresh", "--db", str(db), "--rate", "0", "--base-url"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "latinno.cli", *command, f"http://127.0.0.1:{httpd.server_address[1]}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=quiet_cli_env(tmp_path),
    )  # fmt: skip
    try:
        assert arrived.wait(120), "the refresh never asked for the case page"
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=240)  # a bound, not a measurement
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
        httpd.shutdown()
        httpd.server_close()
    stderr = without_progress(stderr)
    assert proc.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(says), stderr  # one line, no traceback
    assert run_rows(db) == [
        ("interrupted", "stopped by Ctrl-C or SIGTERM; the batches loaded before it stay")
    ]
