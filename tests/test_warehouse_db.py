"""A long-running reader no longer fails a refresh midway (issue 13, part 5), and every lock
message is one line naming the file, the holder and the setting (real processes, real files)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from latinno.errors import CorruptWarehouseError, DatabaseLockedError
from warehouse.db import connect, load_memory_limit, writing
from warehouse.holders import lock_holder, locking_pid

ROOT = Path(__file__).resolve().parents[1]
HOLD_S = 3.0
LOCK_TIMEOUT_S = 0.5

# A reader run as our console script runs (python …/bin/latinno query …): it opens the
# warehouse read-only, says so, keeps it open for argv[-1] seconds, then exits.
READER = """
import sys, time
from pathlib import Path
from warehouse.db import connect
con = connect(Path(sys.argv[3]), read_only=True)
con.execute("SELECT count(*) FROM cases").fetchall()
print("ready", flush=True)
time.sleep(float(sys.argv[-1]))
con.close()
"""


def _reader(db: Path, tmp_path: Path, hold_s: float) -> subprocess.Popen[str]:
    script = tmp_path / "bin" / "latinno"
    script.parent.mkdir(exist_ok=True)
    script.write_text(READER, encoding="utf-8")
    reader = subprocess.Popen(
        [sys.executable, str(script), "query", "--db", db.name, "--hold", str(hold_s)],
        stdout=subprocess.PIPE, text=True, cwd=db.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
    return reader


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "wh.duckdb"
    connect(path).close()
    return path


@pytest.mark.process
def test_a_patient_writer_outwaits_a_long_reader_and_names_it(db: Path, tmp_path: Path) -> None:
    reader = _reader(db, tmp_path, HOLD_S)
    held_since = time.monotonic()
    holder = f"`latinno query --db {db.name} --hold {HOLD_S}` (PID {reader.pid})"
    try:
        # Without patience the writer gives up after lock_timeout_s, as before ...
        with pytest.raises(DatabaseLockedError) as caught, writing(db, LOCK_TIMEOUT_S):
            pass
        assert caught.value.holder == holder
        # ... with it, it waits past lock_timeout_s until the reader is done, saying for whom.
        lines: list[str] = []
        with writing(
            db, LOCK_TIMEOUT_S, patient=True, on_wait=lines.append, wait_note_s=0.5
        ) as con:
            waited = time.monotonic() - held_since
            con.execute("CREATE TABLE written_after_the_reader AS SELECT 1 AS x")
        assert reader.poll() is not None  # it got the file only once the reader had closed it
    finally:
        reader.wait(timeout=30)
    assert waited >= HOLD_S - 0.5 > LOCK_TIMEOUT_S
    assert len(lines) >= 3  # one every wait_note_s (0.5 s) over the ~2 s left of the hold
    for line in lines:
        assert "\n" not in line
        assert line.startswith(f"{db}: waiting for {holder} to close the warehouse (")
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT x FROM written_after_the_reader").fetchall() == [(1,)]


def test_a_patient_writer_says_nothing_when_it_does_not_wait(db: Path) -> None:
    lines: list[str] = []
    with writing(db, LOCK_TIMEOUT_S, patient=True, on_wait=lines.append, wait_note_s=0.0):
        pass
    assert lines == []


def test_a_patient_writer_does_not_wait_on_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "not.duckdb"
    path.write_text("case_id,title\n1,x\n", encoding="utf-8")

    def refuse(line: str) -> None:  # a patient open that waits says so at once: fail there
        raise AssertionError(f"waited on a damaged file: {line}")

    with (
        pytest.raises(CorruptWarehouseError),
        writing(path, 0.5, patient=True, on_wait=refuse, wait_note_s=0.0),
    ):
        pass


@pytest.mark.process
def test_the_lock_message_drops_duckdbs_cli_advice(db: Path, tmp_path: Path) -> None:
    reader = _reader(db, tmp_path, 60.0)
    try:
        with pytest.raises(duckdb.IOException) as raw:
            duckdb.connect(str(db))
        with pytest.raises(DatabaseLockedError) as caught, writing(db, LOCK_TIMEOUT_S):
            pass
        # Where DuckDB names nobody, the kernel's lock table still does.
        assert locking_pid(db) == reader.pid
    finally:
        reader.kill()
        reader.wait(timeout=30)
    # What DuckDB says about a reader (advice for its own CLI), and what we make of it.
    assert "-readonly parameter in the CLI" in str(raw.value)
    holder = lock_holder(str(raw.value))
    assert holder is not None and holder.endswith(
        f"python{sys.version_info[0]}.{sys.version_info[1]} (PID {reader.pid})"
    )
    message = str(caught.value)
    assert "\n" not in message and "-readonly" not in message and "See also" not in message
    assert message.startswith(f"{db}: database is locked by `latinno query --db {db.name} ")
    assert f"(PID {reader.pid}); waited " in message
    assert "(warehouse.lock_timeout_s)" in message and "raise warehouse.lock_timeout_s" in message


def test_a_load_connection_is_bounded_and_the_bound_grows_with_the_batch(tmp_path: Path) -> None:
    """Memory (issue 20): DuckDB holds at most the load's bound, never 80% of the machine; a
    batch's own uncommitted rows must fit, so a bigger batch gets more."""
    assert load_memory_limit(1) == load_memory_limit(400) == "64MB"
    assert load_memory_limit(2000) == "188MB"
    with writing(tmp_path / "w.duckdb", 10, memory_limit=load_memory_limit(400)) as con:
        (limit,) = con.execute("SELECT current_setting('memory_limit')").fetchone()  # type: ignore[misc]
    assert limit in ("61.0 MiB", "64.0 MiB", "64.0 MB"), limit
