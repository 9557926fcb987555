"""The refresh as a Prefect flow: plan, discover, fetch, process, summarize.

The story only: fetching lives in flows.fetch and flows.discover, batches and counters in
flows.pipeline (its units run as the tasks of flows.tasks), parsing in flows.parsing (in this
process, on a thread beside the fetching), loading and every SQL statement in warehouse.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.exceptions import TerminationSignal

from flows.batch import LoadTarget, write_waiting
from flows.fetch import Fetcher
from flows.fetch_types import FetchPolicy
from flows.guard import DriftGuard
from flows.heap import frozen_heap
from flows.outcome import fail, finish, request_counts, run_params, summarize
from flows.parsing import ParseSpec
from flows.pipeline import Pipeline
from flows.progress import stage
from flows.revisit import oldest_check_days, revisit_plan
from flows.sitemap import read_sitemap_entries, sitemap_lastmods, sitemap_pages
from flows.summary import RunSummary, summary_markdown, summary_table
from flows.tasks import as_tasks, plan_run
from latinno import clock
from latinno.config import Overrides, Settings, resolve_settings
from latinno.errors import RunHeldError
from latinno.pages import case_url, page_key
from warehouse.runlock import hold_run_lock


@flow(name="latinno-refresh", log_prints=False, validate_parameters=True)
async def refresh(
    config_path: str | None = None,
    overrides: Overrides | None = None,
    limit: int | None = None,
    full: bool = False,
    accept_drift: bool = False,
    sweep: bool = False,
) -> dict[str, Any]:
    """Discover, fetch, archive, parse and load LATINNO case pages; returns the run summary.

    ``overrides`` change settings for this run, e.g. ``{"source": {"base_url": "…"}}``;
    ``accept_drift`` applies a run the site-drift guard would hold (flows.guard).
    """
    started = time.monotonic()
    _sigterm_as_interrupt()
    path = Path(config_path) if config_path else None
    settings = resolve_settings(path, overrides, "run parameters")
    source, runner, store = settings.source, settings.runner, settings.warehouse
    batch_size = runner.pages_per_batch(settings.politeness.rate)
    spec = ParseSpec.of(settings.parser)
    # One reading of the run clock (LATINNO_NOW) is both the id's moment and the recorded start.
    started_at = clock.now()
    run_id = clock.run_id(started=started_at)
    target = LoadTarget(run_id, store, source)
    with ExitStack() as stack:
        # One refresh per warehouse: a second one stops here, naming the first (issue 13).
        lock = stack.enter_context(hold_run_lock(store.path))
        params = run_params(settings, limit, full, sweep)
        known = plan_run(str(store.path), store.lock_timeout_s, run_id, started_at, params, full)
        stack.enter_context(frozen_heap())  # imports and Known live the whole run (flows.heap)
        stack.push(_failed_if_running(settings, run_id))  # never left "running" (issue 24)
        guard = _drift_guard(settings, known.filled, accept_drift, batch_size)
        async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
            stage("reading robots.txt")
            if why := await fetcher.unreachable(source.base_url):
                fail(settings, run_id, f"cannot reach {source.base_url}: {why} (robots.txt)")
            pipeline = Pipeline(
                fetcher,
                known,
                spec,
                target,
                batch_size=batch_size,
                max_batch_size=runner.batch_size,
                full=full,
                guard=guard,
                revisit=revisit_plan(settings, known, full),
            )
            pipeline.steps = as_tasks(pipeline)
            try:
                fetch_started = time.monotonic()
                await _discover_and_fetch(pipeline, settings, limit, full, sweep)
                pipeline.counts.fetch_s = time.monotonic() - fetch_started
                await pipeline.drain()
                pipeline.counts.add(await asyncio.to_thread(write_waiting, target, guard))
                await pipeline.count_languages()
                pipeline.counts.oldest_check_days = oldest_check_days(pipeline)
            finally:
                pipeline.close()
                pipeline.counts.add(request_counts(fetcher.statuses))
                pipeline.counts.merged += fetcher.merged  # ids redirecting to another case

        notes = [n for n in (lock.note, *known.notes) if n]
        summary = summarize(settings, run_id, pipeline, time.monotonic() - started, notes)
        held = guard.message() if guard.held else None
        finish(
            settings,
            summary,
            pipeline.deferred_seen,
            held=held,
            absent=pipeline.absent,
            checks=pipeline.checks,
        )
    await publish(summary)
    if held:
        raise RunHeldError(held)  # a held run ends failed, in Prefect too
    return summary.as_dict()


def _drift_guard(
    settings: Settings, filled: Any, accept_drift: bool, batch_size: int
) -> DriftGuard[Any]:
    """The run's site-drift guard (flows.guard), judging the first configured language."""
    return DriftGuard(
        filled,
        settings.guard,
        lang=settings.source.languages[0],
        accept=accept_drift,
        buffer_pages=2 * batch_size,
        marker=settings.parser.rule().describe(),
    )


