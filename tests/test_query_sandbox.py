"""``latinno query`` reads only the warehouse (issue 13, part 2), on a real DuckDB file.

Every read-only connection (query's, export's, status's) is sandboxed: no other file, no URL,
no extension, no setting turned back on. Each attempt is refused with one line naming what was
refused; nothing is read, fetched or written. Queries are bounded in time and rows printed, and
their errors keep DuckDB's hints.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import duckdb
import pytest
from _warehouse_support import day, make_record

from latinno.errors import QueryTimeoutError, ReadOnlyQueryError, WarehouseError
from warehouse.db import SANDBOX, reading, writing
from warehouse.load import load_records
from warehouse.query import run_query

ROOT = Path(__file__).resolve().parents[1]
SECRET = "latinno-sandbox-secret-7f3a"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sandbox") / "wh.duckdb"
    with writing(path) as con:
        load_records(
            con,
            [make_record(17001), make_record(5099, country_code="CO")],
            run_id="r1",
            seen_at=day(0),
            primary_lang="en",
        )
    return path


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("host") / "secret.csv"
    path.write_text(f"name,value\nkey,{SECRET}\n", encoding="utf-8")
    return path


class _Recorder(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = f"name,value\nkey,{SECRET}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """A loopback server that would hand out the secret to anyone who asked."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def latinno(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latinno.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def _refused(db: Path, sql: str) -> str:
    with reading(db) as con, pytest.raises(ReadOnlyQueryError) as caught:
        run_query(con, sql)
    message = str(caught.value)
    assert message.startswith("refused: ") and "\n" not in message
    assert SECRET not in message
    return message


@pytest.mark.parametrize(
    ("template", "named"),
    [
        ("SELECT * FROM read_csv('{file}')", 'the file "{file}"'),
        ("SELECT * FROM read_text('{file}')", 'the file "{file}"'),
        ("SELECT * FROM read_blob('{file}')", 'the file "{file}"'),
        ("SELECT * FROM '{file}'", 'the file "{file}"'),
        ("SELECT * FROM glob('{folder}/*')", 'the files "{folder}/*"'),
        ("SELECT * FROM read_text('/etc/passwd')", 'the file "/etc/passwd"'),
        ("SELECT * FROM glob('/root/*')", 'the files "/root/*"'),
        ("WITH s AS (SELECT * FROM read_csv('{file}')) SELECT * FROM s", 'the file "{file}"'),
    ],
)
def test_reading_other_files_is_refused(
    db: Path, secret_file: Path, template: str, named: str
) -> None:
    values = {"file": str(secret_file), "folder": str(secret_file.parent)}
    message = _refused(db, template.format(**values))
    assert named.format(**values) in message
    assert "reads only the warehouse" in message


