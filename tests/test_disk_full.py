"""A full disk during a load is one line naming the file and the cause (issue 24, 11), on a real
small filesystem (a tmpfs mounted for the test; skipped where mounting is not allowed)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from _warehouse_support import day, make_record

from latinno.errors import WarehouseError
from warehouse.db import connect, writing
from warehouse.load import load_records


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        # Lazily: a DuckDB connection the failed write's traceback still holds keeps it busy.
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_during_a_load_is_one_line_and_keeps_what_was_there(small_disk: Path) -> None:
    db = small_disk / "w.duckdb"
    connect(db).close()
    loaded = 0
    with pytest.raises(WarehouseError) as caught:
        for batch in range(100):
            first = 1000 + 50 * batch
            records = [make_record(first + i, description="x" * 2000) for i in range(50)]
            with writing(db, 5) as con:
                load_records(con, records, run_id="r", seen_at=day(0), primary_lang="en")
            loaded += len(records)
    message = str(caught.value)
    assert message.startswith(f"{db}: no space left on device;"), message
    assert "\n" not in message and "rollback" not in message
    assert loaded > 0
    # Space freed (here: the filesystem grown), the warehouse holds exactly the batches before.
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM cases").fetchone() == (loaded,)
