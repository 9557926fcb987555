"""How a refresh run ends: recorded in ``runs`` (completed, failed or held), published as
Prefect artifacts, and, when it failed before fetching or was held, raised as one line."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from flows.summary import RunSummary, summary_markdown, summary_table

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from flows.pipeline import Pipeline
from latinno.config import Settings
from latinno.errors import SiteUnreachableError
from parsers import PARSER_VERSION

log = logging.getLogger(__name__)


def summarize(
    settings: Settings, run_id: str, pipeline: Pipeline, duration_s: float, notes: list[str]
) -> RunSummary:
    """The run's summary from what its pipeline counted."""
    counts = pipeline.counts
    counts["failed"] += counts["parse_failed"]
    return RunSummary(
        run_id=run_id,
        db_path=str(settings.warehouse.path),
        base_url=settings.source.base_url,
        counts={k: round(v, 3) if isinstance(v, float) else v for k, v in counts.items()},
        failed_urls=pipeline.failed_urls,
        duration_s=round(duration_s, 3),
        max_failure_share=settings.http.max_failure_share,
        reasons=dict(pipeline.reasons.most_common()),
        notes=notes,
    )


def request_counts(statuses: Mapping[int, int]) -> dict[str, int]:
    """The run's requests as the site saw them: in all, by HTTP status, and unanswered."""
    counts = {"requests": sum(statuses.values()), "no_answer": statuses.get(0, 0)}
    counts |= {f"http_{status}": n for status, n in sorted(statuses.items()) if status}
    return counts


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
        "engine": settings.runner.engine,
        "parser_version": PARSER_VERSION,
    }


def finish(
    settings: Settings,
    summary: RunSummary,
    seen: Sequence[tuple[int, str]],
    *,
    held: str | None = None,
    absent: Sequence[tuple[int, str]] = (),
) -> None:
    """Record the run's end; pages of no-write batches are marked seen here, in one go.

    A run the drift guard ``held`` (the message) touches no case, not even to mark it seen.
    """
    from warehouse.load import touch_seen
    from warehouse.runs import finish_run, resolve_failures

    counts = {k: v for k, v in summary.counts.items() if isinstance(v, int | float)}
    counts["duration_s"] = summary.duration_s
    status = "completed" if summary.exit_code == 0 else "failed"
    reason = summary.headline
    if held is not None:
        status, reason = "held", held
    with _patiently(settings) as con:
        if held is None:
            touch_seen(con, seen, datetime.now(UTC), run_id=summary.run_id)
            resolve_failures(con, [*seen, *absent], summary.run_id)
        finish_run(con, summary.run_id, datetime.now(UTC), counts, status=status, reason=reason)


def fail(settings: Settings, run_id: str, reason: str) -> NoReturn:
    """End the run as failed before it fetched anything, and say why in one line."""
    from warehouse.runs import finish_run

    with _patiently(settings) as con:
        finish_run(con, run_id, datetime.now(UTC), {}, status="failed", reason=reason)
    raise SiteUnreachableError(f"{reason}; nothing was fetched, the warehouse is unchanged")


async def publish(summary: RunSummary) -> None:
    """The run's counts in the Prefect UI: a markdown summary and a table of the key numbers."""
    from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

    description = f"LATINNO refresh {summary.run_id}"
    await acreate_markdown_artifact(
        markdown=summary_markdown(summary), key="latinno-refresh-summary", description=description
    )
    await acreate_table_artifact(
        table=summary_table(summary), key="latinno-refresh-counts", description=description
    )


def _patiently(settings: Settings) -> AbstractContextManager[DuckDBPyConnection]:
    """The warehouse for writing, however long a reader (not a writer) holds it."""
    from warehouse.db import writing

    path, timeout = settings.warehouse.path, settings.warehouse.lock_timeout_s
    return writing(path, timeout, patient="readers", on_wait=log.warning)