def test_urls_are_refused_without_a_request(db: Path, http_url: str) -> None:
    _Recorder.hits.clear()
    for sql in (
        f"SELECT * FROM read_csv('{http_url}/secret.csv')",
        f"SELECT * FROM '{http_url}/secret.csv'",
        f"SELECT * FROM read_text('{http_url}/secret.csv')",
    ):
        assert f'the URL "{http_url}/secret.csv"' in _refused(db, sql)
    assert _Recorder.hits == []  # DuckDB never even connected


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SET enable_external_access = true", "SET statement `SET enable_external_access"),
        ("RESET enable_external_access", "RESET statement"),
        ("INSTALL httpfs", "INSTALL statement `INSTALL httpfs`"),
        ("LOAD httpfs", "LOAD statement `LOAD httpfs`"),
        ("ATTACH '{file}.duckdb' AS other", "ATTACH statement"),
        ("COPY cases TO '{file}.out.csv'", "COPY statement"),
        ("EXPORT DATABASE '{file}.dir'", "EXPORT statement"),
        ("PRAGMA enable_profiling", "PRAGMA statement"),
        ("CALL pragma_version()", "CALL statement"),
        ("UPDATE EXTENSIONS", "UPDATE statement"),
        ("CREATE SECRET s (TYPE s3)", "CREATE statement"),
        ("SELECT 1; SET threads = 1", "SET statement"),
    ],
)
def test_statements_that_reach_outside_are_refused(
    db: Path, secret_file: Path, sql: str, named: str
) -> None:
    sql = sql.format(file=secret_file)
    assert named in _refused(db, sql)
    leftovers = [p.name for p in secret_file.parent.iterdir() if p.name != secret_file.name]
    assert leftovers == []  # nothing written beside the secret


def test_the_sandbox_holds_even_past_the_statement_check(db: Path, secret_file: Path) -> None:
    # The statement check is only the friendly layer: the connection itself refuses.
    with reading(db) as con:
        settings = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN ("
                + ", ".join(f"'{name}'" for name in SANDBOX)
                + ")"
            ).fetchall()
        )
        assert settings == {
            "enable_external_access": "false",
            "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false",
            "temp_directory": "",
            "lock_configuration": "true",
        }
        for statement in (
            "SET enable_external_access = true",
            "SET lock_configuration = false",
            "SET allowed_directories = ['/']",
        ):
            with pytest.raises(duckdb.Error, match="configuration has been locked"):
                con.execute(statement)
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"COPY (SELECT 1) TO '{secret_file}.copy.csv'")
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"ATTACH '{secret_file}.other.duckdb' AS other")
        with pytest.raises(duckdb.Error):
            con.execute("LOAD httpfs")
        # The warehouse itself still answers.
        assert con.execute("SELECT count(*) FROM cases").fetchone() == (2,)
    assert not Path(f"{secret_file}.copy.csv").exists()


@pytest.mark.process
def test_cli_refusals_are_one_line(db: Path, secret_file: Path, http_url: str) -> None:
    _Recorder.hits.clear()
    for sql, named in (
        (f"SELECT * FROM read_csv('{secret_file}')", f'the file "{secret_file}"'),
        (f"SELECT * FROM read_csv('{http_url}/x.csv')", f'the URL "{http_url}/x.csv"'),
        ("SET enable_external_access=true", "SET statement"),
    ):
        result = latinno("query", sql, "--db", str(db))
        assert result.returncode == 1
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("latinno: error: refused: "), lines
        assert named in lines[0]
        assert SECRET not in result.stderr
    assert _Recorder.hits == []


def test_export_and_status_connections_are_sandboxed(db: Path, secret_file: Path) -> None:
    # export and status read through warehouse.db.reading as query does.
    with reading(db) as con, pytest.raises(duckdb.PermissionException):
        con.execute(f"SELECT * FROM read_csv('{secret_file}')")


# --- bounds ---------------------------------------------------------------------------------


def test_a_long_query_is_interrupted_after_the_timeout(db: Path) -> None:
    endless = "SELECT sum(hash(i)) FROM range(100000000000) t(i)"
    with reading(db) as con:
        with pytest.raises(QueryTimeoutError) as caught:
            run_query(con, endless, timeout_s=0.5)
        assert "query.timeout_s" in str(caught.value) and "0.5s" in str(caught.value)
        # The connection still answers afterwards.
        assert run_query(con, "SELECT 42 AS n", timeout_s=5).rows == [(42,)]


@pytest.mark.process
def test_cli_timeout_comes_from_config(db: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("query:\n  timeout_s: 1\n", encoding="utf-8")
    result = latinno(
        "query", "SELECT sum(hash(i)) FROM range(100000000000) t(i)",
        "--db", str(db), "--config", str(config),
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "latinno: error: query interrupted after 1s (query.timeout_s); narrow it (WHERE, LIMIT) "
        "or raise query.timeout_s in config.yaml"
    )


def test_rows_are_limited_and_the_cut_is_said(db: Path) -> None:
    with reading(db) as con:
        cut = run_query(con, "SELECT * FROM range(2500) t(i)", limit=1000)
        assert len(cut.rows) == 1000 and cut.truncated and cut.rows[-1] == (999,)
        whole = run_query(con, "SELECT * FROM range(1000) t(i)", limit=1000)
        assert len(whole.rows) == 1000 and not whole.truncated
        assert len(run_query(con, "SELECT * FROM range(2500) t(i)").rows) == 2500


@pytest.mark.process
def test_cli_limits_tables_only_by_default(db: Path) -> None:
    sql = "SELECT i FROM range(1200) t(i)"
    table = latinno("query", sql, "--db", str(db))
    assert table.returncode == 0
    assert "│ 999 " in table.stdout and "│ 1000 " not in table.stdout
    assert "printed the first 1,000 rows; there are more" in table.stderr
    as_csv = latinno("query", sql, "--format", "csv", "--db", str(db))
    assert as_csv.stdout.splitlines()[-1] == "1199" and as_csv.stderr == ""
    limited = latinno("query", sql, "--format", "json", "--limit", "3", "--db", str(db))
    assert limited.stdout.count('"i"') == 3
    assert "printed the first 3 rows" in limited.stderr
    everything = latinno("query", sql, "--limit", "0", "--db", str(db))
    assert "│ 1199 " in everything.stdout and everything.stderr == ""


# --- errors keep DuckDB's hints -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "hint"),
    [
        ("SELECT * FROM casez", 'Did you mean "cases"?'),
        ("SELECT titel FROM cases", 'Candidate bindings: "title"'),
    ],
)
def test_query_errors_keep_duckdbs_hints(db: Path, sql: str, hint: str) -> None:
    with reading(db) as con, pytest.raises(WarehouseError) as caught:
        run_query(con, sql)
    message = str(caught.value)
    assert message.startswith("query failed: ") and hint in message
    assert "\n" not in message and "LINE 1" not in message


@pytest.mark.process
def test_cli_error_keeps_the_hint_on_one_line(db: Path) -> None:
    result = latinno("query", "SELECT * FROM case_meens", "--db", str(db))
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert 'Did you mean "case_means"?' in line


# --- issue 24, 13: memory, streaming, EXPLAIN ANALYZE, the temporary folder -----------------------


@pytest.mark.parametrize(
    "sql",
    [
        "EXPLAIN ANALYZE CREATE TEMP TABLE t AS SELECT 1",
        "EXPLAIN ANALYZE CREATE TEMP MACRO m(a) AS a",
        "explain analyse create temp table t as select 1",
        "EXPLAIN (ANALYZE) CREATE TEMP TABLE t AS SELECT 1",
    ],
)
def test_explain_analyze_of_a_statement_that_writes_is_refused(db: Path, sql: str) -> None:
    assert "`latinno query` only reads" in _refused(db, sql)


def test_explain_of_a_read_still_runs(db: Path) -> None:
    with reading(db) as con:
        assert run_query(con, "EXPLAIN ANALYZE SELECT count(*) FROM cases").rows
        assert run_query(con, "EXPLAIN SELECT 1").rows


def test_files_in_the_warehouse_temporary_folder_are_not_readable(db: Path) -> None:
    spill = db.with_name(db.name + ".tmp")
    spill.mkdir(exist_ok=True)
    (spill / "left.csv").write_text(f"a\n{SECRET}\n", encoding="utf-8")
    message = _refused(db, f"SELECT * FROM read_csv('{spill}/left.csv')")
    assert "the file" in message


def test_a_query_past_its_memory_limit_fails_in_one_line(db: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("query:\n  memory_limit: 64MB\n  timeout_s: 60\n", encoding="utf-8")
    hungry = "SELECT list(i) FROM range(100000000) t(i)"  # ~800 MB in one list
    result = latinno("query", hungry, "--db", str(db), "--config", str(config), "--format", "csv")
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("latinno: error: query failed: Out of Memory Error"), line


def printed(show: Callable[[], None]) -> bytes:
    """The bytes ``show`` writes to stdout, as text or to its binary buffer (CSV)."""
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    with contextlib.redirect_stdout(text):
        show()
        text.flush()
    return raw.getvalue()


def test_csv_and_json_output_is_streamed_the_same_text(db: Path) -> None:
    from latinno.cli.warehouse import _print_result, _Stream

    sql = "SELECT i, 'x' || i AS s, i % 2 = 0 AS even FROM range(25000) t(i)"
    for fmt in ("csv", "json"):
        streamed = subprocess.run(
            [sys.executable, "-m", "latinno.cli", "query", sql, "--format", fmt, "--db", str(db)],
            capture_output=True, cwd=ROOT, timeout=60,
        )  # fmt: skip
        assert streamed.returncode == 0, streamed.stderr
        with reading(db) as con:
            whole = run_query(con, sql)
        expected = printed(partial(_print_result, whole.columns, whole.rows, fmt))
        assert streamed.stdout == expected, fmt
        # ... fetched in chunks, never all at once.
        chunks: list[int] = []

        def sink(
            _columns: list[str], rows: list[tuple[object, ...]], into: list[int] = chunks
        ) -> None:
            into.append(len(rows))

        with reading(db) as con:
            run_query(con, sql, sink=sink)
        assert max(chunks) < 25000 and sum(chunks) == 25000

        def stream_nothing(fmt: str = fmt) -> None:
            stream = _Stream(fmt)
            stream(["a"], [])
            stream.close()

        assert printed(stream_nothing) == printed(partial(_print_result, ["a"], [], fmt))
