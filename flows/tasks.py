"""The refresh flow's Prefect tasks: one per run to plan, per batch of pages to fetch and to
process, per country prefix to probe; never one per page (a task run costs 10-15 ms).

The work is ``flows.pipeline``'s; a task only names it in Prefect. Arguments and results are
small and plain (a batch number and its URLs, a prefix, counts), so the UI shows what each task
run did; the pages stay with the pipeline.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.batch import BatchResult, Known
from flows.counts import PrefixCounts
from flows.fetch_types import Validators
from flows.guard import before_run
from flows.pipeline import Pipeline, Steps
from flows.revisit import Check
from parsers import PARSER_VERSION

log = logging.getLogger(__name__)


@task(name="plan-run", cache_policy=NO_CACHE)
def plan_run(
    db_path: str,
    lock_timeout_s: float,
    run_id: str,
    started_at: datetime,
    params: dict[str, Any],
    full: bool,
) -> Known:
    """Open the warehouse once to start the run and read what it already knows. The run
    starts at ``started_at``, the moment its id was made from (``latinno.clock.run_id``)."""
    from warehouse.archive import misassigned_cases, page_validators
    from warehouse.db import writing
    from warehouse.known import current_contents, stale_cases, unparsed_cases
    from warehouse.revisits import load_checks, previous_start
    from warehouse.runs import known_cases, mark_interrupted, start_run

    # Patient with readers: one holding the file (a long `latinno query`) delays the run's
    # start, it never fails it (issue 24); another writer fails it after lock_timeout_s.
    with writing(Path(db_path), lock_timeout_s, patient="readers", on_wait=log.warning) as con:
        # The run lock is held: a run still marked running was killed on the way.
        interrupted = mark_interrupted(con, datetime.now(UTC))
        previous = previous_start(con)
        # The revisit clock: runs start when LATINNO_NOW says, so the gap between them is too.
        start_run(con, run_id, started_at, params)
        checks = {k: Check(*row) for k, row in load_checks(con).items()}
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
        checks=checks,
        previous_start=previous,
    )


def as_tasks(pipeline: Pipeline) -> Steps:
    """``pipeline``'s units of work, each run as a Prefect task run of its own."""

    @task(name="fetch-batch", cache_policy=NO_CACHE)
    async def fetch_batch(batch: int, urls: list[str]) -> int:
        """Fetch a batch of case URLs; returns how many pages it fetched."""
        return await pipeline.fetch_batch(batch, urls)

    @task(name="discover-prefixes", cache_policy=NO_CACHE)
    async def discover_prefixes(prefixes: list[int]) -> dict[int, PrefixCounts]:
        """Probe some country prefixes in every configured language (and recheck their known
        ids); returns where probing stopped in each."""
        return await pipeline.probe_prefixes(prefixes)

    @task(name="process-batch", cache_policy=NO_CACHE)
    async def process_batch(batch: int, pages: int) -> BatchResult:
        """Parse and load one batch of fetched pages."""
        return await pipeline.process_batch(batch, pages)

    return Steps(fetch=fetch_batch, probe=discover_prefixes, process=process_batch)
