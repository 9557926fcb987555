"""``latinno query|export|status`` in real subprocesses, and lock safety with two processes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from _warehouse_support import day, make_record, rows

from latinno.errors import DatabaseLockedError
from warehouse.db import connect, writing
from warehouse.load import load_records
from warehouse.runs import FetchFailure, finish_run, record_fetch_failures, start_run

pytestmark = pytest.mark.process  # commands run as processes: not in `make unit`

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
# Run the real entry point, then report on stderr whether Prefect got imported.
RUNNER = (
    "import sys\n"
    "from latinno.cli import main\n"
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
    "# Our own header checks must not drop the lock (closing a descriptor would).\n"
    "from warehouse.db import check_warehouse\n"
    "check_warehouse(Path(sys.argv[1]))\n"
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


def test_query_csv_prints_values_as_they_are_and_excel_only_when_asked(db: Path) -> None:
    sql = (
        "SELECT -5 AS n, '-5' AS t, '+49 30 1234' AS phone, '=1+1' AS f, '' AS e, "
        "NULL AS z, true AS b"
    )
    plain = subprocess.run(
        [sys.executable, "-m", "latinno.cli", "query", sql, "--format", "csv", "--db", str(db)],
        capture_output=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    # The one CSV convention (warehouse.csvfile), byte for byte: the same as export and release.
    assert plain.stdout == b'n,t,phone,f,e,z,b\r\n-5,-5,+49 30 1234,=1+1,"",,1\r\n'
    excel = subprocess.run(
        [sys.executable, "-m", "latinno.cli", "query", sql, "--format", "csv",
         "--csv-dialect", "excel", "--db", str(db)],
        capture_output=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert excel.returncode == 0, excel.stderr
    # As `release --csv-dialect excel`: a byte-order mark, a ' before text only (never -5).
    assert excel.stdout.decode("utf-8") == (
        "\ufeffn,t,phone,f,e,z,b\r\n-5,'-5,'+49 30 1234,'=1+1,\"\",,1\r\n"
    )
    wrong = latinno("query", sql, "--csv-dialect", "lotus", "--db", str(db))
    assert wrong.returncode == 2 and "--csv-dialect" in wrong.stderr


@pytest.mark.parametrize(
    ("sql", "kind", "statement"),
    [
        ("DELETE FROM cases", "DELETE", "DELETE FROM cases"),
        ("SELECT 1; DROP TABLE cases", "DROP", "DROP TABLE cases"),
        (
            "COPY cases TO '/tmp/latinno-stolen.csv'",
            "COPY",
            "COPY cases TO '/tmp/latinno-stolen.csv'",
        ),
        ("ATTACH ':memory:' AS scratch", "ATTACH", "ATTACH ':memory:' AS scratch"),
    ],
)
def test_query_refuses_writes_with_one_line(db: Path, sql: str, kind: str, statement: str) -> None:
    before = rows(connect(db, read_only=True), "cases")
    result = latinno("query", sql, "--db", str(db))
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line != "NO_PREFECT"]
    assert lines == [
        f"latinno: error: refused: {kind} statement `{statement}`: `latinno query` only "
        "reads (SELECT, WITH ... SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)"
    ]
    assert rows(connect(db, read_only=True), "cases") == before
    assert not Path("/tmp/latinno-stolen.csv").exists()


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


# The real entry point, with every refused open of the warehouse said on stderr: the test
# knows the query met the lock (and is waiting) without guessing how long that takes.
REFUSAL_RUNNER = (
    "import sys, duckdb\n"
    "_connect = duckdb.connect\n"
    "def connect(*args, **kwargs):\n"
    "    try:\n"
    "        return _connect(*args, **kwargs)\n"
    "    except duckdb.Error:\n"
    "        print('REFUSED', file=sys.stderr, flush=True)\n"
    "        raise\n"
    "duckdb.connect = connect\n"
) + RUNNER


def test_query_waits_while_a_load_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    holder = _hold(path)
    query = subprocess.Popen(
        [sys.executable, "-c", REFUSAL_RUNNER, "query", "SELECT count(*) AS n FROM cases",
         "--format", "csv", "--db", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert query.stderr is not None
    try:
        first = query.stderr.readline()  # blocks until the query has met the lock
        assert first.strip() == "REFUSED", first + query.communicate()[1]
        assert query.poll() is None, query.communicate()  # refused, and still waiting
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


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A tmp folder with a short path: a lock message cuts a holder's command past 100
    characters, and pytest's tmp_path is longer under pytest-xdist (a folder per worker)."""
    with tempfile.TemporaryDirectory(prefix="lk-") as folder:
        yield Path(folder)


