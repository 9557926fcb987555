"""``latinno query|export|status`` in real subprocesses, and lock safety with two processes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _warehouse_support import day, make_record, rows

from latinno.errors import DatabaseLockedError
from warehouse.db import connect, writing
from warehouse.load import load_records
from warehouse.runs import FetchFailure, finish_run, record_fetch_failures, start_run

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
# Run the real entry point, then report on stderr whether Prefect got imported.
RUNNER = (
    "import sys\n"
    "from cli import main\n"
    "sys.argv[0] = 'latinno'\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    loaded = any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules)\n"
    "    print('PREFECT_LOADED' if loaded else 'NO_PREFECT', file=sys.stderr)\n"
)
# Holds the write lock (after committing one case) until a line arrives on stdin.
HOLDER = (
    "import sys\n"
    "from pathlib import Path\n"
    f"sys.path.insert(0, {str(TESTS)!r})\n"
    "from _warehouse_support import day, make_record\n"
    "from warehouse.db import connect\n"
    "from warehouse.load import load_records\n"
    "con = connect(Path(sys.argv[1]))\n"
    "load_records(con, [make_record(1001)], run_id='holder', seen_at=day(0), primary_lang='en')\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    "con.close()\n"
)


def latinno(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "wh.duckdb"
    with writing(path) as con:
        load_records(
            con,
            [make_record(17001), make_record(5099, country_code="CO", title='Mesa, "uno"')],
            run_id="r1",
            seen_at=day(0),
            primary_lang="en",
        )
        start_run(con, "r1", day(0), {})
        finish_run(con, "r1", day(0), {"discovered": 2, "new": 2})
        record_fetch_failures(
            con, "r1", [FetchFailure("https://latinno.net/en/case/4004/", 4004, "en", 503, "x", 6)]
        )
    return path


def test_query_formats(db: Path) -> None:
    sql = "SELECT case_id, title, first_seen_at FROM cases ORDER BY case_id"
    as_csv = latinno("query", sql, "--format", "csv", "--db", str(db))
    assert as_csv.returncode == 0, as_csv.stderr
    assert "NO_PREFECT" in as_csv.stderr
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [
        ["case_id", "title", "first_seen_at"],
        ["5099", 'Mesa, "uno"', "2026-03-02T03:00:00Z"],
        ["17001", "Multisectoral Open Government Forum (en)", "2026-03-02T03:00:00Z"],
    ]
    as_json = latinno("query", sql, "--format", "json", "--db", str(db))
    assert json.loads(as_json.stdout) == [
        {"case_id": 5099, "title": 'Mesa, "uno"', "first_seen_at": "2026-03-02T03:00:00Z"},
        {
            "case_id": 17001,
            "title": "Multisectoral Open Government Forum (en)",
            "first_seen_at": "2026-03-02T03:00:00Z",
        },
    ]
    as_table = latinno("query", sql, "--db", str(db))
    assert as_table.returncode == 0 and "Mesa" in as_table.stdout and "case_id" in as_table.stdout


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("DELETE FROM cases", "DELETE"),
        ("SELECT 1; DROP TABLE cases", "DROP"),
        ("COPY cases TO '/tmp/latinno-stolen.csv'", "COPY"),
        ("ATTACH ':memory:' AS scratch", "ATTACH"),
    ],
)
def test_query_refuses_writes_with_one_line(db: Path, sql: str, kind: str) -> None:
    before = rows(connect(db, read_only=True), "cases")
    result = latinno("query", sql, "--db", str(db))
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line != "NO_PREFECT"]
    assert lines == [
        f"latinno: error: refused: {kind} statements are not allowed; `latinno query` only "
        "reads (SELECT, WITH ... SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)"
    ]
    assert rows(connect(db, read_only=True), "cases") == before


def test_export_and_status_commands(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    result = latinno("export", "--format", "csv", "--out", str(out), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "NO_PREFECT" in result.stderr
    assert (out / "cases_wide.csv").exists() and (out / "datapackage.json").exists()
    assert not list(out.glob("*.parquet"))
    status = latinno("status", "--db", str(db))
    assert status.returncode == 0, status.stderr
    assert "NO_PREFECT" in status.stderr
    for text in ("Cases by status", "Colombia", "Peru", "r1", "Open fetch failures: 1", "4004"):
        assert text in status.stdout, text


def test_commands_on_a_missing_file_fail_with_one_line(tmp_path: Path) -> None:
    result = latinno("status", "--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == 1
    assert "none.duckdb: no warehouse at this path; run `latinno refresh` first" in result.stderr
    assert not (tmp_path / "none.duckdb").exists()


# --- lock safety: two real processes ------------------------------------------------------------


def _hold(path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    return holder


def _release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.wait(timeout=30) == 0


def test_writer_gives_up_naming_the_holder_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    holder = _hold(path)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseLockedError) as caught, writing(path, lock_timeout_s=0.6) as con:
            load_records(con, [make_record()], run_id="mine", seen_at=day(1), primary_lang="en")
        assert time.monotonic() - started >= 0.6
        error = caught.value
        assert f"PID {holder.pid}" in error.holder
        assert error.waited_s >= 0.6
        assert str(path) in str(error) and f"PID {holder.pid}" in str(error)
    finally:
        _release(holder)
    con = connect(path, read_only=True)
    try:
        assert [r[0] for r in rows(con, "cases")] == [1001]
        assert rows(con, "case_history", exclude=("record", "content_hash", "valid_from")) == [
            (1001, 1, None, "active", "new", "holder")
        ]
    finally:
        con.close()


def test_query_waits_while_a_load_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    holder = _hold(path)
    query = subprocess.Popen(
        [sys.executable, "-c", RUNNER, "query", "SELECT count(*) AS n FROM cases",
         "--format", "csv", "--db", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        time.sleep(2.0)
        assert query.poll() is None, query.communicate()  # still waiting for the lock
    finally:
        _release(holder)
    out, err = query.communicate(timeout=30)
    assert query.returncode == 0, err
    assert out.splitlines() == ["n", "1"]


def test_query_gives_up_after_the_read_timeout(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    config = tmp_path / "config.yaml"
    config.write_text("warehouse:\n  read_lock_timeout_s: 0.5\n", encoding="utf-8")
    holder = _hold(path)
    try:
        result = latinno("query", "SELECT 1", "--db", str(path), "--config", str(config))
    finally:
        _release(holder)
    assert result.returncode == 1
    assert "busy.duckdb: database is locked by" in result.stderr
    assert f"PID {holder.pid}" in result.stderr
