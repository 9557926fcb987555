"""Section 1, the dataset at a glance: cards of headline counts, and how to cite the dataset."""

from __future__ import annotations

from html import escape

from latinno.report import queries as q
from latinno.report.charts import fmt_int
from latinno.report.markup import CITATION, REFRESH_HINT, missing, section, when


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
    parts = []
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
    return section("glance", "The dataset at a glance", parts)
