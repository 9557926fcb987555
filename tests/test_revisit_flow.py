"""The revisit policy end to end (issue 23): real refresh flows over loopback against our site
server, the clock moved a week per run with ``LATINNO_NOW``, requests counted at the server."""

from __future__ import annotations

import json
import shutil
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _flow_support import run_refresh

import flows.refresh as refresh_module
from flows.pipeline import Pipeline, Steps
from flows.revisit import RevisitPlan
from flows.tasks import as_tasks
from latinno.sitemodel.generate import generate_site
from latinno.sitemodel.server import run_server_in_thread
from warehouse.status import status_tables

pytestmark = pytest.mark.slow

SOURCE = {"max_consecutive_misses": 20}


T0 = datetime(2026, 1, 5, 3, tzinfo=UTC)


def _at(monkeypatch: pytest.MonkeyPatch, week: int) -> None:
    moment = T0 + timedelta(weeks=week)
    monkeypatch.setenv("LATINNO_NOW", moment.isoformat())


def _counting(tasks: list[int], pipeline: Pipeline) -> Steps:
    """``flows.tasks.as_tasks``, counting into ``tasks[-1]`` the task runs it starts."""
    steps = as_tasks(pipeline)

    def counted(step: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        def call(*args: Any) -> Awaitable[Any]:
            tasks[-1] += 1
            return step(*args)

        return call

    return Steps(counted(steps.fetch), counted(steps.probe), counted(steps.process))


def _title(db: Path, case_id: int) -> tuple[str, str] | None:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT title, status FROM cases WHERE case_id = ?", [case_id]).fetchone()
    return None if row is None else (row[0], row[1])


def test_weekly_runs_ask_few_pages_and_still_see_every_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "site"
    generate_site(root, total=150, seed=5)
    ids = sorted(int(p.name) for p in (root / "en" / "case").iterdir())
    db = tmp_path / "w.duckdb"
    requests: list[int] = []
    tasks: list[int] = []
    monkeypatch.setattr(refresh_module, "as_tasks", partial(_counting, tasks))

    def run(week: int) -> dict[str, int]:
        _at(monkeypatch, week)
        tasks.append(1)  # plan-run
        with run_server_in_thread(root) as server:
            summary = run_refresh(
                base_url=server.base_url, db=str(db), overrides={"source": SOURCE}
            )
            requests.append(server.stats()["total_requests"])
        counts: dict[str, int] = summary["counts"]
        assert counts.get("failed", 0) == 0
        return counts

    first = run(0)
    assert first["new"] == len(ids)
    quiet = run(1)
    # A week without change: a share of the known pages, not all of them, and far fewer
    # requests than the first run.
    assert 0 < quiet["revalidated"] < len(ids) / 2
    assert requests[1] < requests[0] / 2
    assert quiet["oldest_check_days"] == 7

    # Between weeks 1 and 2: an edit, a case just past the highest serial of prefix 1, and a
    # withdrawn case.
    edited, withdrawn = ids[0], ids[len(ids) // 2]
    page = root / "en" / "case" / str(edited) / "index.html"
    title = json.loads((page.parent / "expected.json").read_text(encoding="utf-8"))["title"]
    text = page.read_text(encoding="utf-8")
    shown = title.replace("'", "&#39;") if title.replace("'", "&#39;") in text else title
    page.write_text(text.replace(shown, "A Renamed Council"), encoding="utf-8")
    highest = max(cid for cid in ids if cid // 1000 == 1)
    shutil.copytree(root / "en" / "case" / str(highest), root / "en" / "case" / str(highest + 1))
    shutil.rmtree(root / "en" / "case" / str(withdrawn))

    found = run(2)
    assert found["new"] == 1 and _title(db, highest + 1) is not None  # within a week
    for week in (3, 4, 5, 6):
        run(week)
    # Within four weeks of the change (weeks 2 to 6): the edit and the withdrawal.
    assert _title(db, edited) == ("A Renamed Council", "active")
    withdrawn_row = _title(db, withdrawn)
    assert withdrawn_row is not None and withdrawn_row[1] == "withdrawn"
    assert max(requests[1:]) < requests[0] / 2
    # `latinno status` shows the oldest check among the pages that are there.
    with duckdb.connect(str(db), read_only=True) as con:
        revisits = next(t for t in status_tables(con) if t.title.startswith("Revisits"))
    oldest = revisits.rows[0][0]
    assert T0 + timedelta(weeks=2) <= oldest.replace(tzinfo=UTC) <= T0 + timedelta(weeks=6)
    # Prefect task runs of a weekly run (plan, probe groups, batches): never one per prefix.
    assert len(tasks) == 7 and max(tasks[1:]) <= 25


def test_with_a_sitemap_a_quiet_week_asks_only_a_safety_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No-change weeks ask robots.txt, the sitemap and a share of pages that makes every page
    asked once a quarter; a page whose lastmod moved is asked the next run."""
    root = tmp_path / "site"
    generate_site(root, total=150, seed=6)
    pages = {f"/en/case/{p.name}/" for p in (root / "en" / "case").iterdir()}
    db = tmp_path / "w.duckdb"
    asked: list[set[str]] = []
    with run_server_in_thread(root, sitemap=True) as server:
        for week in range(14):
            _at(monkeypatch, week)
            server.reset_stats()
            if week == 5:  # an edit: its lastmod moves
                page = root / "en" / "case" / sorted(pages)[3].split("/")[3] / "index.html"
                page.write_text(page.read_text(encoding="utf-8") + "\n", encoding="utf-8")
            run_refresh(base_url=server.base_url, db=str(db))
            stats = server.stats()
            asked.append({p for p in stats["paths"] if p in pages})
            if week:
                assert stats["total_requests"] <= 2 + len(asked[-1])
                assert len(asked[-1]) <= len(pages) * 0.25, week
    assert asked[0] == pages
    assert sorted(pages)[3] in asked[5]
    assert set().union(*asked[1:]) == pages  # every page within the quarter


def test_three_languages_weekly_full_and_a_new_translation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every case in en, es and pt but one Spanish page, published after the first run: a
    week later a run asks a share of the pages, not every id in three languages; that
    translation is not asked weekly but is found once the clock passes
    ``revisit.translation_days`` (13 weeks); ``--full`` asks everything again."""
    langs = ["en", "es", "pt"]
    root = tmp_path / "site"
    generate_site(root, total=90, seed=7, languages=langs)
    ids = sorted(int(p.name) for p in (root / "en" / "case").iterdir())
    # The case whose Spanish check comes last in its first 13 weeks: not found by chance early.
    plan = RevisitPlan({}, T0)
    late = max(
        ids,
        key=lambda cid: (
            plan.next_check(
                (cid, "es"), present=False, changed=False, case_exists=True
            ).interval_days
        ),
    )
    stash = tmp_path / "stash"
    shutil.move(root / "es" / "case" / str(late), stash)
    db = tmp_path / "w.duckdb"
    requests: list[int] = []

    def run(moment: datetime, *, full: bool = False) -> dict[str, int]:
        monkeypatch.setenv("LATINNO_NOW", moment.isoformat())
        with run_server_in_thread(root) as server:
            summary = run_refresh(
                base_url=server.base_url,
                db=str(db),
                languages=langs,
                full=full,
                overrides={"source": SOURCE},
            )
            requests.append(server.stats()["total_requests"])
        counts: dict[str, int] = summary["counts"]
        assert counts.get("failed", 0) == 0
        return counts

    def texts(case_id: int) -> set[str]:
        with duckdb.connect(str(db), read_only=True) as con:
            rows = con.execute("SELECT lang FROM case_texts WHERE case_id = ?", [case_id])
            return {row[0] for row in rows.fetchall()}

    first = run(T0)
    assert first["new"] == len(ids) and texts(late) == {"en", "pt"}
    shutil.move(stash, root / "es" / "case" / str(late))  # published just after
    quiet = run(T0 + timedelta(weeks=1))
    assert 0 < quiet["revalidated"] < len(ids) * 3 / 2
    assert requests[1] < requests[0] / 3
    assert texts(late) == {"en", "pt"}  # a missing language is not asked every week
    run(T0 + timedelta(days=91))
    assert texts(late) == set(langs)  # within translation_days
    full = run(T0 + timedelta(days=91, hours=1), full=True)
    assert full["revalidated"] == len(ids) * 3
    assert requests[3] >= requests[0]
