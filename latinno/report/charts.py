"""Static SVG charts drawn in Python: no script, no fonts, nothing fetched; they print as drawn.

Every mark (a bar segment or a heatmap cell) is a ``<rect class="mark">`` carrying the number it
shows (``data-row``, ``data-col``, ``data-value``) and a ``<title>`` tooltip, so a test can check
each drawn number against SQL, and a bar's length against its value. Charts are sized in a
``viewBox`` and scale down to the width of a phone (CSS ``max-width: 100%``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FONT = 12  # px in viewBox units; no text of a chart is smaller
CHAR_W = 6.6  # average width of a FONT-sized character of the system sans-serif
HEAD_CHAR_W = CHAR_W  # heatmap column headers, at FONT too
ROW_H = 22
BAR_H = 15
# A phone 390 px wide has about 358 px for a chart (page.py); at this width, or a little more,
# FONT still shows at 11 px or more, and a wider chart scrolls in its box rather than shrink
# its text below that (page.py: svg.chart min-width).
WIDTH = 388
GAP = 8  # space setting a total row apart

BAR_COLOR = "#2f6ea5"
# Okabe-Ito: distinguishable with the common colour-vision deficiencies, and in greyscale print
# the order dark-light-dark keeps neighbours apart.
SERIES_COLORS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442")
UNKNOWN_COLOR = "#b8b8b8"


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    color: str


def fmt_int(value: float) -> str:
    return f"{round(value):,}"


def fmt_pct(share: float, digits: int = 0) -> str:
    return f"{100 * share:.{digits}f}%"


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    """Coordinates with two decimals at most, so the same data gives the same bytes."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _clip(text: str, max_px: float) -> str:
    limit = max(int(max_px / CHAR_W), 4)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _wrap(text: str, width: int) -> list[str]:
    """Words packed into lines of at most ``width`` characters (a long word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 times a power of ten) up to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if step < 1 and top >= 1:  # counts: never a tick between two integers
        step = 1.0
    ticks = [0.0]
    while ticks[-1] < top - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _svg_open(chart_id: str, width: float, height: float, label: str) -> str:
    return (
        f'<svg id="{_attr(chart_id)}" class="chart" xmlns="http://www.w3.org/2000/svg" '
        f'width="{_num(width)}" height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'role="img" aria-label="{_attr(label)}" font-size="{FONT}">'
    )


def _legend(series: Sequence[Series], left: float, top: float, width: float) -> tuple[str, float]:
    """Legend items flowing left to right; returns the markup and the height it takes."""
    parts = []
    x, y = left, top
    for item in series:
        item_w = 18 + len(item.label) * CHAR_W + 14
        if x > left and x + item_w > left + width:
            x, y = left, y + 18
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="12" height="12" fill="{item.color}"/>'
            f'<text x="{_num(x + 17)}" y="{_num(y + 10.5)}">{escape(item.label)}</text>'
        )
        x += item_w
    return "".join(parts), y + 18 - top


def _x_axis(
    ticks: Sequence[float],
    left: float,
    plot_w: float,
    top: float,
    bottom: float,
    label: str,
    percent: bool,
) -> str:
    top_value = ticks[-1]
    parts = []
    for tick in ticks:
        x = left + plot_w * tick / top_value
        text = fmt_pct(tick) if percent else f"{tick:,.10g}"
        parts.append(
            f'<line class="grid" x1="{_num(x)}" y1="{_num(top)}" x2="{_num(x)}" '
            f'y2="{_num(bottom)}"/>'
            f'<text x="{_num(x)}" y="{_num(bottom + 14)}" text-anchor="middle">{text}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{_num(left)}" y1="{_num(bottom)}" x2="{_num(left + plot_w)}" '
        f'y2="{_num(bottom)}"/>'
        f'<text class="axis-label" x="{_num(left + plot_w / 2)}" y="{_num(bottom + 32)}" '
        f'text-anchor="middle">{escape(label)}</text>'
    )
    return "".join(parts)


def bar_chart(
    chart_id: str,
    rows: Sequence[tuple[str, str, Sequence[float]]],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    percent: bool = False,
    totals: Sequence[str] | None = None,
    first_apart: bool = False,
) -> str:
    """Horizontal bars, one per row, stacked by series when there are several.

    ``rows`` are (key, label, values per series). With ``percent`` the values are shares (0..1)
    drawn against 0-100 %. ``totals`` is the text written after each bar (default: the sum).
    ``first_apart`` sets the first row (a total, such as all countries) apart from the others.
    """
    sums = [sum(values) for _, _, values in rows]
    totals = list(totals) if totals is not None else [fmt_int(total) for total in sums]
    label_w = min(max((len(label) for _, label, _ in rows), default=4) * CHAR_W + 8, 170)
    left = max(label_w, len(y_label) * CHAR_W) + 6
    plot_w = WIDTH - left - max((len(t) for t in totals), default=2) * CHAR_W - 10
    legend, legend_h = ("", 0.0)
    if len(series) > 1:
        legend, legend_h = _legend(series, left, 22, WIDTH - left)
    top = 22 + legend_h + 4
    ticks = nice_ticks(1.0 if percent else max(sums, default=0.0))
    scale = plot_w / ticks[-1]
    gap = GAP if first_apart and len(rows) > 1 else 0.0
    bottom = top + ROW_H * max(len(rows), 1) + gap
    height = bottom + 40
    parts = [
        _svg_open(chart_id, WIDTH, height, f"{y_label} by {x_label}: bar chart; table below"),
        f'<text class="axis-label" x="0" y="14">{escape(y_label)}</text>',
        legend,
    ]
    parts.append(_x_axis(ticks, left, plot_w, top, bottom, x_label, percent))
    for i, (key, label, values) in enumerate(rows):
        y = top + i * ROW_H + (gap if i else 0.0)
        weight = ' font-weight="600"' if gap and i == 0 else ""
        parts.append(
            f'<text x="{_num(left - 6)}" y="{_num(y + ROW_H / 2 + 4)}" text-anchor="end"'
            f"{weight}><title>{escape(label)}</title>{escape(_clip(label, label_w))}</text>"
        )
        x = left
        for item, value in zip(series, values, strict=True):
            width = value * scale
            shown = fmt_pct(value, 1) if percent else fmt_int(value)
            parts.append(
                f'<rect class="mark" data-row="{_attr(key)}" data-col="{_attr(item.key)}" '
                f'data-value="{_attr(_value_attr(value))}" x="{_num(x)}" '
                f'y="{_num(y + (ROW_H - BAR_H) / 2)}" width="{_num(width)}" '
                f'height="{BAR_H}" fill="{item.color}">'
                f"<title>{escape(label)}, {escape(item.label)}: {shown}</title></rect>"
            )
            inside = fmt_pct(value) if percent else fmt_int(value)
            if len(series) > 1 and width >= len(inside) * CHAR_W * 0.9 + 6:
                parts.append(
                    f'<text x="{_num(x + width / 2)}" y="{_num(y + ROW_H / 2 + 4)}" '
                    f'text-anchor="middle" fill="{_ink(item.color)}">'
                    f"{inside}</text>"
                )
            x += width
        if sums[i] == 0:  # nothing to draw a bar of: a tick at zero, so the row is seen
            parts.append(
                f'<rect class="zero" x="{_num(left)}" y="{_num(y + (ROW_H - BAR_H) / 2)}" '
                f'width="3" height="{BAR_H}" fill="#8c8c8c"/>'
            )
            x = left + 3
        parts.append(
            f'<text class="value" x="{_num(x + 4)}" y="{_num(y + ROW_H / 2 + 4)}">'
            f"{escape(totals[i])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _ink(background: str) -> str:
    """Black or white text, whichever reads better on ``background`` (#rrggbb)."""
    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return "#1a1a1a" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


def _value_attr(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6f}"


def _ramp(t: float) -> str:
    """Light to dark blue for 0..1 (sequential, ordered in greyscale too)."""
    t = min(max(t, 0.0), 1.0)
    low, high = (239, 245, 251), (8, 48, 107)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(low, high, strict=True))


