"""Turn a batch of fetch results into warehouse rows: classify, parse, load. No Prefect here.

The refresh flow calls ``process_batch`` from its tasks; ``latinno reparse`` parses archived
pages with ``flows.parsing`` and loads them with ``load_parsed``. Order inside a batch is
deliberate: records are loaded before their pages are archived, so a crash between the two makes
the next run fetch the page again (no stored validators) instead of trusting a page nobody
loaded.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING

from flows.fetch_types import FetchResult, Validators
from flows.parsing import ParseEngine, ParseFailure
from latinno.record import CaseRecord

if TYPE_CHECKING:  # warehouse (DuckDB, Arrow) stays out of the parse worker processes
    from warehouse.archive import ArchivedPage
    from warehouse.runs import FetchFailure

# flows.fetch words a robots.txt refusal so; it is the site's wish, not a failure.
ROBOTS_REFUSAL = "disallowed by robots.txt"
# ... and a robots.txt that answered 5xx or nothing: every page of the host fails unrequested.
ROBOTS_UNAVAILABLE = "robots.txt unavailable"


@dataclass(frozen=True, slots=True)
class Known:
    """What the warehouse knew when the run started, keyed by (case_id, lang)."""

    sha256: Mapping[tuple[int, str], str] = field(default_factory=dict)
    statuses: Mapping[int, str] = field(default_factory=dict)
    stale: frozenset[int] = frozenset()
    validators: Mapping[tuple[int, str], Validators] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoadTarget:
    """Where and how a batch is loaded; plain values, so tasks never see the config object."""

    db_path: Path
    lock_timeout_s: float
    primary_lang: str
    run_id: str


@dataclass
class BatchResult:
    counts: Counter[str] = field(default_factory=Counter)  # parse_s/load_s are seconds
    failed_urls: list[str] = field(default_factory=list)
    # A batch with nothing but unchanged pages opens no connection: the flow marks these pages
    # seen (and their old failures resolved) once, when the run ends.
    deferred_seen: list[tuple[int, str]] = field(default_factory=list)
    # Failed pages by reason (the part before any URL-specific detail), for the summary.
    reasons: Counter[str] = field(default_factory=Counter)


# --- loading --------------------------------------------------------------------------------

# One writer per process at a time: batches processed in parallel threads queue here, and the
# DuckDB file lock is held only inside this section.
_LOAD_LOCK = threading.Lock()


def _archived(result: FetchResult, digest: str) -> ArchivedPage:
    from warehouse.archive import ArchivedPage

    assert result.case_id is not None and result.lang is not None and result.body is not None
    return ArchivedPage(
        case_id=result.case_id,
        lang=result.lang,
        url=result.final_url,
        status=200,
        headers=result.headers,
        body=result.body,
        sha256=digest,
        fetched_at=result.fetched_at,
        etag=result.etag,
        last_modified=result.last_modified,
    )


def _failure(result: FetchResult, reason: str) -> FetchFailure:
    from warehouse.runs import FetchFailure

    return FetchFailure(
        url=result.url,
        case_id=result.case_id,
        lang=result.lang,
        status=result.status,
        reason=reason,
        attempts=result.attempts,
    )


@dataclass
class _Writes:
    """Everything one batch writes, gathered before the writer connection is opened."""

    records: list[CaseRecord] = field(default_factory=list)
    pages: list[ArchivedPage] = field(default_factory=list)
    seen: list[tuple[int, str]] = field(default_factory=list)
    fetched: list[tuple[int, str]] = field(default_factory=list)
    gone_ids: list[int] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)


def process_batch(
    results: Sequence[FetchResult],
    *,
    known: Known,
    parser: ParseEngine,
    target: LoadTarget,
    full: bool = False,
) -> BatchResult:
    """Classify, parse and load one batch of fetch results; returns what happened, counted."""
    out = BatchResult()
    counts = out.counts
    writes = _Writes()
    to_parse: list[tuple[FetchResult, str]] = []

    for result in results:
        key = (result.case_id, result.lang) if result.case_id and result.lang else None
        if key is not None and result.ok and result.body is not None:
            counts["fetched"] += 1
            writes.fetched.append(key)
            digest = sha256(result.body).hexdigest()
            fresh = not full and key[0] not in known.stale
            if fresh and known.sha256.get(key) == digest:
                counts["unchanged_body"] += 1
                writes.seen.append(key)
            else:
                to_parse.append((result, digest))
        elif key is not None and result.not_modified:
            counts["not_modified"] += 1
            writes.fetched.append(key)
            writes.seen.append(key)
        elif result.gone:
            counts["gone"] += 1
            # Only the primary language decides that a case is gone from the site.
            if (
                key is not None
                and key[1] == target.primary_lang
                and known.statuses.get(key[0]) == "active"
            ):
                writes.gone_ids.append(key[0])
        elif result.error and result.error.startswith(ROBOTS_REFUSAL):
            counts["robots_disallowed"] += 1
        else:
            counts["failed"] += 1
            out.failed_urls.append(result.url)
            reason = result.error or f"unexpected HTTP status {result.status}"
            writes.failures.append(_failure(result, reason))
            out.reasons[reason] += 1
            if reason.startswith(ROBOTS_UNAVAILABLE):
                counts["robots_unavailable"] += 1

    started = time.perf_counter()
    parsed = parser.parse([(r.body or b"", r.url, r.charset) for r, _ in to_parse])
    counts["parse_s"] += time.perf_counter() - started
    for (result, digest), outcome in zip(to_parse, parsed, strict=True):
        writes.pages.append(_archived(result, digest))
        if isinstance(outcome, ParseFailure):
            counts["parse_failed"] += 1
            out.failed_urls.append(result.url)
            writes.failures.append(_failure(result, f"parse error: {outcome.reason}"))
            out.reasons["parse error"] += 1
        else:
            writes.records.append(outcome)
    counts["parsed"] += len(writes.records)
    if not (to_parse or writes.gone_ids or writes.failures):
        out.deferred_seen = writes.seen
        return out
    started = time.perf_counter()
    _write(target, writes, counts)
    counts["load_s"] += time.perf_counter() - started
    return out


def _write(target: LoadTarget, writes: _Writes, counts: Counter[str]) -> None:
    from warehouse.archive import store_pages
    from warehouse.db import writing
    from warehouse.load import load_records, mark_withdrawn, touch_seen
    from warehouse.runs import record_fetch_failures, resolve_failures

    now = datetime.now(UTC)
    with _LOAD_LOCK, writing(target.db_path, target.lock_timeout_s) as con:
        stats = load_records(
            con,
            writes.records,
            run_id=target.run_id,
            seen_at=now,
            primary_lang=target.primary_lang,
        )
        counts["new"] += stats.new
        counts["changed"] += stats.changed
        counts["unchanged"] += stats.unchanged
        counts["parse_issues"] += stats.issues
        touch_seen(con, writes.seen, now)
        counts["withdrawn"] += mark_withdrawn(con, writes.gone_ids, now, run_id=target.run_id)
        record_fetch_failures(con, target.run_id, writes.failures)
        resolve_failures(con, writes.fetched, target.run_id)
        store_pages(con, writes.pages)  # last: see the module docstring


def load_parsed(
    records: Sequence[CaseRecord], target: LoadTarget, *, seen_at: datetime | None = None
) -> Counter[str]:
    """Load already-parsed records (``latinno reparse``); returns new/changed/unchanged."""
    from warehouse.db import writing
    from warehouse.load import load_records

    counts: Counter[str] = Counter()
    with _LOAD_LOCK, writing(target.db_path, target.lock_timeout_s) as con:
        stats = load_records(
            con,
            records,
            run_id=target.run_id,
            seen_at=seen_at or datetime.now(UTC),
            primary_lang=target.primary_lang,
        )
    counts.update(new=stats.new, changed=stats.changed, unchanged=stats.unchanged)
    counts["parse_issues"] += stats.issues
    return counts