async def _discover_and_fetch(
    pipeline: Pipeline, settings: Settings, limit: int | None, full: bool, sweep: bool = False
) -> None:
    """Every page of every case the sitemap lists (in any configured language) and of every
    known case; without a sitemap, or with ``sweep``, probing in every configured language."""
    source = settings.source
    sitemap = None
    if source.discovery in ("auto", "sitemap") and not sweep:
        sitemap = await read_sitemap_entries(pipeline.fetcher, source.base_url)
    if sitemap is None:
        await pipeline.probe(source, limit, sweep=sweep)
        return
    lastmods = None
    if source.trust_sitemap_lastmod and not full:
        lastmods = sitemap_lastmods(sitemap)
    pipeline.counts.sitemap_urls = len(sitemap)
    known = pipeline.known
    groups = sitemap_pages(
        sitemap, source.languages, source.country_prefixes, known.statuses, known.sha256
    )
    if limit:
        groups = groups[:limit]
    listed = {key for url in sitemap if (key := page_key(url))}
    await pipeline.fetch(
        [[case_url(source.base_url, key) for key in group] for group in groups], lastmods, listed
    )


# The signals that stopped this process's run, for the CLI's last line ("SIGTERM").
STOPPED_BY: list[str] = []


def _sigterm_as_interrupt() -> None:
    """SIGTERM stops the run as Ctrl-C does. Prefect's own handler raises TerminationSignal
    wherever the signal lands, and asyncio swallows that inside a socket write (the page
    fails, the run goes on); a KeyboardInterrupt it always lets through. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum: int, frame: object) -> None:
        STOPPED_BY.append(signal.Signals(signum).name)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _failed_if_running(
    settings: Settings, run_id: str
) -> Callable[[type[BaseException] | None, BaseException | None, TracebackType | None], bool]:
    """An exit callback: a run ending on an error nobody recorded is marked failed with it, one
    stopped by Ctrl-C or SIGTERM interrupted."""

    def on_exit(
        kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        status = "failed"
        if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError | TerminationSignal):
            status = "interrupted"
        if exc is not None and (status == "interrupted" or isinstance(exc, Exception)):
            from warehouse.db import writing
            from warehouse.runs import fail_if_running

            reason = (f"{type(exc).__name__}: {exc}".splitlines() or [""])[0]
            if status == "interrupted":
                # The signal may reach here as the cancellation it caused: not told apart.
                reason = "stopped by Ctrl-C or SIGTERM; the batches loaded before it stay"
            path, timeout = settings.warehouse.path, settings.warehouse.lock_timeout_s
            try:
                with writing(path, timeout, patient="readers") as con:
                    fail_if_running(con, run_id, datetime.now(UTC), reason, status)
            except Exception:  # the file may be why the run failed (a full disk): say that
                pass  # the next run marks it interrupted
        return False

    return on_exit


async def publish(summary: RunSummary) -> None:
    """The run's counts in the Prefect UI: a markdown summary and a table of the key numbers."""
    description = f"LATINNO refresh {summary.run_id}"
    await acreate_markdown_artifact(
        markdown=summary_markdown(summary), key="latinno-refresh-summary", description=description
    )
    await acreate_table_artifact(
        table=summary_table(summary), key="latinno-refresh-counts", description=description
    )
