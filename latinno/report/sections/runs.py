"""Section 6, runs: how long each of the last runs took, and its page requests by answer."""

from __future__ import annotations

import duckdb

from latinno.report import queries_runs as q
from latinno.report.charts import (
    BAR_COLOR,
    SERIES_COLORS,
    UNKNOWN_COLOR,
    Series,
    bar_chart,
    fmt_pct,
)
from latinno.report.markup import (
    REFRESH_HINT,
    RUNS_SHOWN,
    Num,
    figure,
    missing,
    n_of,
    section,
    table,
    when,
)

# The columns of the runs table, after the run's id (the table's row heads).
_COLUMNS = (
    "Started",
    "Finished",
    "Duration (s)",
    "Page requests",
    "HTTP requests",
    "Fetched (200)",
    "304",
    "Share 304",
    "404/410",
    "Failed",
    "Not requested",
    "New",
    "Changed",
    "Withdrawn",
    "Parse issues",
)


def section_runs(con: duckdb.DuckDBPyConnection) -> str:
    runs = q.runs(con, RUNS_SHOWN)
    if not runs:
        return section("runs", "Runs", [missing(f"No refresh run recorded yet: {REFRESH_HINT}.")])
    parts = []
    if len(runs) == 1:
        parts.append(missing("Only one run so far: trends show from the second run on."))
    labels = [when(r.started_at).removesuffix(" UTC") for r in runs]
    parts.append(_durations(runs, labels))
    parts.append(_requests(runs, labels))
    return section("runs", "Runs", parts)


def _durations(runs: list[q.RunRow], labels: list[str]) -> str:
    svg = bar_chart(
        "run-duration",
        [(r.run_id, label, [r.duration_s or 0.0]) for r, label in zip(runs, labels, strict=True)],
        [Series("duration", "Duration", BAR_COLOR)],
        x_label="Duration (seconds)",
        y_label="Run started (UTC)",
        totals=["—" if r.duration_s is None else f"{r.duration_s:,.1f} s" for r in runs],
    )
    return figure(
        "run-duration",
        f"Duration of each run (last {RUNS_SHOWN})",
        n_of(len(runs), "runs") + "; “—”: not finished (running, or stopped)",
        svg,
        "",
    )


def _requests(runs: list[q.RunRow], labels: list[str]) -> str:
    answer_series = [
        Series("fetched", "Fetched (200)", SERIES_COLORS[0]),
        Series("not_modified", "Not modified (304)", SERIES_COLORS[2]),
        Series("gone", "Gone (404/410)", UNKNOWN_COLOR),
        Series("fetch_failed", "Failed", SERIES_COLORS[5]),
    ]
    svg = bar_chart(
        "run-requests",
        [
            (r.run_id, label, [float(getattr(r, s.key)) for s in answer_series])
            for r, label in zip(runs, labels, strict=True)
        ],
        answer_series,
        x_label="Page requests",
        y_label="Run started (UTC)",
        totals=[_total(r) for r in runs],
    )
    numbers = table(
        ["Run", *_COLUMNS],
        [_row(r) for r in reversed(runs)],
        caption=f"The last {RUNS_SHOWN} runs, newest first (table runs)",
        keys=[r.run_id for r in reversed(runs)],
        chart="run-requests",
        numeric=[False, *[True] * len(_COLUMNS)],
    )
    return figure(
        "run-requests",
        f"Page requests per run, by answer (last {RUNS_SHOWN})",
        n_of(sum(r.requests for r in runs), "page requests")
        + f" in {len(runs):,} runs; after each bar: requests and share answered 304",
        svg,
        numbers,
        "Page requests: pages fetched, answered 304 or 404/410, or failed after all retries, "
        "one per page (what the bars add up to). HTTP requests, in the table: every request "
        "the run made, retries, robots.txt and the sitemap included. Share 304 = 304 / "
        "(200 + 304). Not requested: pages the sitemap dated as our copy, so not asked for.",
    )


def _total(r: q.RunRow) -> str:
    """What is written after a run's bar: its page requests, share 304, and the pages it did
    not need to ask for (a run that asked for nothing is then still drawn, and says why)."""
    text = f"{r.requests:,}"
    if r.share_304 is not None:
        text += f" · {fmt_pct(r.share_304)} 304"
    if r.not_requested:
        text += f" · {r.not_requested:,} not requested"
    return text


def _row(r: q.RunRow) -> tuple[object, ...]:
    return (
        r.run_id,
        r.started_at,
        r.finished_at,
        r.duration_s,
        r.requests,
        Num("—" if r.http_requests is None else f"{r.http_requests:,}"),
        r.fetched,
        r.not_modified,
        Num("—" if r.share_304 is None else fmt_pct(r.share_304, 1)),
        r.gone,
        r.fetch_failed,
        r.not_requested,
        r.new,
        r.changed,
        r.withdrawn,
        r.parse_issues,
    )
