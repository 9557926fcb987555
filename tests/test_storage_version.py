"""The warehouse opens in DuckDB 1.x (issue 22, part 3): new files are written in the storage
format of DuckDB 1.3, a file an earlier pipeline wrote in DuckDB 2's format keeps working and
says how to convert it, and a refreshed warehouse opens in an older DuckDB installed on its own."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _venv_support import make_venv, pip_install

from warehouse.db import (
    OLDEST_READER,
    STORAGE_VERSION,
    connect,
    reading,
    storage_note,
    storage_version,
    writing,
)

REPO = Path(__file__).resolve().parent.parent
# DuckDB's storage version numbers in the main header (after the checksum and the magic):
# 64 is read by DuckDB 0.10-1.x, 66 by 1.3 and later, 999 by DuckDB 2 only.
_HEADER_VERSION = 12

# What a DuckDB client sees in the warehouse: every table's and view's rows, and the comments.
INVENTORY = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
found = {"duckdb": duckdb.__version__, "rows": {}}
names = con.execute(
    "SELECT table_name FROM duckdb_tables() UNION ALL "
    "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
).fetchall()
for (name,) in names:
    found["rows"][name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
found["comments"] = con.execute(
    "SELECT count(*) FROM duckdb_columns() WHERE comment IS NOT NULL"
).fetchone()[0]
found["wide"] = con.execute(
    "SELECT case_id, means_deliberation FROM cases_wide ORDER BY case_id, lang LIMIT 3"
).fetchall()
print(json.dumps(found, default=str))
"""


def header_version(path: Path) -> int:
    with path.open("rb") as file:
        return int(struct.unpack_from("<Q", file.read(64), _HEADER_VERSION)[0])


def inventory(python: str, db: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [python, "-c", INVENTORY, str(db)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_a_new_warehouse_is_written_in_the_format_of_duckdb_1_3(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    with writing(db) as con:
        assert storage_version(con) == f"{STORAGE_VERSION}+"
    assert header_version(db) == 66
    with reading(db) as con:
        assert storage_note(db, storage_version(con)) is None


@pytest.mark.process
def test_a_warehouse_in_duckdb_2_format_keeps_working_and_says_how_to_convert(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old.duckdb"
    duckdb.connect(str(old)).close()  # what the pipeline wrote before it set the format
    assert header_version(old) == 999
    with writing(old) as con:  # migrates as before; the file keeps its format
        con.execute("INSERT INTO warehouse_meta VALUES ('probe', 'kept')")
        con.commit()
    proc = subprocess.run(
        [sys.executable, "-m", "latinno.cli", "status", "--db", str(old)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "COLUMNS": "1000"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    notes = [line for line in proc.stdout.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "DuckDB v2.0.0+ storage" in notes[0], proc.stdout
    # The recipe the line gives converts the file.
    recipe = re.search(r"run in DuckDB 2: (.*?); then replace", notes[0])
    assert recipe is not None
    con = duckdb.connect()
    for statement in recipe.group(1).split("; "):
        con.execute(statement)
    con.close()
    converted = Path(f"{old}.new")
    assert header_version(converted) == 66
    with reading(converted) as con:
        assert storage_note(converted, storage_version(con)) is None
        assert con.execute("SELECT value FROM warehouse_meta WHERE key = 'probe'").fetchall() == [
            ("kept",)
        ]


@pytest.fixture(scope="module")
def refreshed(refreshed_site: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse after a real refresh of the fixture site, in all three languages (a copy of
    the session's, conftest.py)."""
    summary = refreshed_site["summary"]
    assert summary["counts"].get("failed", 0) == 0 and summary["counts"]["new"] > 0, summary
    db = tmp_path_factory.mktemp("db") / "w.duckdb"
    shutil.copy2(refreshed_site["db"], db)
    connect(db).close()  # as every later open leaves it: checkpointed
    return db


@pytest.mark.slow
@pytest.mark.timeout(900)  # a refresh, then a virtualenv and a DuckDB from the package index
@pytest.mark.parametrize("release", [OLDEST_READER, "1.4"])
def test_a_refreshed_warehouse_opens_in_duckdb_1x(
    release: str, refreshed: Path, tmp_path: Path
) -> None:
    python = make_venv(tmp_path / "venv")
    pip_install(python, f"duckdb=={release}.*")
    old = inventory(str(python), refreshed)
    assert old["duckdb"].startswith(f"{release}.")
    ours = inventory(sys.executable, refreshed)
    assert old["rows"]["cases"] > 0 and old["comments"] > 0
    assert {k: v for k, v in old.items() if k != "duckdb"} == {
        k: v for k, v in ours.items() if k != "duckdb"
    }
