"""Section 4, change over time: the case versions each run created (new, changed, withdrawn,
reactivated) and the fields that change most."""

from __future__ import annotations

import duckdb

from latinno.report import queries_runs as q
from latinno.report.charts import BAR_COLOR, SERIES_COLORS, Series, bar_chart
from latinno.report.markup import (
    REFRESH_HINT,
    RUNS_SHOWN,
    figure,
    missing,
    n_of,
    section,
    table,
    when,
)


def section_changes(con: duckdb.DuckDBPyConnection, run_count: int) -> str:
    heading = "Change over time"
    per_run = q.changes_per_run(con, RUNS_SHOWN)
    if not per_run:
        notice = f"No run and no case version recorded yet: {REFRESH_HINT}."
        return section("changes", heading, [missing(notice)])
    versions = sum(sum(r.counts.values()) for r in per_run)
    if versions == 0:
        notice = "The runs recorded so far created no case version: no case loaded."
        return section("changes", heading, [missing(notice)])
    parts = []
    if run_count <= 1:
        parts.append(
            missing(
                "Only one run so far: its cases are all new. Changes and withdrawals show from "
                "the second run on."
            )
        )
    parts.append(_per_run(per_run, versions))
    parts.append(_changed_fields(con))
    return section("changes", heading, parts)


def _per_run(per_run: list[q.RunChanges], versions: int) -> str:
    series = [Series(key, label, SERIES_COLORS[i]) for i, (key, label) in enumerate(q.CHANGE_KINDS)]
    labels = [
        r.run_id if r.started_at is None else when(r.started_at).removesuffix(" UTC")
        for r in per_run
    ]
    svg = bar_chart(
        "changes-per-run",
        [
            (r.run_id, label, [r.counts[k] for k, _ in q.CHANGE_KINDS])
            for r, label in zip(per_run, labels, strict=True)
        ],
        series,
        x_label="Case versions created",
        y_label="Run started (UTC)",
        totals=[_total(sum(r.counts.values())) for r in per_run],
    )
    numbers = table(
        ["Run", "Started", *[label for _, label in q.CHANGE_KINDS]],
        [(r.run_id, r.started_at, *[r.counts[k] for k, _ in q.CHANGE_KINDS]) for r in per_run],
        caption="Case versions created per run (case_history)",
        keys=[r.run_id for r in per_run],
        chart="changes-per-run",
        numeric=[False, True, *[True] * len(q.CHANGE_KINDS)],
    )
    return figure(
        "changes-per-run",
        f"Cases added, changed and withdrawn per run (last {RUNS_SHOWN} runs)",
        n_of(versions, "case versions"),
        svg,
        numbers,
    )


def _total(versions: int) -> str:
    return f"{versions:,}" if versions else "0: no change"


def _changed_fields(con: duckdb.DuckDBPyConnection) -> str:
    fields = q.changed_fields(con)
    if not fields:
        return missing("No case has changed since it was first loaded.")
    svg = bar_chart(
        "changed-fields",
        [(f, f.replace("_", " "), [k]) for f, k, _ in fields],
        [Series("changes", "Changes", BAR_COLOR)],
        x_label="Times the field changed",
        y_label="Field",
    )
    numbers = table(
        ["Field", "Changes", "Cases"],
        fields,
        caption="Field changes between consecutive versions (view case_changes)",
        keys=[f for f, _, _ in fields],
        chart="changed-fields",
        numeric=[False, True, True],
    )
    return figure(
        "changed-fields",
        "The fields that change most (all runs)",
        n_of(sum(k for _, k, _ in fields), "field changes")
        + f" in {q.changed_case_count(con):,} cases",
        svg,
        numbers,
        "“status” counts withdrawals and reactivations.",
    )
