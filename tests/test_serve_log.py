"""The lines ``latinno serve`` prints per scheduled run (latinno/cli/serve_log.py); the whole
thing, with a real Prefect server and a scheduled run, is in tests/test_serve.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from _warehouse_support import day

from latinno.cli.serve_log import finished_line, run_row, started_line
from warehouse.db import writing
from warehouse.runs import finish_run, start_run

AT = datetime(2026, 3, 9, 3, 0, 2, tzinfo=UTC)


def test_a_line_when_a_run_starts_and_one_with_its_counts_when_it_ends(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with writing(db) as con:
        start_run(con, "old", day(0), {})
        finish_run(con, "old", day(0), {"new": 60})
        start_run(con, "r9", AT.replace(tzinfo=None), {})
        counts = {"new": 1, "changed": 2, "withdrawn": 3, "failed": 4, "duration_s": 301.4}
        finish_run(con, "r9", AT.replace(tzinfo=None) + timedelta(minutes=5), counts)
    assert (
        started_line("gentle-fox", AT)
        == "2026-03-09 03:00:02 UTC  scheduled run gentle-fox started"
    )
    row = run_row(db, 5, AT)
    assert row is not None and row["run_id"] == "r9"  # the run of this flow run, not an older one
    assert finished_line("gentle-fox", AT + timedelta(minutes=5), "Completed", row) == (
        "2026-03-09 03:05:02 UTC  scheduled run gentle-fox finished: completed; run r9: "
        "1 new, 2 changed, 3 withdrawn, 4 failed in 301 s"
    )


def test_a_run_that_did_not_complete_says_how_and_why(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with writing(db) as con:
        start_run(con, "r1", AT.replace(tzinfo=None), {})
        why = "held: means lost on 812 of 830 cases (97.8%); nothing applied"
        finish_run(con, "r1", AT.replace(tzinfo=None), {}, status="held", reason=why)
    line = finished_line("calm-owl", AT, "Failed", run_row(db, 5, AT))
    assert line.startswith(
        "2026-03-09 03:00:02 UTC  scheduled run calm-owl finished: failed (held)"
    )
    assert line.endswith("; held: means lost on 812 of 830 cases (97.8%); nothing applied")
    assert run_row(db, 5, AT + timedelta(hours=1)) is None  # no row of that run
    assert finished_line("calm-owl", AT, "Crashed", None).endswith(
        "finished: crashed (no run recorded in the warehouse)"
    )
