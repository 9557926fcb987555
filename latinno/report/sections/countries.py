"""Section 2, cases by country: active cases per country, then per country the share of cases
with each means, end and policy-cycle stage (heatmaps) and each co-governance and decisiveness
value (stacked bars)."""

from __future__ import annotations

from html import escape
from typing import Any

import duckdb

from latinno.report import queries as q
from latinno.report.charts import (
    BAR_COLOR,
    SERIES_COLORS,
    UNKNOWN_COLOR,
    Series,
    bar_chart,
    fmt_pct,
    heatmap,
)
from latinno.report.markup import REFRESH_HINT, figure, matrix_table, missing, n_of, section, table


def section_countries(con: duckdb.DuckDBPyConnection) -> str:
    countries = q.cases_by_country(con)
    active = sum(c.active for c in countries)
    if active == 0:
        return section(
            "countries",
            "Cases by country",
            [missing(f"No active cases, so nothing to show by country: {REFRESH_HINT}.")],
        )
    parts = [_per_country(countries, active)]
    for field, title, verb in (
        ("means", "Means used, by country", "use"),
        ("ends", "Ends pursued, by country", "pursue"),
        ("policy_cycle", "Policy-cycle stages, by country", "sit at"),
    ):
        parts.append(_share_heatmap(con, field, title, verb))
    for field, title in (
        ("co_governance", "Co-governance, by country"),
        ("decisiveness", "Decisiveness, by country"),
    ):
        parts.append(_category_bars(con, field, title))
    return section("countries", "Cases by country", parts)


def _per_country(countries: list[q.CountryCount], active: int) -> str:
    shown = [c for c in countries if c.active or c.withdrawn]
    svg = bar_chart(
        "cases-by-country",
        [(c.code, c.name, [c.active]) for c in shown],
        [Series("active", "Active cases", BAR_COLOR)],
        x_label="Active cases",
        y_label="Country",
    )
    empty = [c.name for c in countries if not (c.active or c.withdrawn)]
    note = f"No cases from: {escape(', '.join(empty))}." if empty else ""
    numbers = table(
        ["Country", "Code", "Active", "Withdrawn"],
        [(c.name, c.code, c.active, c.withdrawn) for c in shown],
        caption="Cases by country",
        keys=[c.code for c in shown],
        chart="cases-by-country",
        numeric=[False, False, True, True],
    )
    return figure(
        "cases-by-country",
        "Active cases per country",
        n_of(active, "active cases"),
        svg,
        numbers,
        note,
    )


def _share_heatmap(con: duckdb.DuckDBPyConnection, field: str, title: str, verb: str) -> str:
    m = q.option_shares(con, field)
    chart_id = f"{field.replace('_', '-')}-by-country"
    texts = [[fmt_pct(s) for s in row] for row in m.shares]
    tips = [
        [
            f"{label}: {m.counts[i][j]:,} of {n:,} cases ({fmt_pct(m.shares[i][j], 1)}) "
            f"{verb} {col}"
            for j, (_, col) in enumerate(m.cols)
        ]
        for i, (_, label, n) in enumerate(m.rows)
    ]
    svg = heatmap(
        chart_id,
        [(key, label) for key, label, _ in m.rows],
        m.cols,
        m.shares,
        texts,
        tips,
        x_label=title.split(",")[0],
        y_label="Country",
        top_value=1.0,
        shade_note="Share of the row's active cases: 0% light, 100% dark",
        first_apart=True,
    )
    note = "; a case may have several, so rows exceed 100%"
    return _by_country_figure(chart_id, title, m, svg, note)


def _category_bars(con: duckdb.DuckDBPyConnection, field: str, title: str) -> str:
    m = q.category_shares(con, field)
    chart_id = f"{field.replace('_', '-')}-by-country"
    series = [
        Series(key, label, UNKNOWN_COLOR if key == "(not shown)" else SERIES_COLORS[i])
        for i, (key, label) in enumerate(m.cols)
    ]
    svg = bar_chart(
        chart_id,
        [(key, label, m.shares[i]) for i, (key, label, _) in enumerate(m.rows)],
        series,
        x_label="Share of the country's active cases",
        y_label="Country",
        percent=True,
        totals=[f"n={n:,}" for _, _, n in m.rows],
        first_apart=True,
    )
    return _by_country_figure(chart_id, title, m, svg, "; “Not shown”: the page gave no value")


def _by_country_figure(chart_id: str, title: str, m: Any, svg: str, note: str) -> str:
    """A by-country chart with its numbers as a table, shares of each country's cases."""
    numbers = matrix_table(
        m,
        "Country",
        "Cases",
        caption=f"{title}: cases (share of the country's active cases)",
        chart=chart_id,
    )
    return figure(
        chart_id,
        f"{title}: share of each country's active cases",
        n_of(m.rows[0][2], "active cases") + note,
        svg,
        numbers,
    )
