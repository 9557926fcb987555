"""A run's id is made in one place (latinno.clock.run_id), by the run clock: with
``LATINNO_NOW`` set, the id and the start of a refresh (tests/test_trust.py) and of a reparse
(below) are that moment, as the revisit policy, which reads the latest start, expects."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from flows.reparse import reparse_archive
from latinno import clock
from latinno.config import Settings, override
from warehouse.db import writing

NOW = "2027-03-01T12:30:00+01:00"


def test_a_run_id_is_its_start_by_the_run_clock_and_a_random_tail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(clock.ENV_NOW, NOW)
    ids = {clock.run_id() for _ in range(20)}
    assert len(ids) == 20  # two runs in one second stay apart
    assert all(re.fullmatch(r"20270301T113000Z-[0-9a-f]{6}", i) for i in ids)
    assert re.fullmatch(r"20270301T113000Z-reparse-[0-9a-f]{6}", clock.run_id("reparse"))
    berlin = datetime(2026, 3, 2, 4, 0, 59, tzinfo=timezone(timedelta(hours=1)))
    assert clock.run_id(started=berlin).startswith("20260302T030059Z-")


def test_a_reparse_starts_by_the_run_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "w.duckdb"
    with writing(db, 10):
        pass  # an empty warehouse: nothing archived, a reparse of nothing
    settings = override(Settings(), {"warehouse": {"path": str(db)}}, "test")
    monkeypatch.setenv(clock.ENV_NOW, NOW)
    counts, failures = reparse_archive(settings)
    assert (counts.parsed, failures) == (0, [])
    with duckdb.connect(str(db), read_only=True) as con:
        (run_id, started, status), *_ = con.execute(
            "SELECT run_id, started_at, status FROM runs"
        ).fetchall()
    assert run_id.startswith("20270301T113000Z-reparse-") and status == "completed"
    assert started.replace(tzinfo=UTC) == datetime(2027, 3, 1, 11, 30, tzinfo=UTC)


def test_a_refresh_records_the_start_its_id_was_made_from(tmp_path: Path) -> None:
    """The refresh reads the clock once: ``plan_run`` records the moment it is given, not a
    second reading (with the real clock, two readings straddle a second now and then, and the
    id would then name another second than the recorded start)."""
    from flows.tasks import plan_run

    db = tmp_path / "w.duckdb"
    started = datetime(2026, 3, 2, 3, 0, 59, 999_999, tzinfo=UTC)
    run_id = clock.run_id(started=started)
    known = plan_run.fn(str(db), 10, run_id, started, {}, False)  # the work, not a task run
    assert known.previous_start is None  # the first run on this warehouse
    with duckdb.connect(str(db), read_only=True) as con:
        ((recorded,),) = con.execute(
            "SELECT started_at FROM runs WHERE run_id = ?", [run_id]
        ).fetchall()
    assert recorded.replace(tzinfo=UTC) == started
    assert run_id.startswith(f"{recorded:%Y%m%dT%H%M%S}Z-")
