"""The refresh flow's Prefect tasks: one per run to plan, per batch of pages to fetch and to
process, per country prefix to probe; never one per page (a task run costs 10-15 ms).

Arguments holding many pages travel in ``quote()`` or a ``Carton``: Prefect would otherwise walk
every page looking for futures.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.batch import BatchResult, Known, LoadTarget, process_batch
from flows.carton import Carton
from flows.discover import ProbeOutcome, fetch_cases, probe_prefix, refetch_survivors
from flows.fetch import Fetcher
from flows.fetch_types import FetchResult, Validators
from flows.guard import DriftGuard, before_run
from flows.parsing import ParseEngine
from flows.progress import report
from latinno.pages import page_key
from parsers import PARSER_VERSION

log = logging.getLogger(__name__)


@task(name="plan-run", cache_policy=NO_CACHE)
def plan_run(
    db_path: str, lock_timeout_s: float, run_id: str, params: dict[str, Any], full: bool
) -> Known:
    """Open the warehouse once to start the run and read what it already knows."""
    from warehouse.archive import misassigned_cases, page_validators
    from warehouse.db import writing
    from warehouse.known import current_contents, stale_cases, unparsed_cases
    from warehouse.runs import known_cases, mark_interrupted, start_run

    # Patient with readers: one holding the file (a long `latinno query`) delays the run's
    # start, it never fails it (issue 24); another writer fails it after lock_timeout_s.
    with writing(db_path, lock_timeout_s, patient="readers", on_wait=log.warning) as con:
        # The run lock is held: a run still marked running was killed on the way.
        interrupted = mark_interrupted(con, datetime.now(UTC))
        start_run(con, run_id, datetime.now(UTC), params)
        validators = page_validators(con)
        statuses = known_cases(con)
        stale = stale_cases(con, PARSER_VERSION)
        # Rows not built from the first configured language that has the case are re-read too.
        stale |= misassigned_cases(con, params.get("languages") or [])
        stale |= unparsed_cases(con)  # a page that never parsed is parsed again (issue 24)
        contents = current_contents(con)
    # --full and stale cases go without validators: they must be re-read.
    conditional = {
        key: Validators(v.etag, v.last_modified)
        for key, v in validators.items()
        if not full and key[0] not in stale
    }
    return Known(
        sha256={key: v.sha256 for key, v in validators.items()},
        statuses=statuses,
        stale=frozenset(stale),
        validators=conditional,
        filled=before_run(contents),
        notes=tuple(f"run {r} had been interrupted; marked so in table runs" for r in interrupted),
    )


@task(name="discover-prefix", cache_policy=NO_CACHE)
async def discover_prefix(
    fetcher: Fetcher,
    base_url: str,
    langs: Sequence[str],
    prefix: int,
    max_misses: int,
    max_serial: int,
    known_ids: Sequence[int],
    known: Known,
    other_languages: bool = True,
    sweep: bool = False,
) -> Carton[ProbeOutcome]:
    """Probe one country prefix in every configured language (and recheck its known ids)."""
    mine = {cid: {lang: known.validators.get((cid, lang)) for lang in langs} for cid in known_ids}
    outcome = await probe_prefix(
        fetcher,
        base_url,
        prefix,
        langs=langs,
        max_misses=max_misses,
        max_serial=max_serial,
        known=mine,
        other_languages=other_languages,
        sweep=sweep,
    )
    outcome.results = await refetch_survivors(fetcher, outcome.results, known.sha256)
    report("fetched", len(outcome.results))
    return Carton(outcome)


@task(name="fetch-batch", cache_policy=NO_CACHE)
async def fetch_batch(fetcher: Fetcher, urls: list[str], known: Known) -> Carton[list[FetchResult]]:
    """Fetch a batch of case URLs (every page of each of its cases, from the sitemap or known)."""
    pending = []
    for url in urls:
        key = page_key(url)
        pending.append((url, known.validators.get(key) if key else None))
    results = await refetch_survivors(fetcher, await fetch_cases(fetcher, pending), known.sha256)
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
    guard: DriftGuard[Any] | None = None,
) -> BatchResult:
    """Parse and load one batch in a worker thread, so fetching goes on meanwhile."""
    work = partial(
        process_batch, results, known=known, parser=parser, target=target, full=full, guard=guard
    )
    # The task's context goes with the work (run_in_executor alone would drop it).
    context = contextvars.copy_context()
    out = await asyncio.get_running_loop().run_in_executor(threads, context.run, work)
    report("processed", len(results))
    results.clear()  # the task's parameters outlive it; the bodies need not
    return out
