"""Rebuild every row from the archived pages, with no network and no Prefect."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

from flows.batch import LoadTarget, PageParser, load_parsed
from latinno.config import Settings
from latinno.errors import PageParseError
from latinno.record import CaseRecord

CHUNK = 500


def reparse_archive(settings: Settings) -> Counter[str]:
    """Parse the latest archived body of every page with today's parser and load the records.

    The archive is read in full first (bodies are compressed; 3,744 pages fit in memory), so
    the read-only and the write connection are never open together. Withdrawn cases are left
    as they are: loading their last page again would make them active.
    """
    from warehouse.archive import iter_archived_pages
    from warehouse.db import reading, writing
    from warehouse.runs import finish_run, known_cases, start_run

    db = settings.warehouse.path
    with reading(db, settings.warehouse.read_lock_timeout_s) as con:
        statuses = known_cases(con)
        archived = list(iter_archived_pages(con))
    pages = [(p.body, p.url, None) for p in archived if statuses.get(p.case_id) != "withdrawn"]
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-reparse-") + uuid.uuid4().hex[:6]
    with writing(db, settings.warehouse.lock_timeout_s) as con:
        start_run(con, run_id, datetime.now(UTC), {"reparse": True})
    target = LoadTarget(db, settings.warehouse.lock_timeout_s, settings.source.languages[0], run_id)
    parser = PageParser(
        settings.parser.extra_labels, settings.parser.active_classes, settings.runner.parse_workers
    )
    counts: Counter[str] = Counter(pages=len(pages), withdrawn_skipped=len(archived) - len(pages))
    try:
        records: list[CaseRecord] = []
        for outcome in parser.parse_many(pages):
            if isinstance(outcome, PageParseError):
                counts["parse_failed"] += 1
            else:
                records.append(outcome)
        counts["parsed"] = len(records)
        for start in range(0, len(records), CHUNK):
            counts.update(load_parsed(records[start : start + CHUNK], target))
    finally:
        parser.close()
    with writing(db, settings.warehouse.lock_timeout_s) as con:
        finish_run(con, run_id, datetime.now(UTC), dict(counts))
    return counts
