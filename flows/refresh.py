"""The scheduled refresh as a Prefect flow: plan, discover + fetch, process in batches, summarize.

Thin on purpose: fetching lives in flows.fetch/flows.discover, parsing in parsers, loading in
warehouse, batch bookkeeping in flows.batch. Pages travel in batches (one Prefect task per
country prefix to discover, one per ``runner.batch_size`` pages to process), never one task per
page: a task run costs 10-15 ms of orchestration.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from flows.batch import BatchResult, Known, LoadTarget, process_batch
from flows.carton import Carton
from flows.discover import fetch_cases, probe_prefix, read_sitemap_entries
from flows.fetch import Fetcher, FetchResult, Validators, fetcher_kwargs
from flows.parsing import ParseEngine, ParseSpec
from flows.progress import report
from flows.runners import parse_engine
from flows.summary import RunSummary, summary_markdown
from latinno.config import Settings, load_settings, override
from latinno.pages import PageKey, case_url, page_key
from parsers import PARSER_VERSION


def resolve_settings(
    config_path: str | None,
    *,
    base_url: str | None = None,
    db: str | None = None,
    languages: list[str] | None = None,
    rate: float | None = None,
    concurrency: int | None = None,
) -> Settings:
    """Config read once per run, with the run's parameters applied on top."""
    settings = load_settings(Path(config_path) if config_path else None)
    changes: dict[str, dict[str, Any]] = {}
    if base_url is not None:
        changes.setdefault("source", {})["base_url"] = base_url
    if languages:
        changes.setdefault("source", {})["languages"] = languages
    if db is not None:
        changes["warehouse"] = {"path": db}
    if rate is not None:
        changes.setdefault("politeness", {})["rate"] = rate
    if concurrency is not None:
        changes.setdefault("politeness", {})["concurrency"] = concurrency
    return override(settings, changes, "run parameters") if changes else settings


@task(name="plan-run", cache_policy=NO_CACHE)
def plan_run(settings: Settings, run_id: str, params: dict[str, Any], full: bool) -> Known:
    """Open the warehouse once to start the run and read what it already knows."""
    from warehouse.archive import page_validators
    from warehouse.db import writing
    from warehouse.runs import known_cases, start_run

    with writing(settings.warehouse.path, settings.warehouse.lock_timeout_s) as con:
        start_run(con, run_id, datetime.now(UTC), params)
        validators = page_validators(con)
        statuses = known_cases(con)
        stale = {
            row[0]
            for row in con.execute(
                "SELECT case_id FROM cases WHERE parser_version <> ?", [PARSER_VERSION]
            ).fetchall()
        }
    # --full and cases parsed by an older parser go without validators: they must be re-read.
    conditional = (
        {}
        if full
        else {
            key: Validators(v.etag, v.last_modified)
            for key, v in validators.items()
            if key[0] not in stale
        }
    )
    return Known(
        sha256={key: v.sha256 for key, v in validators.items()},
        statuses=statuses,
        stale=frozenset(stale),
        validators=conditional,
    )


@task(name="discover-prefix", cache_policy=NO_CACHE)
async def discover_prefix(
    fetcher: Fetcher,
    base_url: str,
    lang: str,
    prefix: int,
    max_misses: int,
    max_serial: int,
    known_ids: Sequence[int],
    validators: Known,
) -> Carton:
    """Probe one country prefix (and recheck its known ids) in the primary language."""
    known = {cid: validators.validators.get((cid, lang)) for cid in known_ids}
    results = await probe_prefix(
        fetcher,
        base_url,
        lang,
        prefix,
        max_misses=max_misses,
        max_serial=max_serial,
        known=known,
    )
    report("fetched", len(results))
    return Carton(results)


@task(name="fetch-batch", cache_policy=NO_CACHE)
async def fetch_batch(fetcher: Fetcher, urls: list[str], known: Known) -> Carton:
    """Fetch a batch of known case URLs (sitemap discovery, other languages)."""
    pending = []
    for url in urls:
        key = page_key(url)
        pending.append((url, known.validators.get(key) if key else None))
    results = await fetch_cases(fetcher, pending)
    report("fetched", len(results))
    return Carton(results)


@task(name="process-batch", cache_policy=NO_CACHE)
async def process_results(
    results: list[FetchResult],
    known: Known,
    parser: ParseEngine,
    target: LoadTarget,
    full: bool,
    threads: ThreadPoolExecutor,
) -> BatchResult:
    """Parse and load one batch in a worker thread, so fetching goes on meanwhile."""
    work = partial(process_batch, results, known=known, parser=parser, target=target, full=full)
    # The task's context goes with the work, so the parse-pages task runs it starts belong to
    # this flow run (run_in_executor alone would drop it).
    context = contextvars.copy_context()
    out = await asyncio.get_running_loop().run_in_executor(threads, context.run, work)
    report("processed", len(results))
    results.clear()  # the task's parameters outlive it; the bodies need not
    return out


