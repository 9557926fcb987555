"""Rebuild every row from the archived pages, with no network and no Prefect."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flows.batch import LoadTarget, load_parsed
from flows.counts import RunCounts
from flows.guard import DriftGuard, before_run
from flows.heap import frozen_heap
from flows.parsing import ParseFailure, ParseSpec, parse_pages
from latinno import clock
from latinno.config import Settings
from latinno.errors import RunHeldError
from latinno.pages import page_key
from latinno.record import CaseRecord

if TYPE_CHECKING:
    from warehouse.archive import StoredBody
    from warehouse.runs import FetchFailure

CHUNK = 500


def reparse_archive(
    settings: Settings, *, accept_drift: bool = False
) -> tuple[RunCounts, list[ParseFailure]]:
    """``_reparse`` while holding the warehouse's run lock: never beside a refresh."""
    from warehouse.runlock import hold_run_lock

    # Its start-up heap frozen as a refresh's is (flows.heap): parsing is most of its work.
    with hold_run_lock(settings.warehouse.path), frozen_heap(late_imports=()):
        return _reparse(settings, accept_drift=accept_drift)


def _reparse(settings: Settings, *, accept_drift: bool) -> tuple[RunCounts, list[ParseFailure]]:
    """Parse the latest archived body of every page with today's parser and load the records.

    The archive is read in full first, its bodies kept compressed and each decompressed only
    to be parsed (3,744 pages hold about 25 MB so), so the read-only and the write connection
    are never open together. Withdrawn cases are left as they are: loading their last page
    again would make them active. Pages that no longer parse are returned and stored as the
    run's failures (``fetch_failures``) with the reason; their cases keep the rows they had.
    Guarded like a refresh (flows.guard): a result that would empty what the warehouse holds
    is held (RunHeldError) unless ``accept_drift``.
    """
    from warehouse.archive import latest_bodies
    from warehouse.db import reading, writing
    from warehouse.known import current_contents
    from warehouse.load import mark_withdrawn
    from warehouse.runs import finish_run, known_cases, record_fetch_failures, start_run

    db = settings.warehouse.path
    with reading(db, settings.warehouse.read_lock_timeout_s) as con:
        statuses = known_cases(con)
        archived = latest_bodies(con)
        before = before_run(current_contents(con))
    live = [p for p in archived if statuses.get(p.case_id) != "withdrawn"]
    # A page archived under one id from a redirect to another case's page (before merges were
    # recognised) is that other case's: never parsed as a case of its own.
    pages: list[StoredBody] = []
    foreign: list[StoredBody] = []
    for page in live:
        key = page_key(page.url)
        (foreign if key and key.case_id != page.case_id else pages).append(page)
    phantoms = sorted({p.case_id for p in foreign} - {p.case_id for p in pages})
    # Started by the run clock, as a refresh is: the revisit policy reads the latest start.
    started = clock.now()
    run_id = clock.run_id("reparse", started)
    with writing(db, settings.warehouse.lock_timeout_s) as con:
        start_run(con, run_id, started, {"reparse": True})
    target = LoadTarget(run_id, settings.warehouse, settings.source)
    spec = ParseSpec.of(settings.parser)
    counts = RunCounts(
        pages=len(pages), withdrawn_skipped=len(archived) - len(live), merged_skipped=len(foreign)
    )
    failures: list[ParseFailure] = []
    records: list[CaseRecord] = []
    # In this process: 3,744 pages parse in about 20 s on one core (issue 20).
    for outcome in parse_pages(((p.body(), p.url, None) for p in pages), spec):
        if isinstance(outcome, ParseFailure):
            counts.parse_failed += 1
            failures.append(outcome)
        else:
            records.append(outcome)
    counts.parsed = len(records)
    primary = settings.source.languages[0]
    guard: DriftGuard[None] = DriftGuard(
        before,
        settings.guard,
        lang=primary,
        accept=accept_drift,
        buffer_pages=len(pages) + 1,
        marker=settings.parser.rule().describe(),
    )
    lost = [f.case_id for f in map(_as_failure, failures) if f.case_id and f.lang == primary]
    guard.admit(records, lost, None, len(pages))
    if guard.flush()[0] == "hold":
        message = guard.message(what="reparse")
        with writing(db, settings.warehouse.lock_timeout_s) as con:
            finish_run(con, run_id, datetime.now(UTC), {}, status="held", reason=message)
        raise RunHeldError(message)
    for start in range(0, len(records), CHUNK):
        counts.add(load_parsed(records[start : start + CHUNK], target))
    with writing(db, settings.warehouse.lock_timeout_s) as con:
        # A case whose only pages are other cases' is a phantom copy: withdrawn, as a merge.
        counts.withdrawn = mark_withdrawn(con, phantoms, datetime.now(UTC), run_id=run_id)
        record_fetch_failures(con, run_id, [_as_failure(f) for f in failures])
        finish_run(con, run_id, datetime.now(UTC), counts.as_row())
    return counts, failures


def _as_failure(failure: ParseFailure) -> FetchFailure:
    from warehouse.runs import FetchFailure

    key = page_key(failure.url)
    return FetchFailure(
        url=failure.url,
        case_id=key.case_id if key else None,
        lang=key.lang if key else None,
        status=200,
        reason=f"parse error: {failure.reason}",
        attempts=1,
    )
