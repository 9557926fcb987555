"""What changed between releases and since a run, date or release: CHANGES.md, changes.csv and
``latinno changes`` list exactly the cases and fields that were edited, added or removed."""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _flow_support import run_refresh
from _warehouse_support import day, make_record
from test_release_support import FIXTURES, build_warehouse, fixture_records, latinno

from latinno.record import CaseRecord
from latinno.release import write_release
from latinno.release.errors import ReleaseError
from warehouse.db import writing
from warehouse.load import load_records, mark_withdrawn
from warehouse.runs import finish_run, start_run

NEW_ID = 17950
HEADER = ["change", "case_id", "title", "field", "old_value", "new_value"]


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _toggled(record: CaseRecord) -> tuple[str, ...]:
    if "deliberation" in record.means:
        return tuple(m for m in record.means if m != "deliberation")
    return ("deliberation", *record.means)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Release 1, then run r3 edits a title and a list, withdraws a case, adds one; release 2."""
    root = tmp_path_factory.mktemp("changes")
    db = build_warehouse(root / "wh.duckdb")
    out = root / "releases"
    first = write_release(db, out)
    english = {r.case_id: r for r in fixture_records() if r.lang == "en"}
    renamed_id, relisted_id, gone_id = sorted(english)[:3]
    renamed = replace(english[renamed_id], title="A Renamed Council")
    relisted = replace(english[relisted_id], means=_toggled(english[relisted_id]))
    with writing(db) as con:
        start_run(con, "r3", day(2), {"base_url": "https://latinno.net"})
        load_records(
            con,
            [renamed, relisted, make_record(NEW_ID, title="Brand-new council")],
            run_id="r3",
            seen_at=day(2),
            primary_lang="en",
        )
        mark_withdrawn(con, [gone_id], day(2), run_id="r3")
        finish_run(con, "r3", day(2) + timedelta(minutes=5), {"changed": 2})
    second = write_release(db, out)
    old_means = json.dumps(list(english[relisted_id].means), separators=(",", ":"))
    new_means = json.dumps([m for m in _sorted_means(relisted.means)], separators=(",", ":"))
    expected = {
        ("added", str(NEW_ID), "Brand-new council", "", "", ""),
        ("withdrawn", str(gone_id), english[gone_id].title, "status", "active", "withdrawn"),
        (
            "changed",
            str(renamed_id),
            "A Renamed Council",
            "title",
            english[renamed_id].title,
            "A Renamed Council",
        ),
        ("changed", str(relisted_id), english[relisted_id].title, "means", old_means, new_means),
    }
    return {"db": db, "out": out, "first": first, "second": second, "expected": expected}


def _sorted_means(means: tuple[str, ...]) -> list[str]:
    from latinno.vocabulary import codes_for

    return [code for code in codes_for("means") if code in means]


def test_release_lists_exactly_the_changed_cases_and_fields(history: dict[str, Any]) -> None:
    first, second = history["first"], history["second"]
    assert (second.previous, second.version) == (first.version, "2026-03-04")
    assert second.counts is not None
    assert (second.counts.added, second.counts.withdrawn, second.counts.changed) == (1, 1, 2)
    text = (second.path / "changes.csv").read_text(encoding="utf-8")
    rows = _csv_rows(text)
    assert rows[0] == HEADER
    assert {tuple(r) for r in rows[1:]} == history["expected"]
    assert len(rows) - 1 == len(history["expected"])
    md = (second.path / "CHANGES.md").read_text(encoding="utf-8")
    assert md.startswith(f"# Changes in LATINNO release {second.version}\n")
    assert f"Compared with release {first.version}" in md
    counts = md.index("- 1 added\n- 1 withdrawn\n- 2 changed (2 fields)\n")
    assert counts < md.index("## Added (1)") < md.index("## Withdrawn (1)") < md.index("## Changed")
    for row in history["expected"]:
        assert f"\n- {row[1]} " in md or f"\n### {row[1]} " in md
    renamed = next(r for r in history["expected"] if r[3] == "title")
    assert f'- title: "{renamed[4]}" → "A Renamed Council"' in md
    assert f"- means: {next(r for r in history['expected'] if r[3] == 'means')[4]} → " in md


@pytest.mark.process
def test_changes_command_agrees_with_the_release(history: dict[str, Any]) -> None:
    release_rows = _csv_rows((history["second"].path / "changes.csv").read_text(encoding="utf-8"))
    db, out = str(history["db"]), str(history["out"])
    for since in (
        ["--since", history["first"].version],
        ["--since", "r2"],
        ["--since", "2026-03-04T00:00:00Z"],
        [],
    ):
        done = latinno("changes", "--db", db, "--releases", out, "--format", "csv", *since)
        assert done.returncode == 0, done.stderr
        assert done.stderr.strip() == "NO_PREFECT"
        assert _csv_rows(done.stdout) == release_rows, since
    # A release named like a date is the release: nothing changed since release 2 itself.
    done = latinno("changes", "--db", db, "--releases", out, "--since", history["second"].version)
    assert done.stdout.startswith(f"Since release {history['second'].version} (data")
    assert "0 cases added, 0 cases withdrawn, 0 cases changed" in done.stdout
    # Since the first run there is only the second run's withdrawal on top of every case.
    done = latinno("changes", "--db", db, "--since", "r1", "--format", "json")
    data = json.loads(done.stdout)
    assert data["counts"]["withdrawn"] == 2 and data["counts"]["added"] == 1
    done = latinno("changes", "--db", db)
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        "Since the previous run r2 (2026-03-03 03:05:00 UTC)",
        "Until the data of 2026-03-04 03:05:00 UTC",
        "1 case added, 1 case withdrawn, 2 cases changed (2 fields).",
    ]
    assert all(len(line) <= 80 for line in lines), lines
    assert any(str(NEW_ID) in line and "Brand-new council" in line for line in lines)


@pytest.mark.process
def test_unknown_since_and_a_hand_edited_release_are_one_line(
    history: dict[str, Any], tmp_path: Path
) -> None:
    db = str(history["db"])
    done = latinno("changes", "--db", db, "--since", "no-such-run", "--releases", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.startswith("latinno: error: --since 'no-such-run': no release")
    assert done.stderr.count("\n") == 2  # the error and NO_PREFECT
    copy = tmp_path / "releases"
    shutil.copytree(history["out"], copy)
    edited = copy / history["first"].version / "parquet" / "case_history.parquet"
    edited.write_bytes(edited.read_bytes() + b"\0")
    done = latinno(
        "changes", "--db", db, "--since", history["first"].version, "--releases", str(copy)
    )
    assert done.returncode == 1
    assert "parquet/case_history.parquet does not match SHA256SUMS" in done.stderr
    with pytest.raises(ReleaseError, match="does not match SHA256SUMS"):
        # A new release is compared with the newest earlier one: the edited one is refused.
        shutil.rmtree(copy / history["second"].version)
        write_release(history["db"], copy)
    assert sorted(p.name for p in copy.iterdir()) == [history["first"].version]


@pytest.mark.slow
def test_refresh_with_edits_and_removals_gives_exactly_those_changes(tmp_path: Path) -> None:
    """Two refreshes against our site server: the second release lists the edits, no more."""
    from latinno.sitemodel.server import run_server_in_thread

    site = tmp_path / "site"
    shutil.copytree(FIXTURES, site, ignore=shutil.ignore_patterns("_edge"))
    db, out = tmp_path / "wh.duckdb", tmp_path / "releases"
    with run_server_in_thread(site, sitemap=True) as server:
        summary = run_refresh(base_url=server.base_url, db=str(db))
    assert summary["counts"].get("failed", 0) == 0
    first = write_release(db, out)

    expected = {}
    for path in sorted((site / "en" / "case").glob("*/expected.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        expected[record["case_id"]] = record
    # A case whose title is on its page as UTF-8 text but not in its description: renaming it
    # there edits one field.
    edited_id = next(
        i
        for i, r in sorted(expected.items())
        if r["title"] not in (r["description"] or "")
        and r["title"].encode() in (site / "en" / "case" / str(i) / "index.html").read_bytes()
    )
    removed_id = next(i for i in sorted(expected) if i != edited_id)
    page = site / "en" / "case" / str(edited_id) / "index.html"
    old_title = expected[edited_id]["title"]
    page.write_bytes(page.read_bytes().replace(old_title.encode(), b"A Renamed Council"))
    shutil.rmtree(site / "en" / "case" / str(removed_id))
    with run_server_in_thread(site, sitemap=True) as server:
        summary = run_refresh(base_url=server.base_url, db=str(db))
    assert (summary["counts"]["changed"], summary["counts"]["withdrawn"]) == (1, 1)

    second = write_release(db, out)
    assert second.previous == first.version and second.version != first.version
    rows = _csv_rows((second.path / "changes.csv").read_text(encoding="utf-8"))
    assert {tuple(r) for r in rows[1:]} == {
        ("changed", str(edited_id), "A Renamed Council", "title", old_title, "A Renamed Council"),
        (
            "withdrawn",
            str(removed_id),
            expected[removed_id]["title"],
            "status",
            "active",
            "withdrawn",
        ),
    }
    md = (second.path / "CHANGES.md").read_text(encoding="utf-8")
    assert "- 0 added\n- 1 withdrawn\n- 1 changed (1 field)\n" in md
    assert f'- title: "{old_title}" → "A Renamed Council"' in md
    # What the latest run changed, by default, is the same.
    done = latinno("changes", "--db", str(db), "--format", "csv")
    assert _csv_rows(done.stdout) == rows


def test_the_table_shows_whole_old_and_new_values_wrapped() -> None:
    from latinno.release.changes import ChangeReport, render
    from latinno.release.states import Change

    prefix = "Participatory budgeting of the municipality of Rosario, Santa Fe, with "
    old, new = prefix + "neighbourhood assemblies", prefix + "district councils since 2002"
    report = ChangeReport("the previous run r1", "2026-03-04", [
        Change("changed", 1003, "Rosario", "description", old, new),
        Change("changed", 1152, "Hackathon", "means", '["e_participation"]',
               '["deliberation","e_participation"]'),
    ])  # fmt: skip
    text = render(report, "table", 80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert "…" not in text
    # Each value is there whole, read back column by column across its wrapped lines.
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("case"))
    header = lines[start]
    old_at, new_at = header.index("old"), header.index("new")
    body = lines[start + 1 :]
    olds = "".join(line[old_at:new_at].strip() for line in body)
    news = "".join(line[new_at:].strip() for line in body)
    assert old.replace(" ", "") in olds.replace(" ", "")
    assert new.replace(" ", "") in news.replace(" ", "")
    assert '["deliberation","e_participation"]' in news.replace(" ", "")
