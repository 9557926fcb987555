"""Section 3, combinations: how often each means occurs with each end (a heatmap of counts)."""

from __future__ import annotations

import duckdb

from latinno.report import queries as q
from latinno.report.charts import fmt_int, fmt_pct, heatmap
from latinno.report.markup import figure, matrix_table, missing, n_of, section


def section_combinations(con: duckdb.DuckDBPyConnection) -> str:
    heading = "Combinations of means and ends"
    co = q.cooccurrence(con)
    if co.cases == 0:
        notice = "No active case has both a means and an end yet, so no combination to show."
        return section("combinations", heading, [missing(notice)])
    m = co.matrix
    top = max((k for row in m.counts for k in row), default=0)
    texts = [[fmt_int(k) for k in row] for row in m.counts]
    tips = [
        [
            f"{label} and {col}: {m.counts[i][j]:,} cases "
            f"({fmt_pct(m.shares[i][j], 1)} of the {n:,} using {label})"
            for j, (_, col) in enumerate(m.cols)
        ]
        for i, (_, label, n) in enumerate(m.rows)
    ]
    svg = heatmap(
        "means-ends",
        [(key, label) for key, label, _ in m.rows],
        m.cols,
        [[float(k) for k in row] for row in m.counts],
        texts,
        tips,
        x_label="Ends",
        y_label="Means",
        top_value=float(top),
        shade_note=f"Cases with both: 0 light, {top:,} dark",
    )
    numbers = matrix_table(
        m,
        "Means",
        "Cases with it",
        caption="Active cases with both the means and the end (share of the means' cases)",
        chart="means-ends",
    )
    drawn = figure(
        "means-ends",
        "How often each means occurs with each end (active cases)",
        n_of(co.cases, "active cases with at least one means and one end"),
        svg,
        numbers,
    )
    return section("combinations", heading, [drawn])
