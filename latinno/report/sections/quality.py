"""Section 5, data quality: the fill rate of each field, parse issues, open fetch failures, and
the cases whose page lacked a section or a design label."""

from __future__ import annotations

import duckdb

from latinno.report import queries_quality as q
from latinno.report.charts import BAR_COLOR, Series, bar_chart, fmt_pct
from latinno.report.markup import REFRESH_HINT, Num, Url, figure, missing, n_of, section, table


def section_quality(con: duckdb.DuckDBPyConnection) -> str:
    parts = [_fill_rates(con), _issues(con), _failures(con), _missing_sections(con)]
    return section("quality", "Data quality", parts)


def _fill_rates(con: duckdb.DuckDBPyConnection) -> str:
    fills = q.fill_rates(con)
    n = fills[0][3] if fills else 0
    if n == 0:
        return missing(f"No active cases, so no fill rates: {REFRESH_HINT}.")
    svg = bar_chart(
        "fill-rate",
        [(f, label, [s]) for f, label, _, _, s in fills],
        [Series("filled", "Filled", BAR_COLOR)],
        x_label="Share of active cases with a value",
        y_label="Field",
        percent=True,
        totals=[fmt_pct(s, 1) for *_, s in fills],
    )
    numbers = table(
        ["Field", "Cases with a value", "Active cases", "Share"],
        [(label, k, nn, Num(fmt_pct(s, 1))) for _, label, k, nn, s in fills],
        caption="Fill rate per field (a list field is filled when one code applies)",
        keys=[f for f, *_ in fills],
        chart="fill-rate",
        numeric=[False, True, True, True],
    )
    return figure(
        "fill-rate",
        "Fill rate per field: share of active cases with a value",
        n_of(n, "active cases"),
        svg,
        numbers,
    )


def _issues(con: duckdb.DuckDBPyConnection) -> str:
    by_field = q.issues_by_field(con)
    if not by_field:
        return "<h3>Parse issues</h3><p>No parse issues: every value on the pages was coded.</p>"
    svg = bar_chart(
        "issues-by-field",
        [(f, f.replace("_", " "), [k]) for f, k, _ in by_field],
        [Series("issues", "Issues", BAR_COLOR)],
        x_label="Parse issues",
        y_label="Field",
    )
    numbers = table(
        ["Field", "Issues", "Cases"],
        by_field,
        caption="Current parse issues by field",
        keys=[f for f, _, _ in by_field],
        chart="issues-by-field",
        numeric=[False, True, True],
    )
    total = sum(k for _, k, _ in by_field)
    groups, top = q.issues_by_value(con)
    shown = f"the {len(top)} most frequent of {groups:,}" if groups > len(top) else "all"
    by_value = table(
        ["Field", "Raw value", "What is wrong", "Pages", "Example"],
        [(f, "(none)" if raw is None else raw, msg, k, Url(url)) for f, raw, msg, k, url in top],
        caption=f"Parse issues by field and raw value ({shown})",
        numeric=[False, False, False, True, False],
    )
    return figure(
        "issues-by-field",
        "Parse issues by field: values kept but not coded, or expected but missing",
        n_of(total, "parse issues (one per page and problem)"),
        svg,
        numbers + by_value,
    )


def _failures(con: duckdb.DuckDBPyConnection) -> str:
    total, reasons, listed = q.open_failures(con)
    if total == 0:
        return "<h3>Open fetch failures</h3><p>No open fetch failures.</p>"
    svg = bar_chart(
        "failures-by-reason",
        [(reason, reason, [k]) for reason, k in reasons],
        [Series("failures", "Failures", BAR_COLOR)],
        x_label="Open fetch failures",
        y_label="Reason",
    )
    numbers = table(
        ["Reason", "Pages"],
        reasons,
        caption="Open fetch failures by reason",
        keys=[r for r, _ in reasons],
        chart="failures-by-reason",
        numeric=[False, True],
    )
    shown = f"first {len(listed)} of {total:,}" if total > len(listed) else "all"
    listing = table(
        ["Last run", "URL", "HTTP status", "Reason", "Attempts", "Runs failed", "First run"],
        [
            (run, Url(url), status, reason, attempts, runs, first)
            for run, url, status, reason, attempts, runs, first in listed
        ],
        caption=f"Open fetch failures ({shown}, by URL; one per URL, its last failing run's "
        "status, reason and attempts); open until a later run fetches the page",
        numeric=[False, False, True, False, True, True, False],
    )
    return figure(
        "failures-by-reason",
        "Open fetch failures by reason",
        n_of(total, "pages that failed after all retries and were not fetched since"),
        svg,
        numbers + listing,
    )


def _missing_sections(con: duckdb.DuckDBPyConnection) -> str:
    basis = (
        "Counted from what the warehouse stored of each page "
        "(<code>cases.sections_present</code>): a section, or a design field with its value, "
        "that the page did not show; a design field is not counted again when its whole "
        "section was missing."
    )
    total, by_field, listed = q.missing_sections(con)
    if total == 0:
        return (
            "<h3>Cases with missing sections</h3><p>No active case lacked a section or a design "
            f'label on its page.</p><p class="note">{basis}</p>'
        )
    svg = bar_chart(
        "missing-sections",
        [(f, f.replace("_", " "), [k]) for f, k in by_field],
        [Series("cases", "Cases", BAR_COLOR)],
        x_label="Active cases whose page lacked it",
        y_label="Section or field",
    )
    numbers = table(
        ["Section or field", "Cases"],
        by_field,
        caption="Active cases whose page lacked the section or label",
        keys=[f for f, _ in by_field],
        chart="missing-sections",
        numeric=[False, True],
    )
    shown = f"first {len(listed)} of {total:,}" if total > len(listed) else "all"
    listing = table(
        ["Case", "Language", "Missing", "Page"],
        [(case_id, lang, what, Url(url)) for case_id, lang, what, url in listed],
        caption=f"Cases with a missing section or label ({shown})",
        numeric=[False, False, False, False],
    )
    return figure(
        "missing-sections",
        "Cases whose page lacked a section or a design label",
        n_of(total, "active cases"),
        svg,
        numbers + listing,
        basis,
    )
