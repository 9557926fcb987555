"""Hand-written case pages for the parser's unit tests, independent of fixtures/html.

Each page is built from visible text only (the labels and values of docs/vocabulary.md) in one of
several markup styles, so a test can check that the same text in other markup reads the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from latinno.vocabulary import COUNTRIES

HELP_EN = (
    ("Formalization", "is the innovation embedded in the constitution or legislation?"),
    ("Frequency", "how often does the innovation take place: only once, or regular?"),
    ("Mode of Selection of Participants", "is the innovation open to all participants?"),
    ("Type of participants", "those who participate are individual citizens?"),
    ("Decisiveness", "does the innovation takes binding, non-binding or no decision at all?"),
    ("Co-governance", "is there involvement of the government in the process or not?"),
)
LABELS_EN = (
    "Formalization",
    "Frequency",
    "Mode of selection of participants",
    "Type of participants",
    "Decisiveness",
    "Co-Governance",
)
MEANS_EN = ("Deliberation", "Direct Voting", "E-Participation", "Citizen Representation")
ENDS_EN = (
    "Accountability",
    "Responsiveness",
    "Rule of Law",
    "Political Inclusion",
    "Social Equality",
)
POLICY_EN = (
    "Agenda setting",
    "Formulation and decision-making",
    "Implementation",
    "Policy Evaluation",
)


@dataclass
class PageSpec:
    """Visible content of one page; ``values`` are the six design values as shown."""

    country: str | None = "Peru"
    title: str = "Multisectorial Open Government Forum"
    paragraphs: tuple[str, ...] = ("The Forum was created by a decree.", "It monitors plans.")
    values: tuple[str | tuple[str, ...], ...] = (
        "only backed by a governmental program or policy ",
        "regular",
        "restricted ",
        ("civil society", "private stakeholders"),
        "democratic innovation yields a binding decision  ",
        "yes ",
    )
    means: frozenset[str] = frozenset({"Deliberation"})
    ends: frozenset[str] = frozenset({"Accountability", "Rule of Law"})
    policy: frozenset[str] | None = frozenset({"Implementation"})
    sources: tuple[tuple[str, str], ...] = (("Decree 2020", "/docs/decree.pdf"),)
    with_design: bool = True
    canonical: str | None = "https://latinno.net/en/case/17001/"
    charset: str = "utf-8"
    style: str = "dl"  # dl | table | divs | inline
    icons: bool = False
    extra_head: str = ""
    labels: tuple[str, ...] = LABELS_EN
    headings: dict[str, str] = field(
        default_factory=lambda: {
            "design": "Institutional design",
            "means": "Means",
            "ends": "Ends",
            "policy": "Policy cycle",
            "sources": "Sources",
            "quote": "How to quote",
        }
    )
    option_names: tuple[tuple[str, ...], ...] = (MEANS_EN, ENDS_EN, POLICY_EN)


def _nav() -> str:
    items = "".join(
        f'<li class="menu-item"><a href="/en/country/{c.slug}/">{c.name_en}</a></li>'
        for c in COUNTRIES
    )
    return (
        '<header id="masthead"><a class="logo" href="/en/"><img src="/logo.png" alt="LATINNO"></a>'
        '<nav class="main-nav"><ul><li class="menu-item active"><a href="/en/">Home</a></li>'
        f'<li class="menu-item has-children"><a href="#">Countries</a><ul>{items}</ul></li>'
        '<li><a href="/en/about/">About</a></li></ul></nav>'
        '<ul class="lang"><li class="active"><a href="/en/">English</a></li>'
        '<li><a href="/es/">Español</a></li><li><a href="/pt/">Português</a></li></ul></header>'
    )


def _value_html(value: str | tuple[str, ...], style: str) -> str:
    if isinstance(value, tuple):
        return "".join(f"<span>{escape(v)}</span> " for v in value)
    return escape(value)


def _design(spec: PageSpec) -> str:
    help_items = "".join(f"<p>{escape(label)}: {escape(text)}</p>" for label, text in HELP_EN)
    out = [
        f'<h3>{escape(spec.headings["design"])} <a class="toggle" href="#help">?</a></h3>',
        f'<div class="help" id="help" style="display:none">{help_items}</div>',
    ]
    pairs = list(zip(spec.labels, spec.values, strict=True))
    if spec.style == "dl":
        out.append(
            "<dl>"
            + "".join(f"<dt>{escape(k)}</dt><dd>{_value_html(v, 'dl')}</dd>" for k, v in pairs)
            + "</dl>"
        )
    elif spec.style == "table":
        out.append(
            "<table><tbody>"
            + "".join(
                f"<tr><th>{escape(k)}</th><td>{_value_html(v, 'table')}</td></tr>" for k, v in pairs
            )
            + "</tbody></table>"
        )
    elif spec.style == "divs":
        out.append(
            "".join(
                f'<div class="row"><div class="l">{escape(k)}</div>'
                f'<div class="v">{_value_html(v, "divs")}</div></div>'
                for k, v in pairs
            )
        )
    else:  # inline: <p><strong>label</strong> value</p>
        out.append(
            "".join(
                f"<p><strong>{escape(k)}</strong> {_value_html(v, 'inline')}</p>" for k, v in pairs
            )
        )
    return "".join(out)


def _options(heading: str, names: tuple[str, ...], chosen: frozenset[str], icons: bool) -> str:
    items = []
    for name in names:
        cls = ' class="active"' if name in chosen else ""
        if icons:
            items.append(f'<li{cls}><img src="/i/{len(items)}.svg" alt="{escape(name)}"></li>')
        else:
            items.append(f"<li{cls}><span>{escape(name)}</span></li>")
    return f'<h3>{escape(heading)}</h3><ul class="opts">{"".join(items)}</ul>'


def build_page(spec: PageSpec) -> bytes:
    """The page's bytes in ``spec.charset``."""
    head = f'<meta charset="{spec.charset}"><title>{escape(spec.title)} – LATINNO</title>'
    if spec.canonical:
        head += f'<link rel="canonical" href="{spec.canonical}">'
    head += spec.extra_head + "<script>var x = '<p>Means</p>';</script><style>p{}</style>"
    parts = [_nav(), '<main><article class="case">']
    if spec.country:
        parts.append(f'<a class="c" href="/en/country/peru/">{escape(spec.country)}</a>')
    parts.append(f"<h1>{escape(spec.title)}</h1>")
    parts.append("".join(f"<p>{escape(p)}</p>" for p in spec.paragraphs))
    if spec.with_design:
        parts.append(_design(spec))
    means, ends, policy = spec.option_names
    parts.append(_options(spec.headings["means"], means, spec.means, spec.icons))
    parts.append(_options(spec.headings["ends"], ends, spec.ends, spec.icons))
    if spec.policy is not None:
        parts.append(_options(spec.headings["policy"], policy, spec.policy, spec.icons))
    if spec.sources:
        links = "".join(f'<li><a href="{h}">{escape(t)}</a></li>' for t, h in spec.sources)
        parts.append(f"<h3>{escape(spec.headings['sources'])}</h3><ul>{links}</ul>")
    parts.append(
        f"<h3>{escape(spec.headings['quote'])}</h3><p>Pogrebinschi, Thamy. (2017). LATINNO.</p>"
    )
    parts.append('</article></main><footer><a href="/en/imprint/">Imprint</a></footer>')
    html = f"<!DOCTYPE html><html><head>{head}</head><body>{''.join(parts)}</body></html>"
    return html.encode(spec.charset)
