"""The report page: sections of charts, each followed by its numbers as a table.

One HTML file with its styles inline and charts as inline SVG: nothing is fetched when it is
opened (a Content-Security-Policy in the page forbids it), no script runs, and it prints as shown.
The page holds no clock: the only times in it are the data's own (run and page times, UTC).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape
from typing import Any

import duckdb

from report import queries as q
from report.charts import (
    BAR_COLOR,
    SERIES_COLORS,
    UNKNOWN_COLOR,
    Series,
    bar_chart,
    fmt_int,
    fmt_pct,
    heatmap,
)

CITATION = "Pogrebinschi, Thamy. (2017). LATINNO Dataset. Berlin: WZB."
TITLE = "LATINNO dataset report"
RUNS_SHOWN = 20
REFRESH_HINT = "run <code>latinno refresh</code> to load cases"

_CSS = """
:root { color-scheme: light; --ink: #1a1a1a; --muted: #5b5b5b; --rule: #d9d9d9;
        --accent: #2f6ea5; --paper: #ffffff; --tint: #f4f6f8; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--paper); color: var(--ink);
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
             sans-serif; }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1.5rem; }
h1 { font-size: 1.8rem; margin: 0 0 .25rem; line-height: 1.2; }
h2 { font-size: 1.35rem; margin: 2.5rem 0 .5rem; padding-top: .5rem;
     border-top: 2px solid var(--ink); }
h3 { font-size: 1.05rem; margin: 0; }
p { margin: .5rem 0; }
.lede { color: var(--muted); margin: 0 0 1rem; }
nav ol { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; padding: 0; margin: .5rem 0 0;
         list-style: none; counter-reset: s; }
nav li { counter-increment: s; }
nav li::before { content: counter(s) ". "; color: var(--muted); }
a { color: var(--accent); }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.glance { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr));
          gap: .75rem; margin: 1rem 0; padding: 0; }
.glance div { background: var(--tint); border-radius: 6px; padding: .6rem .8rem; }
.glance dt { font-size: .8rem; color: var(--muted); }
.glance dd { margin: 0; font-size: 1.25rem; font-weight: 600; overflow-wrap: anywhere; }
.glance dd small { display: block; font-size: .8rem; font-weight: 400; color: var(--muted); }
blockquote.cite { margin: 1rem 0; padding: .6rem 1rem; border-left: 4px solid var(--accent);
                  background: var(--tint); }
figure { margin: 1.5rem 0 2rem; break-inside: avoid; page-break-inside: avoid; }
figcaption { margin-bottom: .5rem; }
figcaption .n { color: var(--muted); font-size: .9rem; margin: .1rem 0 0; }
svg.chart { display: block; width: 100%; height: auto; max-width: var(--w); }
svg.chart text:not([fill]) { fill: var(--ink); }
svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto,
                 Arial, sans-serif; }