def _chunks(items: Sequence[FetchResult], size: int) -> list[list[FetchResult]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


@flow(name="latinno-refresh", log_prints=False, validate_parameters=True)
async def refresh(
    config_path: str | None = None,
    base_url: str | None = None,
    db: str | None = None,
    languages: list[str] | None = None,
    rate: float | None = None,
    concurrency: int | None = None,
    limit: int | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """Discover, fetch, archive, parse and load LATINNO case pages; returns the run summary."""
    started = time.monotonic()
    settings = resolve_settings(
        config_path,
        base_url=base_url,
        db=db,
        languages=languages,
        rate=rate,
        concurrency=concurrency,
    )
    source = settings.source
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
    params = {
        "base_url": source.base_url,
        "languages": source.languages,
        "limit": limit,
        "full": full,
        "rate": settings.politeness.rate,
        "concurrency": settings.politeness.concurrency,
        "parser_version": PARSER_VERSION,
    }
    known = plan_run(settings, run_id, params, full)
    primary = source.languages[0]
    target = LoadTarget(settings.warehouse.path, settings.warehouse.lock_timeout_s, primary, run_id)
    runner = settings.runner
    parser = parse_engine(
        ParseSpec.of(settings.parser.extra_labels, settings.parser.active_classes),
        engine=runner.engine,
        workers=runner.parse_workers,
        dask_address=runner.dask_address,
    )
    counts: Counter[str] = Counter()
    failed_urls: list[str] = []
    deferred_seen: list[tuple[int, str]] = []
    batch = settings.runner.batch_size
    processing: list[asyncio.Task[BatchResult]] = []
    # Two threads: one batch parses (in the process pool) while the previous one loads. Few
    # threads on purpose: each thread's malloc arena keeps what it once held.
    threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="latinno-batch")

    async def dispatch(results: Sequence[FetchResult]) -> None:
        counts["discovered"] += sum(1 for r in results if r.ok or r.not_modified)
        for chunk in _chunks(results, batch):
            # Backpressure: fetching is faster than parsing; wait rather than hold every body.
            while sum(not t.done() for t in processing) >= BATCHES_PENDING:
                await asyncio.wait(
                    [t for t in processing if not t.done()], return_when=asyncio.FIRST_COMPLETED
                )
            processing.append(
                asyncio.ensure_future(
                    process_results(
                        quote(chunk), quote(known), quote(parser), target, full, quote(threads)
                    )
                )
            )

    try:
        if runner.engine == "dask":
            parser.start()  # a wrong scheduler address fails before any page is fetched
        fetch_started = time.monotonic()
        async with Fetcher(**fetcher_kwargs(settings)) as fetcher:
            sitemap = None
            if source.discovery in ("auto", "sitemap"):
                sitemap = await read_sitemap_entries(fetcher, source.base_url)
            lastmods: dict[tuple[int, str], datetime] = {}
            if sitemap is not None and source.trust_sitemap_lastmod and not full:
                lastmods = _lastmods(sitemap)

            async def fetch_unless_unchanged(urls: list[str]) -> set[int]:
                """Pages the sitemap dates no later than our copy are not requested at all."""
                skipped = {k for k in map(_key, urls) if _unchanged(k, lastmods, known)}
                counts["sitemap_unchanged"] += len(skipped)
                counts["discovered"] += len(skipped)
                deferred_seen.extend(skipped)
                rest = [u for u in urls if _key(u) not in skipped]
                return {cid for cid, _ in skipped} | await _fetch_in_batches(
                    fetcher, rest, known, batch, dispatch
                )

            if sitemap is not None:
                counts["sitemap_urls"] = len(sitemap)
                ids = _sitemap_ids(sitemap, primary, source.country_prefixes)
                ids |= {cid for cid in known.statuses if cid // 1000 in source.country_prefixes}
                ordered = sorted(ids)[:limit] if limit else sorted(ids)
                urls = [case_url(source.base_url, PageKey(cid, primary)) for cid in ordered]
                found_ids = await fetch_unless_unchanged(urls)
            else:
                found_ids = await _probe_all(fetcher, settings, primary, known, limit, dispatch)
            for lang in source.languages[1:]:
                urls = [case_url(source.base_url, PageKey(cid, lang)) for cid in sorted(found_ids)]
                await fetch_unless_unchanged(urls)
        counts["fetch_s"] = time.monotonic() - fetch_started  # discovery included
        for outcome in await asyncio.gather(*processing):
            counts.update(outcome.counts)
            failed_urls.extend(outcome.failed_urls)
            deferred_seen.extend(outcome.deferred_seen)
    finally:
        threads.shutdown(wait=True)
        parser.close()

    counts["failed"] = counts["failed"] + counts["parse_failed"]
    summary = RunSummary(
        run_id=run_id,
        db_path=str(settings.warehouse.path),
        base_url=source.base_url,
        counts={k: round(v, 3) if isinstance(v, float) else v for k, v in counts.items()},
        failed_urls=failed_urls,
        duration_s=round(time.monotonic() - started, 3),
    )
    _finish(settings, summary, deferred_seen)
    await _artifact(summary)
    return summary.as_dict()


# Fetch batches in flight at once: enough to keep the fetcher busy across a batch's tail,
# few enough that fetched bodies don't pile up ahead of parsing.
FETCH_BATCHES_IN_FLIGHT = 2
# Batches fetched but not yet parsed and loaded, at most.
BATCHES_PENDING = 2


async def _fetch_in_batches(
    fetcher: Fetcher, urls: list[str], known: Known, size: int, dispatch: Any
) -> set[int]:
    """Fetch ``urls`` in batches, handing each batch on as it completes; returns ids found."""
    found: set[int] = set()
    parts = iter([urls[i : i + size] for i in range(0, len(urls), size)])
    running: set[asyncio.Future[Carton]] = set()
    while True:
        for part in parts:
            running.add(asyncio.ensure_future(fetch_batch(quote(fetcher), part, quote(known))))
            if len(running) >= FETCH_BATCHES_IN_FLIGHT:
                break
        if not running:
            return found
        done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for future in done:
            results = future.result().take()
            found |= {r.case_id for r in results if r.case_id and (r.ok or r.not_modified)}
            await dispatch(results)


async def _probe_all(
    fetcher: Fetcher,
    settings: Settings,
    lang: str,
    known: Known,
    limit: int | None,
    dispatch: Any,
) -> set[int]:
    """Probe every configured prefix concurrently; hand each prefix's pages on as it ends."""
    source = settings.source
    found: set[int] = set()
    by_prefix: dict[int, list[int]] = {}
    for cid in known.statuses:
        by_prefix.setdefault(cid // 1000, []).append(cid)

    def probe(prefix: int) -> Any:
        return discover_prefix(
            quote(fetcher),
            source.base_url,
            lang,
            prefix,
            source.max_consecutive_misses,
            source.max_serial,
            by_prefix.get(prefix, []),
            quote(known),
        )

    async def take(carton: Carton) -> None:
        results = carton.take()
        hits = [r for r in results if r.ok or r.not_modified]
        if limit is not None:
            hits = hits[: max(0, limit - len(found))]
            results = [r for r in results if not (r.ok or r.not_modified)] + hits
        found.update(r.case_id for r in hits if r.case_id)
        await dispatch(results)

    if limit is not None:
        # A trial run: one prefix at a time, and no more probing once enough cases turned up.
        for prefix in source.country_prefixes:
            if len(found) >= limit:
                break
            await take(await probe(prefix))
        return found
    for next_done in asyncio.as_completed(
        [asyncio.ensure_future(probe(p)) for p in source.country_prefixes]
    ):
        await take(await next_done)
    return found


def _key(url: str) -> tuple[int, str]:
    return page_key(url) or PageKey(0, "")


def _lastmods(entries: Mapping[str, datetime | None]) -> dict[tuple[int, str], datetime]:
    return {_key(url): when for url, when in entries.items() if when is not None and _key(url)[0]}


def _unchanged(
    key: tuple[int, str], lastmods: Mapping[tuple[int, str], datetime], known: Known
) -> bool:
    """True when the sitemap's lastmod is no later than the Last-Modified of our stored copy.

    Both come from the site's clock. A midnight lastmod may be a bare date (a page changed later
    that day still carries it), so it must be a whole day older than our copy to count.
    """
    lastmod = lastmods.get(key)
    validators = known.validators.get(key)  # absent for --full and for stale cases
    if lastmod is None or validators is None or not validators.last_modified:
        return False
    try:
        ours = parsedate_to_datetime(validators.last_modified)
    except (TypeError, ValueError):
        return False
    if ours.tzinfo is None:
        ours = ours.replace(tzinfo=UTC)
    if lastmod.time() == dt_time(0, 0):
        lastmod += timedelta(days=1)
    return lastmod <= ours


def _sitemap_ids(urls: Sequence[str], lang: str, prefixes: Sequence[int]) -> set[int]:
    ids = set()
    for url in urls:
        key = page_key(url)
        if key is not None and key.case_id // 1000 in prefixes:
            ids.add(key.case_id)
    return ids


def _finish(settings: Settings, summary: RunSummary, seen: Sequence[tuple[int, str]]) -> None:
    """Record the run's end; pages of no-write batches are marked seen here, in one go."""
    from warehouse.db import writing
    from warehouse.load import touch_seen
    from warehouse.runs import finish_run, resolve_failures

    counts = {k: v for k, v in summary.counts.items() if isinstance(v, int | float)}
    counts["duration_s"] = summary.duration_s
    with writing(settings.warehouse.path, settings.warehouse.lock_timeout_s) as con:
        touch_seen(con, seen, datetime.now(UTC), run_id=summary.run_id)
        resolve_failures(con, seen, summary.run_id)
        finish_run(con, summary.run_id, datetime.now(UTC), counts)


async def _artifact(summary: RunSummary) -> None:
    from prefect.artifacts import acreate_markdown_artifact

    await acreate_markdown_artifact(
        markdown=summary_markdown(summary),
        key="latinno-refresh-summary",
        description=f"LATINNO refresh {summary.run_id}",
    )
