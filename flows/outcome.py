"""How a refresh run ends: summarized, recorded in ``runs`` (completed, failed or held), and,
when it failed before fetching, raised as one line. No Prefect here (the flow publishes the
summary as artifacts)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from flows.counts import RunCounts
from flows.revisit import Check
from flows.summary import RunSummary

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from flows.pipeline import Pipeline
from latinno.config import Settings
from latinno.errors import SiteUnreachableError
from latinno.pages import PageKey
from parsers import PARSER_VERSION

log = logging.getLogger(__name__)


def summarize(
    settings: Settings, run_id: str, pipeline: Pipeline, duration_s: float, notes: list[str]
) -> RunSummary:
    """The run's summary from what its pipeline counted."""
    counts = pipeline.counts
    counts.failed += counts.parse_failed
    return RunSummary(
        run_id=run_id,
        db_path=str(settings.warehouse.path),
        base_url=settings.source.base_url,
        counts=counts,
        failed_urls=pipeline.failed_urls,
        duration_s=round(duration_s, 3),
        max_failure_share=settings.http.max_failure_share,
        reasons=dict(pipeline.reasons.most_common()),
        notes=notes,
        robots_note=pipeline.robots_note,
    )


def request_counts(statuses: Mapping[int, int]) -> RunCounts:
    """The run's requests as the site saw them: in all, by HTTP status, and unanswered."""
    return RunCounts(
        requests=sum(statuses.values()),
        no_answer=statuses.get(0, 0),
        http={status: n for status, n in sorted(statuses.items()) if status},
    )


def run_params(
    settings: Settings, limit: int | None, full: bool, sweep: bool = False
) -> dict[str, Any]:
    """What the ``runs`` table keeps of how a run was asked for."""
    source, polite = settings.source, settings.politeness
    return {
        "base_url": source.base_url,
        "languages": source.languages,
        "limit": limit,
        "full": full,
        "sweep": sweep,
        "rate": polite.rate,
        "concurrency": polite.concurrency,
        "parser_version": PARSER_VERSION,
    }


def finish(
    settings: Settings,
    summary: RunSummary,
    seen: Sequence[PageKey],
    *,
    held: str | None = None,
    absent: Sequence[PageKey] = (),
    checks: Mapping[PageKey, Check] | None = None,
) -> None:
    """Record the run's end; pages of no-write batches are marked seen here, in one go.

    A run the drift guard ``held`` (the message) touches no case, not even to mark it seen.
    """
    from warehouse.load import touch_seen
    from warehouse.revisits import CheckRow, save_checks
    from warehouse.runs import finish_run, resolve_failures

    counts = summary.counts.as_row() | {"duration_s": summary.duration_s}
    status = "completed" if summary.exit_code == 0 else "failed"
    reason = summary.headline
    if held is not None:
        status, reason = "held", held
    with _patiently(settings) as con:
        if held is None:
            touch_seen(con, seen, datetime.now(UTC), run_id=summary.run_id)
            resolve_failures(con, [*seen, *absent], summary.run_id)
        # Held or not, the pages were asked: when they are due again does not change.
        rows = {
            key: CheckRow(c.checked_at, c.interval_days, c.present, c.spread)
            for key, c in (checks or {}).items()
        }
        save_checks(con, rows)
        finish_run(con, summary.run_id, datetime.now(UTC), counts, status=status, reason=reason)


def fail(settings: Settings, run_id: str, reason: str) -> NoReturn:
    """End the run as failed before it fetched anything, and say why in one line."""
    from warehouse.runs import finish_run

    with _patiently(settings) as con:
        finish_run(con, run_id, datetime.now(UTC), {}, status="failed", reason=reason)
    raise SiteUnreachableError(f"{reason}; nothing was fetched, the warehouse is unchanged")


def _patiently(settings: Settings) -> AbstractContextManager[DuckDBPyConnection]:
    """The warehouse for writing, however long a reader (not a writer) holds it."""
    from warehouse.db import writing

    path, timeout = settings.warehouse.path, settings.warehouse.lock_timeout_s
    return writing(path, timeout, patient="readers", on_wait=log.warning)
