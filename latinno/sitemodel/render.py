"""Render a ``CaseSpec`` to the bytes of a plausible LATINNO case page (WordPress chrome).

The real markup is unknown (docs/site.md), so the same sections come out in three styles (definition
list, two-column table, label/value divs), options as text or icon-only items, the ``active``
marker on the option or on a wrapper above it. The chrome carries traps a parser must survive:
a Countries menu naming all 18 countries, a language switcher, JSON blobs and a help panel
whose texts start with the field labels.
"""

from __future__ import annotations

import html
import json
from html.entities import codepoint2name

from latinno.sitemodel import chrome
from latinno.sitemodel.labels import (
    CITATION,
    HELP_TEXTS,
    QUOTE_TEXT,
    country_by_shown_name,
    field_label,
    heading,
    option_label,
    value_label,
)
from latinno.sitemodel.spec import CaseSpec
from latinno.vocabulary import COUNTRIES, DESIGN_FIELDS, OPTION_TERMS

_INACTIVE = ("inactive", "icon", "", "off")


# --- Text -------------------------------------------------------------------------------------


def escape(text: str, entities: bool = False) -> str:
    """HTML-escape text; with ``entities`` every non-ASCII character becomes a reference,
    cycling named (&eacute;), decimal (&#8211;) and hex (&#x2019;) forms."""
    out = html.escape(text, quote=True).replace("&#x27;", "&#39;")
    if not entities:
        return out
    parts = []
    count = 0
    for char in out:
        point = ord(char)
        if point < 128:
            parts.append(char)
            continue
        form = count % 3
        count += 1
        if form == 0 and point in codepoint2name:
            parts.append(f"&{codepoint2name[point]};")
        elif form == 2:
            parts.append(f"&#x{point:x};")
        else:
            parts.append(f"&#{point};")
    return "".join(parts)


