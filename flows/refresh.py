"""The refresh as a Prefect flow: plan, discover, fetch, process, summarize.

The story only: fetching lives in flows.fetch and flows.discover, batches and counters in
flows.pipeline, the tasks in flows.tasks, parsing in flows.parsing/flows.runners (Prefect's
process pool or a Dask cluster), loading and every SQL statement in warehouse.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from prefect import flow

from flows.batch import LoadTarget
from flows.discover import read_sitemap_entries, sitemap_case_ids, sitemap_lastmods
from flows.fetch import Fetcher
from flows.fetch_types import FetchPolicy
from flows.parsing import ParseSpec
from flows.pipeline import Pipeline
from flows.runners import parse_engine
from flows.summary import RunSummary, summary_markdown, summary_table
from flows.tasks import plan_run
from latinno.config import Overrides, Settings, resolve_settings
from latinno.errors import SiteUnreachableError
from latinno.pages import PageKey, case_url
from parsers import PARSER_VERSION


@flow(name="latinno-refresh", log_prints=False, validate_parameters=True)
async def refresh(
    config_path: str | None = None,
    overrides: Overrides | None = None,
    limit: int | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """Discover, fetch, archive, parse and load LATINNO case pages; returns the run summary.

    ``overrides`` change settings for this run, e.g. ``{"source": {"base_url": "…"}}``.
    """
    started = time.monotonic()
    path = Path(config_path) if config_path else None
    settings = resolve_settings(path, overrides, "run parameters")
    source, runner, store = settings.source, settings.runner, settings.warehouse
    parser = parse_engine(
        ParseSpec.of(settings.parser.extra_labels, settings.parser.active_classes),
        engine=runner.engine,
        workers=runner.parse_workers,
        dask_address=runner.dask_address,
    )
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
    primary = source.languages[0]
    target = LoadTarget(store.path, store.lock_timeout_s, primary, run_id)
    try:
        if runner.engine == "dask":
            parser.start()  # a wrong scheduler address fails before the run starts or fetches
        params = _params(settings, limit, full)
        known = plan_run(str(store.path), store.lock_timeout_s, run_id, params, full)
        async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
            if why := await fetcher.unreachable(source.base_url):
                _fail(settings, run_id, f"cannot reach {source.base_url}: {why} (robots.txt)")
            pipeline = Pipeline(
                fetcher, known, parser, target, batch_size=runner.batch_size, full=full
            )
            try:
                fetch_started = time.monotonic()
                await _discover_and_fetch(pipeline, settings, limit, full)
                pipeline.counts["fetch_s"] = time.monotonic() - fetch_started
                await pipeline.drain()
            finally:
                pipeline.close()
    finally:
        parser.close()

    counts = pipeline.counts
    counts["failed"] += counts["parse_failed"]
    summary = RunSummary(
        run_id=run_id,
        db_path=str(store.path),
        base_url=source.base_url,
        counts={k: round(v, 3) if isinstance(v, float) else v for k, v in counts.items()},
        failed_urls=pipeline.failed_urls,
        duration_s=round(time.monotonic() - started, 3),
        max_failure_share=settings.http.max_failure_share,
        reasons=dict(pipeline.reasons.most_common()),
    )
    _finish(settings, summary, pipeline.deferred_seen)
    await _artifacts(summary)
    return summary.as_dict()


async def _discover_and_fetch(
    pipeline: Pipeline, settings: Settings, limit: int | None, full: bool
) -> None:
    """The sitemap's pages and every known case, or probing; then the other languages."""
    source = settings.source
    primary = source.languages[0]
    sitemap = None
    if source.discovery in ("auto", "sitemap"):
        sitemap = await read_sitemap_entries(pipeline.fetcher, source.base_url)
    lastmods = None
    if sitemap is not None and source.trust_sitemap_lastmod and not full:
        lastmods = sitemap_lastmods(sitemap)
    if sitemap is not None:
        pipeline.counts["sitemap_urls"] = len(sitemap)
        ids = sitemap_case_ids(sitemap, source.country_prefixes)
        ids |= {cid for cid in pipeline.known.statuses if cid // 1000 in source.country_prefixes}
        ordered = sorted(ids)[:limit] if limit else sorted(ids)
        urls = [case_url(source.base_url, PageKey(cid, primary)) for cid in ordered]
        found = await pipeline.fetch(urls, lastmods)
    else:
        found = await pipeline.probe(source, primary, limit)
    for lang in source.languages[1:]:
        urls = [case_url(source.base_url, PageKey(cid, lang)) for cid in sorted(found)]
        await pipeline.fetch(urls, lastmods)


def _params(settings: Settings, limit: int | None, full: bool) -> dict[str, Any]:
    """What the ``runs`` table keeps of how a run was asked for."""
    source, polite = settings.source, settings.politeness
    return {
        "base_url": source.base_url,
        "languages": source.languages,
        "limit": limit,
        "full": full,
        "rate": polite.rate,
        "concurrency": polite.concurrency,
        "engine": settings.runner.engine,
        "parser_version": PARSER_VERSION,
    }


def _finish(settings: Settings, summary: RunSummary, seen: Sequence[tuple[int, str]]) -> None:
    """Record the run's end; pages of no-write batches are marked seen here, in one go."""
    from warehouse.db import writing
    from warehouse.load import touch_seen
    from warehouse.runs import finish_run, resolve_failures

    counts = {k: v for k, v in summary.counts.items() if isinstance(v, int | float)}
    counts["duration_s"] = summary.duration_s
    status = "completed" if summary.exit_code == 0 else "failed"
    with writing(settings.warehouse.path, settings.warehouse.lock_timeout_s) as con:
        touch_seen(con, seen, datetime.now(UTC), run_id=summary.run_id)
        resolve_failures(con, seen, summary.run_id)
        finish_run(
            con, summary.run_id, datetime.now(UTC), counts, status=status, reason=summary.headline
        )


def _fail(settings: Settings, run_id: str, reason: str) -> NoReturn:
    """End the run as failed before it fetched anything, and say why in one line."""
    from warehouse.db import writing
    from warehouse.runs import finish_run

    with writing(settings.warehouse.path, settings.warehouse.lock_timeout_s) as con:
        finish_run(con, run_id, datetime.now(UTC), {}, status="failed", reason=reason)
    raise SiteUnreachableError(f"{reason}; nothing was fetched, the warehouse is unchanged")


async def _artifacts(summary: RunSummary) -> None:
    """The run's counts in the Prefect UI: a markdown summary and a table of the key numbers."""
    from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

    description = f"LATINNO refresh {summary.run_id}"
    await acreate_markdown_artifact(
        markdown=summary_markdown(summary), key="latinno-refresh-summary", description=description
    )
    await acreate_table_artifact(
        table=summary_table(summary), key="latinno-refresh-counts", description=description
    )