def heatmap(
    chart_id: str,
    rows: Sequence[tuple[str, str]],
    cols: Sequence[tuple[str, str]],
    values: Sequence[Sequence[float]],
    texts: Sequence[Sequence[str]],
    tips: Sequence[Sequence[str]],
    *,
    x_label: str,
    y_label: str,
    top_value: float,
    shade_note: str,
    first_apart: bool = False,
) -> str:
    """A grid of cells shaded by value / ``top_value``, each with its number written in it."""
    label_w = min(max((len(label) for _, label in rows), default=4) * CHAR_W + 8, 160)
    left = max(label_w, len(y_label) * CHAR_W) + 6
    longest_word = max((len(w) for _, label in cols for w in label.split()), default=4)
    cell_w = max(min((WIDTH - left) / max(len(cols), 1), 90), longest_word * HEAD_CHAR_W + 8, 44)
    header_lines = [_wrap(label, max(int((cell_w - 8) / HEAD_CHAR_W), 4)) for _, label in cols]
    header_h = 14 * max((len(lines) for lines in header_lines), default=1) + 6
    top = 22 + header_h
    cell_h = ROW_H + 2
    width = max(left + cell_w * len(cols), WIDTH)
    gap = GAP if first_apart and len(rows) > 1 else 0.0
    bottom = top + cell_h * max(len(rows), 1) + gap
    height = bottom + 26
    parts = [
        _svg_open(chart_id, width, height, f"Heatmap of {y_label} by {x_label}; table below"),
        f'<text class="axis-label" x="0" y="14">{escape(y_label)}</text>',
        f'<text class="axis-label" x="{_num(left + cell_w * len(cols) / 2)}" y="14" '
        f'text-anchor="middle">{escape(x_label)}</text>',
    ]
    for j, lines in enumerate(header_lines):
        x = left + cell_w * (j + 0.5)
        spans = "".join(
            f'<tspan x="{_num(x)}" dy="{0 if k == 0 else 13}">{escape(line)}</tspan>'
            for k, line in enumerate(lines)
        )
        parts.append(f'<text x="{_num(x)}" y="{_num(22 + 12)}" text-anchor="middle">{spans}</text>')
    for i, (key, label) in enumerate(rows):
        y = top + i * cell_h + (gap if i else 0.0)
        weight = ' font-weight="600"' if gap and i == 0 else ""
        parts.append(
            f'<text x="{_num(left - 6)}" y="{_num(y + cell_h / 2 + 4)}" text-anchor="end"'
            f"{weight}><title>{escape(label)}</title>{escape(_clip(label, label_w))}</text>"
        )
        for j, (col_key, _) in enumerate(cols):
            value = values[i][j]
            t = value / top_value if top_value > 0 else 0.0
            x = left + j * cell_w
            fill = _ramp(t)
            parts.append(
                f'<rect class="mark" data-row="{_attr(key)}" data-col="{_attr(col_key)}" '
                f'data-value="{_attr(_value_attr(value))}" x="{_num(x + 1)}" y="{_num(y + 1)}" '
                f'width="{_num(cell_w - 2)}" height="{_num(cell_h - 2)}" fill="{fill}">'
                f"<title>{escape(tips[i][j])}</title></rect>"
                f'<text x="{_num(x + cell_w / 2)}" y="{_num(y + cell_h / 2 + 4)}" '
                f'text-anchor="middle" fill="{_ink(fill)}">{escape(texts[i][j])}</text>'
            )
    parts.append(
        f'<text class="shade-note" x="{_num(left)}" y="{_num(bottom + 18)}">'
        f"{escape(shade_note)}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