def _wrap(text: str, width: int, indent: str) -> str:
    """Break a paragraph's source at spaces, as editors do; the visible text is unchanged."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return f"\n{indent}".join(lines)


# --- Pieces of the case content -----------------------------------------------------------------


def _heading(spec: CaseSpec, text: str, css: str, extra: str = "") -> str:
    tag = spec.markup.heading
    text = escape(text, spec.entities)
    if tag == "strong":
        return f'<p class="{css}"><strong>{text}</strong>{extra}</p>'
    if tag == "div":
        return f'<div class="section-title {css}">{text}{extra}</div>'
    return f'<{tag} class="{css}">{text}{extra}</{tag}>'


def _help_panel(spec: CaseSpec) -> str:
    style = spec.markup.style
    items = []
    for label, question in HELP_TEXTS[spec.lang]:
        label_html, question_html = escape(label, spec.entities), escape(question, spec.entities)
        if style == "dl":
            items.append(f"<p><strong>{label_html}:</strong> {question_html}</p>")
        elif style == "table":
            items.append(f"<p>{label_html}: {question_html}</p>")
        else:
            items.append(f'<li class="help-item">{label_html}: {question_html}</li>')
    body = "\n".join(items)
    if style == "div":
        body = f'<ul class="help-list">\n{body}\n</ul>'
    return (
        f'<div id="design-help-{spec.case_id}" class="help-panel collapse" '
        f'style="display:none" aria-hidden="true">\n{body}\n</div>'
    )


def _value_text(spec: CaseSpec, field: str) -> str:
    if field in spec.unseen:
        raw: str = getattr(spec, field)  # the unseen value's text, kept as the page shows it
        return raw
    if field == "co_governance":
        return value_label(field, spec.co_governance, spec.lang)
    return value_label(field, getattr(spec, field), spec.lang)


def _pad(spec: CaseSpec, index: int) -> str:
    if not spec.trailing_spaces:
        return ""
    return ("  ", " ", " \n", "   ")[index % 4]


def _types_html(spec: CaseSpec) -> str:
    labels = [value_label("participant_types", code, spec.lang) for code in spec.participant_types]
    if spec.markup.types == "text":
        return " ".join(escape(label, spec.entities) for label in labels)
    if spec.markup.style == "dl":
        items = "".join(f"<li>{escape(label, spec.entities)}</li>" for label in labels)
        return f'<ul class="participant-types">{items}</ul>'
    return " ".join(
        f'<span class="participant-type">{escape(label, spec.entities)}</span>' for label in labels
    )


def _design_pairs(spec: CaseSpec) -> list[tuple[str, str]]:
    pairs = []
    for index, field in enumerate(DESIGN_FIELDS):
        if field in spec.missing:
            continue
        if field == "participant_types" and field not in spec.unseen:
            value = _types_html(spec)
        else:
            value = escape(_value_text(spec, field), spec.entities)
        pairs.append(
            (escape(field_label(field, spec.lang), spec.entities), value + _pad(spec, index))
        )
    return pairs


def _design(spec: CaseSpec) -> str:
    pairs = _design_pairs(spec)
    style = spec.markup.style
    if style == "dl":
        rows = "\n".join(f"<dt>{label}</dt>\n<dd>{value}</dd>" for label, value in pairs)
        return f'<dl class="case-design">\n{rows}\n</dl>'
    if style == "table":
        if spec.markup.options == "text":
            cells = "<td class='label'>{}</td><td class='value'>{}</td>"
        else:
            cells = '<th scope="row">{}</th><td>{}</td>'
        rows = "\n".join(f"<tr>{cells.format(label, value)}</tr>" for label, value in pairs)
        return f'<table class="case-table design-table">\n<tbody>\n{rows}\n</tbody>\n</table>'
    if spec.markup.options == "alt":
        rows = "\n".join(
            f'<p class="pair"><span class="label">{label}</span> '
            f'<span class="value">{value}</span></p>'
            for label, value in pairs
        )
    else:
        rows = "\n".join(
            f'<div class="design-row">\n  <div class="design-label">{label}</div>\n'
            f'  <div class="design-value">{value}</div>\n</div>'
            for label, value in pairs
        )
    return f'<div class="case-design design-fields">\n{rows}\n</div>'


def _icon(name: str, code: str, on: bool) -> str:
    suffix = "" if on else "-grey"
    return f"https://latinno.net/wp-content/themes/latinno/img/icons/{name}-{code}{suffix}.svg"


def _option(spec: CaseSpec, name: str, code: str, on: bool, tag: str, index: int) -> str:
    """One option element (``tag`` is li, td or div); ``active`` where the markup says."""
    label = escape(option_label(name, code, spec.lang), spec.entities)
    off = _INACTIVE[(index + spec.case_id) % len(_INACTIVE)]
    mark = "active" if on else off
    mark_attr = f' class="{mark}"' if mark else ""
    kind, where = spec.markup.options, spec.markup.active_on
    item_cls = f"option {name.replace('_', '-')}-{code.replace('_', '-')}"
    marked_item = f"{item_cls} {mark}".strip()
    if kind == "text":
        if where == "item":
            return f'<{tag} class="{marked_item}">{label}</{tag}>'
        return f'<{tag}{mark_attr}><span class="option-label">{label}</span></{tag}>'
    if kind == "alt":
        src = _icon(name, code, on)
        if where == "item":
            img_cls = "icon active" if on else f"icon {off}".strip()
            img = f'<img class="{img_cls}" src="{src}" alt="{label}">'
            return f'<{tag} class="{item_cls}">{img}</{tag}>'
        wrap_cls = f"icon-wrap {mark}".strip()
        return (
            f'<{tag} class="{item_cls}"><span class="{wrap_cls}">'
            f'<img src="{src}" alt="{label}" width="48" height="48"></span></{tag}>'
        )
    if where == "item":
        return (
            f'<{tag} class="{marked_item}" title="{label}"><i class="icon icon-{code}"></i></{tag}>'
        )
    return f'<{tag}{mark_attr}><i class="icon icon-{code}" title="{label}"></i></{tag}>'


def _option_list(spec: CaseSpec, name: str, active: tuple[str, ...], kind: str) -> str:
    """All options of a list in page order (``kind``: ul, ol, row, divs)."""
    terms = OPTION_TERMS[name]
    tag = {"ul": "li", "ol": "li", "row": "td", "divs": "div"}[kind]
    items = "\n".join(
        _option(spec, name, t.code, t.code in active, tag, i) for i, t in enumerate(terms)
    )
    css = f"options {name.replace('_', '-')}-list"
    if kind == "row":
        return f'<table class="{css}">\n<tr>\n{items}\n</tr>\n</table>'
    if kind == "divs":
        return f'<div class="{css}">\n{items}\n</div>'
    return f'<{kind} class="{css}">\n{items}\n</{kind}>'


def _means_ends(spec: CaseSpec) -> str:
    means_h = _heading(spec, heading("means", spec.lang), "means-title")
    ends_h = _heading(spec, heading("ends", spec.lang), "ends-title")
    style = spec.markup.style
    if style == "table":
        means = _option_list(spec, "means", spec.means, "ul")
        ends = _option_list(spec, "ends", spec.ends, "ul")
        return (
            '<table class="case-table means-ends">\n<tbody>\n<tr>\n'
            f'<td class="means-col">\n{means_h}\n{means}\n</td>\n'
            f'<td class="ends-col">\n{ends_h}\n{ends}\n</td>\n'
            "</tr>\n</tbody>\n</table>"
        )
    kind = "ul" if style == "dl" else "divs"
    means = _option_list(spec, "means", spec.means, kind)
    ends = _option_list(spec, "ends", spec.ends, kind)
    return (
        f'<div class="means-ends row">\n<div class="col-md-6 means">\n{means_h}\n{means}\n</div>\n'
        f'<div class="col-md-6 ends">\n{ends_h}\n{ends}\n</div>\n</div>'
    )


def _policy_cycle(spec: CaseSpec) -> str:
    if "policy_cycle" in spec.missing:
        return ""
    kind = {"dl": "ol", "table": "row", "div": "divs"}[spec.markup.style]
    title = _heading(spec, heading("policy_cycle", spec.lang), "policy-cycle-title")
    stages = _option_list(spec, "policy_cycle", spec.policy_cycle, kind)
    return f'<section class="policy-cycle">\n{title}\n{stages}\n</section>'


def _sources(spec: CaseSpec) -> str:
    if not spec.sources:
        return ""
    links = [
        f'<a href="{escape(href)}" target="_blank" rel="noopener">{escape(text, spec.entities)}</a>'
        for text, href in spec.sources
    ]
    if spec.markup.style == "div":
        body = "\n".join(f"<p>{link}</p>" for link in links)
        body = f'<div class="sources-list">\n{body}\n</div>'
    else:
        body = "\n".join(f"<li>{link}</li>" for link in links)
        body = f'<ul class="sources-list">\n{body}\n</ul>'
    title = _heading(spec, heading("sources", spec.lang), "sources-title")
    return f'<div class="case-sources">\n{title}\n{body}\n</div>'


def _quote(spec: CaseSpec) -> str:
    ask, contribute, send = (escape(t, spec.entities) for t in QUOTE_TEXT[spec.lang])
    title = _heading(spec, heading("how_to_quote", spec.lang), "quote-title")
    return (
        f'<div class="how-to-quote">\n{title}\n<p>{ask}</p>\n'
        f'<p class="citation"><em>{CITATION}</em></p>\n'
        f"<p>{contribute}</p>\n"
        f'<p><a class="button" href="https://latinno.net/{spec.lang}/send-us-a-case/">{send}</a></p>\n'
        "</div>"
    )


def _description(spec: CaseSpec) -> str:
    paragraphs = []
    for index, paragraph in enumerate(spec.description):
        text = escape(paragraph, spec.entities)
        if (spec.case_id + index) % 2:
            text = _wrap(text, 88, "      ")
        paragraphs.append(f"<p>{text}</p>")
    return '<div class="case-description entry-content">\n' + "\n".join(paragraphs) + "\n</div>"


def _country(spec: CaseSpec) -> str:
    if "country" in spec.missing:
        return ""
    slug = country_by_shown_name(spec.country).slug
    link = (
        f'<a href="https://latinno.net/{spec.lang}/country/{slug}/">'
        f"{escape(spec.country, spec.entities)}</a>"
    )
    wrapper = spec.case_id % 3
    if wrapper == 0:
        return f'<div class="case-country">{link}</div>'
    if wrapper == 1:
        return f'<p class="country-link">{link}</p>'
    return f'<span class="cat-links country">{link}</span>'


def _toggle(spec: CaseSpec) -> tuple[str, str]:
    """The help "?" toggle: inside the heading for some styles, after it for others."""
    button = (
        f'<a class="help-toggle" href="#design-help-{spec.case_id}" data-toggle="collapse" '
        f'aria-expanded="false" title="Help">?</a>'
    )
    if spec.markup.style == "dl":
        return f" {button}", ""
    return "", '<button type="button" class="help-toggle btn-help">?</button>'


def case_content(spec: CaseSpec) -> str:
    """The case's own content (everything inside the container), in the site's order."""
    inside, after = _toggle(spec)
    design = ""
    if "institutional_design" not in spec.missing:
        design = "\n".join(
            (
                '<section class="institutional-design">',
                _heading(spec, heading("institutional_design", spec.lang), "design-title", inside),
                after,
                _help_panel(spec),
                _design(spec),
                "</section>",
            )
        )
    parts = [
        _country(spec),
        f'<h1 class="entry-title case-title">{escape(spec.title, spec.entities)}</h1>',
        _description(spec),
        design,
        _means_ends(spec),
        _policy_cycle(spec),
        _sources(spec),
        _quote(spec),
    ]
    return "\n".join(part for part in parts if part)


def _container(spec: CaseSpec, content: str) -> str:
    kind = spec.markup.container
    if kind == "main":
        return f'<main id="main" class="site-main case-single" role="main">\n{content}\n</main>'
    if kind == "article":
        return (
            f'<div id="primary" class="content-area">\n<article id="post-{spec.case_id + 40000}" '
            f'class="case type-case status-publish hentry">\n{content}\n</article>\n</div>'
        )
    return f'<div id="content" class="site-content case">\n{content}\n</div>'


# --- The page ---------------------------------------------------------------------------------


def render_text(spec: CaseSpec) -> str:
    """The whole page as text (before encoding)."""
    countries = [
        (c.slug, c.name_en if spec.lang == "en" else c.names[spec.lang]) for c in COUNTRIES
    ]
    body = _container(spec, case_content(spec))
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "WebPage",
            "url": spec.url,
            "inLanguage": spec.lang,
            "isPartOf": {"@type": "WebSite", "name": "LATINNO", "url": "https://latinno.net/"},
        },
        sort_keys=True,
    )
    return chrome.page(
        lang=spec.lang,
        case_id=spec.case_id,
        title=escape(spec.title, spec.entities),
        charset=spec.charset,
        canonical=spec.url,
        countries=countries,
        content=body,
        json_ld=ld,
    )


def render_page(spec: CaseSpec) -> bytes:
    """The page's bytes, encoded as its ``charset`` declares (UTF-8 or real windows-1252)."""
    text = render_text(spec)
    codec = "cp1252" if spec.charset == "windows-1252" else "utf-8"
    data = text.encode(codec, errors="xmlcharrefreplace")
    return (b"\xef\xbb\xbf" + data) if spec.bom else data
