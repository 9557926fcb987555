"""The refresh flow's Prefect tasks: one per run to plan, per batch of pages to fetch and to
process, per country prefix to probe; never one per page (a task run costs 10-15 ms).

Arguments holding many pages travel in ``quote()`` or a ``Carton``: Prefect would otherwise walk
every page looking for futures.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.batch import BatchResult, Known, LoadTarget, process_batch
from flows.carton import Carton
from flows.discover import fetch_cases, probe_prefix
from flows.fetch import Fetcher
from flows.fetch_types import FetchResult, Validators
from flows.parsing import ParseEngine
from flows.progress import report
from latinno.pages import page_key
from parsers import PARSER_VERSION


@task(name="plan-run", cache_policy=NO_CACHE)
def plan_run(
    db_path: str, lock_timeout_s: float, run_id: str, params: dict[str, Any], full: bool
) -> Known:
    """Open the warehouse once to start the run and read what it already knows."""
    from warehouse.archive import page_validators
    from warehouse.db import writing
    from warehouse.known import stale_cases
    from warehouse.runs import known_cases, start_run

    with writing(db_path, lock_timeout_s) as con:
        start_run(con, run_id, datetime.now(UTC), params)
        validators = page_validators(con)
        statuses = known_cases(con)
        stale = stale_cases(con, PARSER_VERSION)
    # --full and cases parsed by an older parser go without validators: they must be re-read.
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
    known: Known,
) -> Carton[list[FetchResult]]:
    """Probe one country prefix (and recheck its known ids) in the primary language."""
    mine = {cid: known.validators.get((cid, lang)) for cid in known_ids}
    results = await probe_prefix(
        fetcher, base_url, lang, prefix, max_misses=max_misses, max_serial=max_serial, known=mine
    )
    report("fetched", len(results))
    return Carton(results)


@task(name="fetch-batch", cache_policy=NO_CACHE)
async def fetch_batch(fetcher: Fetcher, urls: list[str], known: Known) -> Carton[list[FetchResult]]:
    """Fetch a batch of case URLs (from the sitemap, known cases, other languages)."""
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
    # The task's context goes with the work (run_in_executor alone would drop it).
    context = contextvars.copy_context()
    out = await asyncio.get_running_loop().run_in_executor(threads, context.run, work)
    report("processed", len(results))
    results.clear()  # the task's parameters outlive it; the bodies need not
    return out
