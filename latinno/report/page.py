"""The report page: its frame (head, styles, contents, footer) around the sections, each of
which is a module of ``latinno.report.sections``.

One HTML file with its styles inline and charts as inline SVG: nothing is fetched when it is
opened (a Content-Security-Policy in the page forbids it), no script runs, and it prints as shown.
The page holds no clock: the only times in it are the data's own (run and page times, UTC).
"""

from __future__ import annotations

from html import escape

import duckdb

from latinno import pipeline_version
from latinno.report import queries as q
from latinno.report.markup import CITATION, when
from latinno.report.sections import changes, combinations, countries, glance, quality, runs

TITLE = "LATINNO dataset report"

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
/* --w is 1.3 x the chart's own width; below 11.05/12 of its own width (text of 12 units at
   11.05 px) a chart stops shrinking and scrolls in its box: no label is smaller than 11 px. */
.chart-box { overflow-x: auto; -webkit-overflow-scrolling: touch; }
svg.chart { display: block; width: 100%; height: auto; max-width: var(--w);
            min-width: calc(var(--w) * 11.05 / 15.6); }
svg.chart text:not([fill]) { fill: var(--ink); }
svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto,
                 Arial, sans-serif; }
svg.chart .axis-label { font-weight: 600; }
svg.chart text.value, svg.chart text.shade-note { fill: var(--muted); }
svg.chart .grid { stroke: #e6e6e6; }
svg.chart .axis { stroke: #8c8c8c; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin-top: .75rem; }
table { border-collapse: collapse; font-size: .85rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-size: .8rem; color: var(--muted); padding-bottom: .25rem;
          /* a table wider than the screen scrolls in its box; its caption stays in view,
             wrapped to the width of the box */
          position: sticky; left: 0; max-width: calc(min(100vw, 60rem) - 2rem); }
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
    body = "".join(
        (
            glance.section_glance(g),
            countries.section_countries(con),
            combinations.section_combinations(con),
            changes.section_changes(con, g.runs),
            quality.section_quality(con),
            runs.section_runs(con),
        )
    )
    as_of = when(g.last_run_finished or g.last_run_started, seconds=False)
    version = pipeline_version()
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
        f'<meta name="generator" content="latinno-pipeline {escape(version)}">'
        f"<title>{TITLE}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{TITLE}</h1><p class="lede">{escape(lede)}</p>'
        f'<nav aria-label="Sections"><ol>{nav}</ol></nav></header>'
        f"<main>{body}</main>"
        f"<footer><p>Data: {escape(CITATION)} Report built by the LATINNO pipeline "
        f"{escape(version)} (<code>latinno report</code>) from its DuckDB warehouse; every "
        "number comes from SQL on the tables named in the captions. All times UTC.</p></footer>"
        "</body></html>\n"
    )
