"""Turn a batch of fetch results into warehouse rows: classify, parse, load. No Prefect here.

The refresh's pipeline (``flows.pipeline``) runs ``process_batch`` on a thread; ``latinno
reparse`` parses archived pages with ``flows.parsing`` and loads them with ``load_parsed``.
Order inside a batch is deliberate: records are loaded before their pages are archived, so a
crash between the two makes the next run fetch the page again (no stored validators) instead
of trusting a page nobody loaded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING

from flows.counts import RunCounts
from flows.fetch_types import FetchKind, FetchResult, Validators
from flows.guard import DriftGuard, Mode
from flows.parsing import ParseFailure, ParseSpec, parse_pages
from flows.revisit import Check
from latinno.config_sections import SourceSettings, WarehouseSettings
from latinno.pages import PageKey
from latinno.record import CaseRecord
from latinno.vocabulary import LANGS

if TYPE_CHECKING:  # warehouse (DuckDB, Arrow) is imported when a batch first writes
    from warehouse.archive import ArchivedPage
    from warehouse.runs import FetchFailure

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Known:
    """What the warehouse knew when the run started, keyed by (case_id, lang)."""

    sha256: Mapping[PageKey, str] = field(default_factory=dict)
    statuses: Mapping[int, str] = field(default_factory=dict)
    stale: frozenset[int] = frozenset()
    validators: Mapping[PageKey, Validators] = field(default_factory=dict)
    # The content fields each active case holds now, for the drift guard (flows.guard).
    filled: Mapping[int, frozenset[str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # for the run summary (e.g. earlier runs found interrupted)
    # The revisit policy's memory (flows.revisit): each page's last check, and when the run
    # before this one started.
    checks: Mapping[PageKey, Check] = field(default_factory=dict)
    previous_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class LoadTarget:
    """Where and for which run a batch is loaded: the run id (made per run, not a setting) and
    config.yaml's ``warehouse`` and ``source`` sections as they are (frozen pydantic models), not
    copies of their fields. The warehouse's loaders get plain arguments from it (the properties
    below), never a section."""

    run_id: str
    warehouse: WarehouseSettings
    source: SourceSettings

    @property
    def db_path(self) -> Path:
        return self.warehouse.path

    @property
    def lock_timeout_s(self) -> float:
        return self.warehouse.lock_timeout_s

    @property
    def languages(self) -> tuple[str, ...]:
        """The configured languages in order: the first one a case has fills its row."""
        return tuple(self.source.languages)

    @property
    def primary_lang(self) -> str:
        return self.source.languages[0]


@dataclass
class BatchResult:
    counts: RunCounts = field(default_factory=RunCounts)
    failed_urls: list[str] = field(default_factory=list)
    # A batch with nothing but unchanged pages opens no connection: the flow marks these pages
    # seen (and their old failures resolved) once, when the run ends.
    deferred_seen: list[PageKey] = field(default_factory=list)
    # Failed pages by reason (the part before any URL-specific detail), for the summary.
    reasons: Counter[str] = field(default_factory=Counter)
    # Pages that answered 404/410: an open failure of theirs (a probed id that was not a case
    # page, say) is closed when the run ends.
    absent: list[PageKey] = field(default_factory=list)
    # Why robots.txt kept pages from being requested (its 5xx or no answer), for the headline.
    robots_note: str | None = None


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


def _gone(result: FetchResult, key: PageKey) -> ArchivedPage:
    from warehouse.archive import gone_page

    return gone_page(key[0], key[1], result.url, result.status or 404, result.fetched_at)


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
    seen: list[PageKey] = field(default_factory=list)
    fetched: list[PageKey] = field(default_factory=list)
    gone_ids: list[int] = field(default_factory=list)
    gone_pages: list[ArchivedPage] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)


def _languages_gone(results: Sequence[FetchResult], known: Known) -> tuple[list[int], set[int]]:
    """(active cases to withdraw, cases still there that lost a page we held).

    A batch holds every page of its cases that the run asked for (the pipeline never splits a
    case), so a case is withdrawn here only when every language asked for answered 404/410 and
    those include every language we held a page in: one language gone, or one page failing, or
    a page the run did not reach, never withdraws a case.
    """
    answers: dict[int, list[FetchResult]] = {}
    for result in results:
        if result.case_id and result.lang:
            answers.setdefault(result.case_id, []).append(result)
    withdraw: list[int] = []
    going: set[int] = set()
    for case_id, pages in answers.items():
        gone = {r.lang for r in pages if r.gone}
        if any(r.ok or r.not_modified for r in pages):
            if any((case_id, lang) in known.sha256 for lang in gone):
                going.add(case_id)
        elif gone and all(r.gone for r in pages) and known.statuses.get(case_id) == "active":
            held = {lang for lang in LANGS if (case_id, lang) in known.sha256}
            if held <= gone:
                withdraw.append(case_id)
    return withdraw, going


def _classify(
    results: Sequence[FetchResult], known: Known, full: bool, out: BatchResult, writes: _Writes
) -> list[tuple[FetchResult, str]]:
    """Count each result by its kind and gather what it writes; returns the pages to parse
    (with their digests)."""
    counts = out.counts
    to_parse: list[tuple[FetchResult, str]] = []
    writes.gone_ids, going = _languages_gone(results, known)
    for result in results:
        key = PageKey(result.case_id, result.lang) if result.case_id and result.lang else None
        kind = result.kind
        if key is not None and kind is FetchKind.OK and result.body is not None:
            counts.fetched += 1
            writes.fetched.append(key)
            digest = sha256(result.body).hexdigest()
            # A case that lost a page we held may need its row from another language: parsed.
            fresh = not full and key[0] not in known.stale and key[0] not in going
            if fresh and known.sha256.get(key) == digest:
                counts.unchanged_body += 1
                writes.seen.append(key)
            else:
                to_parse.append((result, digest))
        elif key is not None and kind is FetchKind.NOT_MODIFIED:
            counts.not_modified += 1
            writes.fetched.append(key)
            writes.seen.append(key)
        elif kind is FetchKind.GONE:
            counts.gone += 1
            if key is not None:
                out.absent.append(key)
            if key is not None and key in known.sha256:
                writes.gone_pages.append(_gone(result, key))
        elif kind is FetchKind.ROBOTS_DISALLOWED:
            counts.robots_disallowed += 1
        else:
            counts.failed += 1
            out.failed_urls.append(result.url)
            reason = result.error or f"unexpected HTTP status {result.status}"
            writes.failures.append(_failure(result, reason))
            out.reasons[reason] += 1
            if kind is FetchKind.ROBOTS_UNAVAILABLE:
                counts.robots_unavailable += 1
                out.robots_note = out.robots_note or reason
    return to_parse


def process_batch(
    results: Sequence[FetchResult],
    *,
    known: Known,
    spec: ParseSpec,
    target: LoadTarget,
    full: bool = False,
    guard: DriftGuard[_Writes] | None = None,
) -> BatchResult:
    """Classify, parse and load one batch of fetch results; returns what happened, counted.

    Blocks for the batch's parsing and loading: call it on a thread (``flows.pipeline``).
    With a drift ``guard``, what the batch writes waits for its verdict (flows.guard).
    """
    out = BatchResult()
    counts = out.counts
    writes = _Writes()
    to_parse = _classify(results, known, full, out, writes)
    started = time.perf_counter()
    parsed = parse_pages([(r.body or b"", r.url, r.charset) for r, _ in to_parse], spec)
    counts.parse_s += time.perf_counter() - started
    for (result, digest), outcome in zip(to_parse, parsed, strict=True):
        writes.pages.append(_archived(result, digest))
        if isinstance(outcome, ParseFailure):
            counts.parse_failed += 1
            out.failed_urls.append(result.url)
            writes.failures.append(_failure(result, f"parse error: {outcome.reason}"))
            out.reasons["parse error"] += 1
        else:
            writes.records.append(outcome)
    counts.parsed += len(writes.records)
    if not (to_parse or writes.gone_ids or writes.gone_pages or writes.failures):
        out.deferred_seen = writes.seen
        return out
    started = time.perf_counter()
    mode: Mode = "apply"
    ready = [writes]
    if guard is not None:
        pairs = zip(to_parse, parsed, strict=True)
        failed = [res.case_id for (res, _), o in pairs if res.case_id and _lost(res, o, target)]
        mode, ready = guard.admit(writes.records, failed, writes, len(to_parse), writes.gone_ids)
    for batch in ready:
        _write(target, batch, counts, apply=mode == "apply")
    counts.load_s += time.perf_counter() - started
    return out


def write_waiting(target: LoadTarget, guard: DriftGuard[_Writes]) -> RunCounts:
    """Write what the guard still held back when the run ended, as it decides."""
    counts = RunCounts()
    started = time.perf_counter()
    mode, ready = guard.flush()
    for batch in ready:
        _write(target, batch, counts, apply=mode == "apply")
    counts.load_s += time.perf_counter() - started
    return counts


def _lost(result: FetchResult, outcome: object, target: LoadTarget) -> bool:
    """A primary-language page that no longer parses (the guard counts those)."""
    return isinstance(outcome, ParseFailure) and result.lang == target.primary_lang


def _write(target: LoadTarget, writes: _Writes, counts: RunCounts, *, apply: bool) -> None:
    """Write a batch. Held (``apply`` false), only the archive and the failures are written:
    cases, bridges and history stay as they were, and the pages are re-read next time."""
    from warehouse.archive import store_pages
    from warehouse.db import load_memory_limit, writing
    from warehouse.load import load_records, mark_withdrawn, touch_seen
    from warehouse.runs import record_fetch_failures, resolve_failures

    now = datetime.now(UTC)
    # Patient: a reader holding the file (a long `latinno query`) delays a batch, it never
    # fails the run midway; every 10 s the wait is logged naming the reader (issue 13).
    patience = writing(
        target.db_path,
        target.lock_timeout_s,
        patient=True,
        on_wait=log.warning,
        memory_limit=load_memory_limit(max(len(writes.pages), len(writes.records))),
    )
    with _LOAD_LOCK, patience as con:
        if not apply:
            record_fetch_failures(con, target.run_id, writes.failures)
            store_pages(con, writes.pages)
            return
        # Before the records: a row built from a page that went is rebuilt from another one.
        store_pages(con, writes.gone_pages)
        stats = load_records(
            con,
            writes.records,
            run_id=target.run_id,
            seen_at=now,
            primary_lang=target.primary_lang,
            languages=target.languages,
        )
        counts.new += stats.new
        counts.changed += stats.changed
        counts.unchanged += stats.unchanged
        counts.parse_issues += stats.issues
        touch_seen(con, writes.seen, now)
        counts.withdrawn += mark_withdrawn(con, writes.gone_ids, now, run_id=target.run_id)
        record_fetch_failures(con, target.run_id, writes.failures)
        resolve_failures(con, writes.fetched, target.run_id)
        store_pages(con, writes.pages)  # last: see the module docstring


def load_parsed(
    records: Sequence[CaseRecord], target: LoadTarget, *, seen_at: datetime | None = None
) -> RunCounts:
    """Load already-parsed records (``latinno reparse``); returns new/changed/unchanged."""
    from warehouse.db import load_memory_limit, writing
    from warehouse.load import load_records

    limit = load_memory_limit(len(records))
    with _LOAD_LOCK, writing(target.db_path, target.lock_timeout_s, memory_limit=limit) as con:
        stats = load_records(
            con,
            records,
            run_id=target.run_id,
            seen_at=seen_at or datetime.now(UTC),
            primary_lang=target.primary_lang,
            languages=target.languages,
        )
    return RunCounts(
        new=stats.new, changed=stats.changed, unchanged=stats.unchanged, parse_issues=stats.issues
    )
