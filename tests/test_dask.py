"""The refresh on Dask (issue 8, part 5): a real distributed LocalCluster on loopback parses
the batches; the warehouse must be exactly the one the local process pool gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from _flow_support import quiet_cli_env, run_refresh

from latinno.sitemodel.server import run_server_in_thread

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"

# What a run writes besides the data: its clock and its id.
VOLATILE = {"first_seen_at", "last_seen_at", "last_changed_at", "valid_from", "valid_to"}
VOLATILE |= {"run_id", "fetched_at", "first_fetched_at", "headers"}  # headers: Date
TABLES = (
    "cases",
    "case_texts",
    "case_sources",
    "case_means",
    "case_ends",
    "case_policy_cycle",
    "case_participant_types",
    "case_history",
    "parse_issues",
    "pages",
)


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted, without the columns that carry a run's time or id."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for table in TABLES:
            columns = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                    "ORDER BY column_index",
                    [table],
                ).fetchall()
                if r[0] not in VOLATILE
            ]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            out[table] = sorted(rows, key=repr)
    return out


def test_a_refresh_on_a_dask_cluster_gives_the_same_warehouse(tmp_path: Path) -> None:
    dbs = {engine: tmp_path / f"{engine}.duckdb" for engine in ("local", "dask")}
    with run_server_in_thread(FIXTURES, sitemap=True) as server:
        for engine, db in dbs.items():
            summary = run_refresh(
                base_url=server.base_url,
                db=str(db),
                languages=["en", "es", "pt"],
                overrides={"runner": {"engine": engine, "parse_workers": 2, "batch_size": 40}},
            )
            assert summary["counts"].get("failed", 0) == 0, (engine, summary["failed_urls"])
    local, dask = snapshot(dbs["local"]), snapshot(dbs["dask"])
    assert local["cases"], "nothing loaded"
    for table in TABLES:
        assert dask[table] == local[table], table


def test_a_wrong_scheduler_address_fails_in_one_line_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    address = "tcp://127.0.0.1:9"
    config.write_text(yaml.safe_dump({"runner": {"engine": "dask", "dask_address": address}}))
    db = tmp_path / "w.duckdb"
    with run_server_in_thread(FIXTURES, sitemap=True) as server:
        command = ["refresh", "--config", str(config), "--db", str(db)]
        proc = subprocess.run(
            [sys.executable, "-m", "latinno.cli", *command, "--base-url", server.base_url],
            capture_output=True,
            text=True,
            env=quiet_cli_env(tmp_path),
            timeout=240,
        )
        requests = server.stats()["total_requests"]
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and address in lines[0] and "runner.dask_address" in lines[0], lines
    assert requests == 0  # failed before fetching anything
    assert not db.exists()  # nor touched the warehouse