svg.chart .axis-label { font-weight: 600; }
svg.chart text.value, svg.chart text.shade-note { fill: var(--muted); }
svg.chart .grid { stroke: #e6e6e6; }
svg.chart .axis { stroke: #8c8c8c; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin-top: .75rem; }
table { border-collapse: collapse; font-size: .85rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-size: .8rem; color: var(--muted); padding-bottom: .25rem; }
th, td { padding: .2rem .6rem; border-bottom: 1px solid var(--rule); text-align: left;
         vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
thead th { border-bottom: 2px solid #8c8c8c; }
tbody tr:nth-child(even) { background: #fafafa; }
td.url { overflow-wrap: anywhere; min-width: 12rem; }
.missing { background: #fff7e0; border-left: 4px solid #e6a700; padding: .5rem .8rem; }
.note { color: var(--muted); font-size: .9rem; }
footer { margin-top: 3rem; padding-bottom: 2rem; color: var(--muted); font-size: .85rem;
         border-top: 1px solid var(--rule); }
@media (max-width: 40rem) {
  body { font-size: 15px; }
  h1 { font-size: 1.45rem; }
  th, td { padding: .15rem .35rem; }
}
@media print {
  body { font-size: 10pt; }
  header, main, footer { max-width: none; padding: 0; }
  nav { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .scroll { overflow: visible; }
  a { color: inherit; text-decoration: none; }
  tbody tr:nth-child(even) { background: none; }
}
"""
# No request may leave the file: no scripts, fonts, images or styles from anywhere.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


# --- formatting -------------------------------------------------------------------------------


def when(moment: Any, seconds: bool = True) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " UTC"
    return str(moment)


def _cell(value: Any) -> str:
    if value is None:
        return '<td class="num">—</td>'
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    if isinstance(value, float):
        return f'<td class="num">{value:,.1f}</td>'
    if isinstance(value, datetime):
        return f'<td class="num">{escape(when(value))}</td>'
    if isinstance(value, Num):
        return f'<td class="num">{escape(value.text)}</td>'
    if isinstance(value, Url):
        href = escape(value.url, quote=True)
        return f'<td class="url"><a href="{href}">{escape(value.url)}</a></td>'
    return f"<td>{escape(str(value))}</td>"


class Num:
    """A number already formatted (a share, or a count with its share), right-aligned."""

    def __init__(self, text: str) -> None:
        self.text = text


class Url:
    def __init__(self, url: str) -> None:
        self.url = url


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    caption: str,
    keys: Sequence[str] | None = None,
    chart: str | None = None,
    numeric: Sequence[bool] | None = None,
) -> str:
    """An HTML table; ``keys`` become each row's ``data-row`` (the chart's row keys)."""
    numeric = numeric or [False] * len(columns)
    head = "".join(
        f'<th scope="col"{" class=num" if is_num else ""}>{escape(c)}</th>'
        for c, is_num in zip(columns, numeric, strict=True)
    )
    body = []
    for i, row in enumerate(rows):
        key = f' data-row="{escape(keys[i], quote=True)}"' if keys is not None else ""
        first, *rest = row
        body.append(
            f'<tr{key}><th scope="row">{escape(str(first))}</th>'
            + "".join(_cell(v) for v in rest)
            + "</tr>"
        )
    target = f' data-for="{escape(chart, quote=True)}"' if chart else ""
    return (
        f'<div class="scroll"><table{target}><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def figure(chart_id: str, title: str, n_text: str, svg: str, numbers: str, note: str = "") -> str:
    width = svg.split('width="', 1)[1].split('"', 1)[0]
    extra = f'<p class="note">{note}</p>' if note else ""
    return (
        f'<figure id="fig-{chart_id}" data-chart="{chart_id}" '
        f'style="--w: {float(width) * 1.3:.0f}px">'
        f'<figcaption><h3 id="title-{chart_id}">{escape(title)}</h3>'
        f'<p class="n">{n_text}</p></figcaption>{svg}{extra}{numbers}</figure>'
    )


def missing(text: str) -> str:
    return f'<p class="missing">{text}</p>'


def _n(count: int, what: str) -> str:
    return f"n = {count:,} {what}"


# --- sections ---------------------------------------------------------------------------------


def section_glance(g: q.Glance) -> str:
    if g.last_run_id is None:
        refreshed = "never"
        refreshed_note = "no run recorded"
    else:
        refreshed = when(g.last_run_finished or g.last_run_started, seconds=False)
        refreshed_note = f"run {g.last_run_id}" + ("" if g.last_run_finished else " (not finished)")
    languages = ", ".join(f"{lang} ({n:,})" for lang, n in g.languages) or "—"
    versions = ", ".join(f"{v} ({n:,})" for v, n in g.parser_versions) or "—"
    items = [
        ("Active cases", fmt_int(g.active), "on the site at their last check"),
        ("Withdrawn cases", fmt_int(g.withdrawn), "no longer on the site, kept"),
        ("Countries", fmt_int(g.countries), "with active cases, of 18"),
        ("Languages", languages, "active cases with a page in each"),
        ("Last refresh", refreshed, refreshed_note),
        ("Runs", fmt_int(g.runs), f"since {when(g.first_run, False)}" if g.runs else "none yet"),
        ("Parser version", versions, "cases built by each"),
        ("Archived pages", fmt_int(g.pages), "distinct page bodies kept"),
        ("Parse issues", fmt_int(g.parse_issues), "values kept but not coded, or missing"),
        ("Open fetch failures", fmt_int(g.open_failures), "pages still failing"),
    ]
    cards = "".join(
        f'<div data-key="{escape(label, quote=True)}"><dt>{escape(label)}</dt>'
        f"<dd>{escape(value)}<small>{escape(small)}</small></dd></div>"
        for label, value, small in items
    )
    parts = ['<section id="glance"><h2>The dataset at a glance</h2>']
    if g.active + g.withdrawn == 0:
        parts.append(missing(f"The warehouse holds no cases yet: {REFRESH_HINT}."))
    parts.append(f'<dl class="glance">{cards}</dl>')
    parts.append(
        "<p>LATINNO (Innovations for Democracy in Latin America, WZB Berlin Social Science "
        "Center) documents democratic innovations in 18 Latin American countries. Cite the "
        f'dataset as:</p><blockquote class="cite">{escape(CITATION)}</blockquote>'
        '<p class="note">This report is built from the pages as fetched by the LATINNO pipeline '
        "(times in UTC); counts rest on active cases unless a chart says otherwise.</p>"
    )
    parts.append("</section>")
    return "".join(parts)


def section_countries(con: duckdb.DuckDBPyConnection) -> str:
    parts = ['<section id="countries"><h2>Cases by country</h2>']
    countries = q.cases_by_country(con)
    active = sum(c.active for c in countries)
    if active == 0:
        parts.append(missing(f"No active cases, so nothing to show by country: {REFRESH_HINT}."))
        parts.append("</section>")
        return "".join(parts)
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
    parts.append(
        figure(
            "cases-by-country",
            "Active cases per country",
            _n(active, "active cases"),
            svg,
            numbers,
            note,
        )
    )
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
    parts.append("</section>")
    return "".join(parts)


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
    numbers = table(
        ["Country", "Cases", *[label for _, label in m.cols]],
        [
            (label, n, *[Num(f"{k:,} ({fmt_pct(s, 1)})") for k, s in zip(ck, cs, strict=True)])
            for (_, label, n), ck, cs in zip(m.rows, m.counts, m.shares, strict=True)
        ],
        caption=f"{title}: cases (share of the country's active cases)",
        keys=[key for key, _, _ in m.rows],
        chart=chart_id,
        numeric=[False, True, *[True] * len(m.cols)],
    )
    return figure(
        chart_id,
        f"{title}: share of each country's active cases",
        _n(m.rows[0][2], "active cases") + "; a case may have several, so rows exceed 100%",
        svg,
        numbers,
    )


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
    numbers = table(
        ["Country", "Cases", *[label for _, label in m.cols]],
        [
            (label, n, *[Num(f"{k:,} ({fmt_pct(s, 1)})") for k, s in zip(ck, cs, strict=True)])
            for (_, label, n), ck, cs in zip(m.rows, m.counts, m.shares, strict=True)
        ],
        caption=f"{title}: cases (share of the country's active cases)",
        keys=[key for key, _, _ in m.rows],
        chart=chart_id,
        numeric=[False, True, *[True] * len(m.cols)],
    )
    return figure(
        chart_id,
        f"{title}: share of each country's active cases",
        _n(m.rows[0][2], "active cases") + "; “Not shown”: the page gave no value",
        svg,
        numbers,
    )


def section_combinations(con: duckdb.DuckDBPyConnection) -> str:
    parts = ['<section id="combinations"><h2>Combinations of means and ends</h2>']
    co = q.cooccurrence(con)
    if co.cases == 0:
        parts.append(
            missing("No active case has both a means and an end yet, so no combination to show.")
        )
        parts.append("</section>")
        return "".join(parts)
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
    numbers = table(
        ["Means", "Cases with it", *[label for _, label in m.cols]],
        [
            (label, n, *[Num(f"{k:,} ({fmt_pct(s, 1)})") for k, s in zip(ck, cs, strict=True)])
            for (_, label, n), ck, cs in zip(m.rows, m.counts, m.shares, strict=True)
        ],
        caption="Active cases with both the means and the end (share of the means' cases)",
        keys=[key for key, _, _ in m.rows],
        chart="means-ends",
        numeric=[False, True, *[True] * len(m.cols)],
    )
    parts.append(
        figure(
            "means-ends",
            "How often each means occurs with each end (active cases)",
            _n(co.cases, "active cases with at least one means and one end"),
            svg,
            numbers,
        )
    )
    parts.append("</section>")
    return "".join(parts)


def section_changes(con: duckdb.DuckDBPyConnection, run_count: int) -> str:
    parts = ['<section id="changes"><h2>Change over time</h2>']
    per_run = q.changes_per_run(con, RUNS_SHOWN)
    if not per_run:
        parts.append(missing(f"No run and no case version recorded yet: {REFRESH_HINT}."))
        parts.append("</section>")
        return "".join(parts)
    versions = sum(sum(r.counts.values()) for r in per_run)
    if versions == 0:
        parts.append(missing("The runs recorded so far created no case version: no case loaded."))
        parts.append("</section>")
        return "".join(parts)
    if run_count <= 1:
        parts.append(
            missing(
                "Only one run so far: its cases are all new. Changes and withdrawals show from "
                "the second run on."
            )
        )
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
    )
    numbers = table(
        ["Run", "Started", *[label for _, label in q.CHANGE_KINDS]],
        [(r.run_id, r.started_at, *[r.counts[k] for k, _ in q.CHANGE_KINDS]) for r in per_run],
        caption="Case versions created per run (case_history)",
        keys=[r.run_id for r in per_run],
        chart="changes-per-run",
        numeric=[False, True, *[True] * len(q.CHANGE_KINDS)],
    )
    parts.append(
        figure(
            "changes-per-run",
            f"Cases added, changed and withdrawn per run (last {RUNS_SHOWN} runs)",
            _n(versions, "case versions"),
            svg,
            numbers,
        )
    )
    fields = q.changed_fields(con)
    if not fields:
        parts.append(missing("No case has changed since it was first loaded."))
    else:
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
        parts.append(
            figure(
                "changed-fields",
                "The fields that change most (all runs)",
                _n(sum(k for _, k, _ in fields), "field changes")
                + f" in {q.changed_case_count(con):,} cases",
                svg,
                numbers,
                "“status” counts withdrawals and reactivations.",
            )
        )
    parts.append("</section>")
    return "".join(parts)


def section_quality(con: duckdb.DuckDBPyConnection) -> str:
    parts = ['<section id="quality"><h2>Data quality</h2>']
    fills = q.fill_rates(con)
    n = fills[0][3] if fills else 0
    if n == 0:
        parts.append(missing(f"No active cases, so no fill rates: {REFRESH_HINT}."))
    else:
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
        parts.append(
            figure(
                "fill-rate",
                "Fill rate per field: share of active cases with a value",
                _n(n, "active cases"),
                svg,
                numbers,
            )
        )
    parts.append(_issues(con))
    parts.append(_failures(con))
    parts.append(_missing_sections(con))
    parts.append("</section>")
    return "".join(parts)


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
        _n(total, "parse issues (one per page and problem)"),
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
        ["Run", "URL", "HTTP status", "Reason", "Attempts"],
        [
            (run, Url(url), status, reason, attempts)
            for run, url, status, reason, attempts in listed
        ],
        caption=f"Open fetch failures ({shown}, by URL); open until a later run fetches the page",
        numeric=[False, False, True, False, True],
    )
    return figure(
        "failures-by-reason",
        "Open fetch failures by reason",
        _n(total, "pages that failed after all retries and were not fetched since"),
        svg,
        numbers + listing,
    )


def _missing_sections(con: duckdb.DuckDBPyConnection) -> str:
    basis = (
        "The warehouse does not record which sections each page had; these counts come from the "
        "parse issues of the current pages (“section … not found”, “label of … not found on "
        "the page”)."
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
        _n(total, "active cases"),
        svg,
        numbers + listing,
        basis,
    )


def section_runs(con: duckdb.DuckDBPyConnection) -> str:
    parts = ['<section id="runs"><h2>Runs</h2>']
    runs = q.runs(con, RUNS_SHOWN)
    if not runs:
        parts.append(missing(f"No refresh run recorded yet: {REFRESH_HINT}."))
        parts.append("</section>")
        return "".join(parts)
    if len(runs) == 1:
        parts.append(missing("Only one run so far: trends show from the second run on."))
    labels = [when(r.started_at).removesuffix(" UTC") for r in runs]
    timed = [(r, label) for r, label in zip(runs, labels, strict=True)]
    svg = bar_chart(
        "run-duration",
        [(r.run_id, label, [r.duration_s or 0.0]) for r, label in timed],
        [Series("duration", "Duration", BAR_COLOR)],
        x_label="Duration (seconds)",
        y_label="Run started (UTC)",
        totals=["—" if r.duration_s is None else f"{r.duration_s:,.1f} s" for r in runs],
    )
    parts.append(
        figure(
            "run-duration",
            f"Duration of each run (last {RUNS_SHOWN})",
            _n(len(runs), "runs") + "; “—”: not finished (running, or stopped)",
            svg,
            "",
        )
    )
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
            for r, label in timed
        ],
        answer_series,
        x_label="Page requests",
        y_label="Run started (UTC)",
        totals=[
            f"{r.requests:,}" + ("" if r.share_304 is None else f" · {fmt_pct(r.share_304)} 304")
            for r in runs
        ],
    )
    numbers = table(
        [
            "Run",
            "Started",
            "Finished",
            "Duration (s)",
            "Requests",
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
        ],
        [
            (
                r.run_id,
                r.started_at,
                r.finished_at,
                r.duration_s,
                r.requests,
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
            for r in reversed(runs)
        ],
        caption=f"The last {RUNS_SHOWN} runs, newest first (table runs)",
        keys=[r.run_id for r in reversed(runs)],
        chart="run-requests",
        numeric=[False, *[True] * 14],
    )
    parts.append(
        figure(
            "run-requests",
            f"Page requests per run, by answer (last {RUNS_SHOWN})",
            _n(sum(r.requests for r in runs), "page requests")
            + f" in {len(runs):,} runs; after each bar: requests and share answered 304",
            svg,
            numbers,
            "Requests: pages fetched, answered 304 or 404/410, or failed after all retries "
            "(retries and robots.txt not counted). Share 304 = 304 / (200 + 304). Not "
            "requested: pages the sitemap showed unchanged since our copy.",
        )
    )
    parts.append("</section>")
    return "".join(parts)


SECTIONS: tuple[tuple[str, str], ...] = (
    ("glance", "At a glance"),
    ("countries", "Countries"),
    ("combinations", "Combinations"),
    ("changes", "Change over time"),
    ("quality", "Data quality"),
    ("runs", "Runs"),
)


def render(con: duckdb.DuckDBPyConnection) -> str:
    """The whole report as one HTML document."""
    g = q.glance(con)
    builders: list[Callable[[], str]] = [
        lambda: section_glance(g),
        lambda: section_countries(con),
        lambda: section_combinations(con),
        lambda: section_changes(con, g.runs),
        lambda: section_quality(con),
        lambda: section_runs(con),
    ]
    body = "".join(build() for build in builders)
    as_of = when(g.last_run_finished or g.last_run_started, seconds=False)
    nav = "".join(f'<li><a href="#{key}">{escape(label)}</a></li>' for key, label in SECTIONS)
    lede = (
        f"{g.active:,} active cases in {g.countries:,} countries · data as of {as_of}"
        if g.last_run_id
        else f"{g.active:,} active cases · no refresh run recorded"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="latinno-pipeline report">'
        f"<title>{TITLE}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{TITLE}</h1><p class="lede">{escape(lede)}</p>'
        f'<nav aria-label="Sections"><ol>{nav}</ol></nav></header>'
        f"<main>{body}</main>"
        f"<footer><p>Data: {escape(CITATION)} Report built by the LATINNO pipeline "
        "(<code>latinno report</code>) from its DuckDB warehouse; every number comes from SQL on "
        "the tables named in the captions. All times UTC.</p></footer>"
        "</body></html>\n"
    )