def test_lock_message_names_the_holders_command_and_the_readers_setting(
    tmp_path: Path, short_tmp: Path
) -> None:
    # The holder runs as our console script does (python …/bin/latinno refresh …), so the
    # message can name the command a person typed.
    path = short_tmp / "held.duckdb"
    script = tmp_path / "bin" / "latinno"
    script.parent.mkdir()
    script.write_text(HOLDER.replace("sys.argv[1]", "sys.argv[3]"), encoding="utf-8")
    holder = subprocess.Popen(
        [sys.executable, str(script), "refresh", "--db", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    config = tmp_path / "config.yaml"
    config.write_text("warehouse:\n  read_lock_timeout_s: 0.5\n", encoding="utf-8")
    try:
        result = latinno("status", "--db", str(path), "--config", str(config))
        with pytest.raises(DatabaseLockedError) as caught, writing(path, lock_timeout_s=0.3):
            pass
    finally:
        _release(holder)
    holder_text = f"`latinno refresh --db {path}` (PID {holder.pid})"
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line != "NO_PREFECT"]
    assert line.startswith(f"latinno: error: {path}: database is locked by {holder_text}")
    assert "raise warehouse.read_lock_timeout_s" in line and "warehouse.lock_timeout_s" not in line
    assert caught.value.holder == holder_text
    assert caught.value.setting == "warehouse.lock_timeout_s"
    assert "raise warehouse.lock_timeout_s" in str(caught.value)


# --- a damaged warehouse: one line from every command, nothing changed --------------------------


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse of several blocks (text that does not compress away)."""
    import random

    rng = random.Random(7)
    path = tmp_path_factory.mktemp("damaged") / "whole.duckdb"
    records = [
        make_record(1000 + i, description=" ".join(f"{rng.random():.12f}" for _ in range(300)))
        for i in range(400)
    ]
    with writing(path) as con:
        load_records(con, records, run_id="r1", seen_at=day(0), primary_lang="en")
    return path


def _damage(whole: Path, folder: Path, kind: str) -> Path:
    import shutil

    path = folder / f"{kind}.duckdb"
    shutil.copy(whole, path)
    if kind == "truncated":
        with path.open("r+b") as file:
            file.truncate(path.stat().st_size // 2)
    elif kind == "checksum":  # a byte of the first metadata block, read on every open
        with path.open("r+b") as file:
            file.seek(12288 + 100)
            byte = file.read(1)
            file.seek(12288 + 100)
            file.write(bytes([byte[0] ^ 0xFF]))
    elif kind == "not_duckdb":
        path.write_text("case_id,title\n1,not a warehouse\n", encoding="utf-8")
    return path


ADVICE = (
    "restore the file from a backup or a release, or move it away and run `latinno refresh` "
    "to start over with a new file"
)


@pytest.mark.parametrize("command", ["query", "export", "status", "reparse"])
@pytest.mark.parametrize(
    ("kind", "problem", "advice"),
    [
        ("truncated", "the warehouse file is truncated", ADVICE),
        ("checksum", "the warehouse file is damaged: a checksum does not match", ADVICE),
        ("not_duckdb", "is not a DuckDB database file", "point --db (or warehouse.path)"),
    ],
)
def test_a_damaged_warehouse_gives_one_line_from_every_command(
    whole: Path, tmp_path: Path, command: str, kind: str, problem: str, advice: str
) -> None:
    import hashlib

    path = _damage(whole, tmp_path, kind)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    args = {
        "query": ["query", "SELECT count(*) FROM cases"],
        "export": ["export", "--out", str(tmp_path / "out")],
        "status": ["status"],
        "reparse": ["reparse"],
    }[command]
    result = latinno(*args, "--db", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line not in ("NO_PREFECT", "")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"latinno: error: {path}: {problem}")
    assert advice in lines[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # nothing written
    assert not (tmp_path / "out").exists()


def test_a_damaged_data_block_is_found_by_the_check_and_by_the_query_that_reads_it(
    whole: Path, tmp_path: Path
) -> None:
    import shutil

    from latinno.errors import CorruptWarehouseError
    from warehouse.db import check_warehouse

    check_warehouse(whole)  # the whole file passes
    check_warehouse(tmp_path / "none.duckdb")  # a missing file passes: a refresh creates it
    path = tmp_path / "block.duckdb"
    shutil.copy(whole, path)
    with connect(path, read_only=True) as con:
        (block,) = con.execute(
            "SELECT max(block_id) FROM pragma_storage_info('case_texts') "
            "WHERE column_name = 'description' AND block_id >= 0"
        ).fetchone()
    offset = 12288 + block * 262144 + 5000
    with path.open("r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(CorruptWarehouseError) as caught:
        check_warehouse(path)
    assert f"block at byte {12288 + block * 262144}" in str(caught.value)
    result = latinno("query", "SELECT sum(length(description)) FROM case_texts", "--db", str(path))
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line != "NO_PREFECT"]
    assert line.startswith(f"latinno: error: {path}: the warehouse file is damaged")
    assert ADVICE in line


def test_a_truncated_file_answers_no_query(whole: Path, tmp_path: Path) -> None:
    # Without the check DuckDB answers this from the catalog of a file missing half its blocks.
    import shutil

    from latinno.errors import CorruptWarehouseError

    path = tmp_path / "cut.duckdb"
    shutil.copy(whole, path)
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size - 1000)
    with pytest.raises(CorruptWarehouseError, match="truncated"):
        connect(path, read_only=True)
    with pytest.raises(CorruptWarehouseError, match="truncated"), writing(path):
        pass


def test_status_shows_each_runs_outcome_and_reason_within_80_columns(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    outcomes = [
        ("r-done", "completed", None),
        ("r-held", "held", "held: means lost on 812 of 830 cases (97.8%); nothing applied"),
        ("r-failed", "failed", "cannot reach https://latinno.net: connection refused (robots.txt)"),
        ("r-cut", "interrupted", "the process ended before the run finished"),
    ]
    with writing(path) as con:
        load_records(con, [make_record(17001)], run_id="r0", seen_at=day(0), primary_lang="en")
        for hours, (run_id, status, reason) in enumerate(outcomes):
            start_run(con, run_id, day(0) + timedelta(hours=hours), {})
            finish_run(con, run_id, day(0) + timedelta(hours=hours, minutes=5), {"new": 1},
                       status=status, reason=reason)  # fmt: skip
        start_run(con, "r-now", day(1), {})  # still running
    result = subprocess.run(
        [sys.executable, "-m", "latinno.cli", "status", "--db", str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=60, env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # Every line but the two naming files (a path is printed whole, to be copied).
    lines = [x for x in result.stdout.splitlines() if not x.startswith(("Config:", "Warehouse:"))]
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    head = next(line for line in lines if line.startswith("run_id") and "status" in line)
    assert head.split() == ["run_id", "status", "s", "fetch", "304", "new", "chg", "gone", "fail"]
    shown = {line.split()[0]: line.split()[1] for line in lines if line.startswith("r-")}
    assert shown == {"r-now": "running", "r-cut": "interrupted", "r-failed": "failed",
                     "r-held": "held", "r-done": "completed"}  # fmt: skip
    text = " ".join(" ".join(lines).split())
    for _, _, reason in outcomes[1:]:
        assert reason is not None and " ".join(reason.split()) in text.replace("- ", "-")
