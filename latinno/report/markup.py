"""The HTML pieces every report section is made of: a figure (title, count, chart, numbers), the
table of a chart's numbers, the notice of what is missing, and how a time or a number is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from latinno.report.charts import fmt_pct
from latinno.report.queries import Matrix

CITATION = "Pogrebinschi, Thamy. (2017). LATINNO Dataset. Berlin: WZB."
RUNS_SHOWN = 20
REFRESH_HINT = "run <code>latinno refresh</code> to load cases"


def when(moment: Any, seconds: bool = True) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " UTC"
    return str(moment)


class Num:
    """A number already formatted (a share, or a count with its share), right-aligned."""

    def __init__(self, text: str) -> None:
        self.text = text


class Url:
    def __init__(self, url: str) -> None:
        self.url = url


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


def matrix_table(m: Matrix, first: str, n_column: str, *, caption: str, chart: str) -> str:
    """A matrix's numbers: per row its label, its n, and each cell as "count (share)"."""
    return table(
        [first, n_column, *[label for _, label in m.cols]],
        [
            (label, n, *[Num(f"{k:,} ({fmt_pct(s, 1)})") for k, s in zip(ck, cs, strict=True)])
            for (_, label, n), ck, cs in zip(m.rows, m.counts, m.shares, strict=True)
        ],
        caption=caption,
        keys=[key for key, _, _ in m.rows],
        chart=chart,
        numeric=[False, True, *[True] * len(m.cols)],
    )


def figure(chart_id: str, title: str, n_text: str, svg: str, numbers: str, note: str = "") -> str:
    width = svg.split('width="', 1)[1].split('"', 1)[0]
    extra = f'<p class="note">{note}</p>' if note else ""
    return (
        f'<figure id="fig-{chart_id}" data-chart="{chart_id}" '
        f'style="--w: {float(width) * 1.3:.2f}px">'
        f'<figcaption><h3 id="title-{chart_id}">{escape(title)}</h3>'
        f'<p class="n">{n_text}</p></figcaption><div class="chart-box">{svg}</div>'
        f"{extra}{numbers}</figure>"
    )


def missing(text: str) -> str:
    return f'<p class="missing">{text}</p>'


def n_of(count: int, what: str) -> str:
    return f"n = {count:,} {what}"


def section(key: str, heading: str, parts: Sequence[str]) -> str:
    """One report section: its heading, then its parts (figures, notices) in order."""
    return f'<section id="{key}"><h2>{heading}</h2>' + "".join(parts) + "</section>"
