"""A release after a refresh that changed nothing is the release already there (issue 21.7).

Same data, same release: the time a page was last seen moves with every refresh, and a release
neither holds it nor counts it as a change, whether the refresh ran the same day or later.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _warehouse_support import day
from test_release_support import GONE_ID, build_warehouse, edge_records, fixture_records, run

from latinno.release import write_release
from latinno.release.folders import read_files


def _mtimes(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_a_later_no_change_run_makes_no_new_release(tmp_path: Path) -> None:
    db = build_warehouse(tmp_path / "wh.duckdb")
    out = tmp_path / "releases"
    first = write_release(db, out)
    before = _mtimes(out)
    # Days later, a run sees every case still on the site again, and nothing changed.
    seen = [r for r in fixture_records() + edge_records() if r.case_id != GONE_ID]
    run(db, "r3", day(5), seen)
    again = write_release(db, out)
    assert (again.written, again.path, again.version) == (False, first.path, first.version)
    assert _mtimes(out) == before  # no folder, no file touched
    assert [p.name for p in out.iterdir()] == [first.version]
    wide = pq.read_table(first.path / "parquet" / "cases_wide.parquet")
    assert "last_seen_at" not in wide.column_names
    assert "first_seen_at" in wide.column_names and "last_changed_at" in wide.column_names


def test_a_real_change_after_it_still_makes_a_release(tmp_path: Path) -> None:
    from _warehouse_support import make_record

    db = build_warehouse(tmp_path / "wh.duckdb")
    out = tmp_path / "releases"
    first = write_release(db, out)
    run(db, "r3", day(5), [make_record(17950, title="Brand-new council")])
    second = write_release(db, out)
    assert second.written and second.version != first.version
    assert second.previous == first.version and second.counts is not None
    assert second.counts.added == 1


@pytest.mark.slow
def test_a_release_after_a_real_no_change_refresh_is_a_no_op(tmp_path: Path) -> None:
    from _flow_support import run_refresh

    from latinno.sitemodel.server import run_server_in_thread

    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "html"
    db, out = tmp_path / "wh.duckdb", tmp_path / "releases"
    with run_server_in_thread(fixtures, sitemap=True) as server:
        run_refresh(base_url=server.base_url, db=str(db))
        first = write_release(db, out)
        files = read_files(first.path)
        summary = run_refresh(base_url=server.base_url, db=str(db))
    counts = summary["counts"]
    assert counts.get("changed", 0) == 0 and counts.get("new", 0) == 0, counts
    again = write_release(db, out)
    assert (again.written, again.path) == (False, first.path)
    assert read_files(first.path) == files
    assert sorted(p.name for p in out.iterdir()) == [first.version]
    with open(first.path / "csv" / "case_texts.csv", encoding="utf-8", newline="") as handle:
        assert "last_seen_at" not in next(csv.reader(handle))
