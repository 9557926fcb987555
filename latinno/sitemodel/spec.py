"""The spec of one case page: the truth a fixture page is rendered from and checked against."""

from __future__ import annotations

from dataclasses import dataclass, field

STYLES: tuple[str, ...] = ("dl", "table", "div")
OPTION_MARKUPS: tuple[str, ...] = ("text", "alt", "title")
ACTIVE_ON: tuple[str, ...] = ("item", "wrapper")
TYPES_MARKUPS: tuple[str, ...] = ("elements", "text")
HEADING_TAGS: tuple[str, ...] = ("h2", "h3", "h4", "strong", "div")
CONTAINERS: tuple[str, ...] = ("main", "article", "div")


@dataclass(frozen=True, slots=True)
class Markup:
    """How a page marks up the same sections (the real markup is unknown; we vary it)."""

    style: str = "dl"  # dl: dt/dd; table: th/td rows, Means+Ends in one table; div: label/value
    options: str = "text"  # text items, or icon-only items named by img alt / title attribute
    active_on: str = "item"  # `active` on the option element, or on a wrapper (span/td) above it
    types: str = "elements"  # participant types: one element each, or plain text with spaces
    heading: str = "h3"  # tag of section headings; "div" means <div class="section-title">
    container: str = "main"  # element holding the case content: main, article, div#content


@dataclass(frozen=True, slots=True)
class CaseSpec:
    """One case page in one language. Design values are codes unless the field is in ``unseen``,
    in which case the value is the raw text shown (it maps to no code)."""

    case_id: int
    lang: str
    country: str  # as shown on the page (may disagree with the id prefix on purpose)
    title: str
    description: tuple[str, ...]  # paragraphs, plain text with single spaces
    formalization: str
    frequency: str
    participant_selection: str
    participant_types: tuple[str, ...]
    decisiveness: str
    co_governance: str  # "true" / "false", or raw text when unseen
    means: tuple[str, ...]
    ends: tuple[str, ...]
    policy_cycle: tuple[str, ...]
    sources: tuple[tuple[str, str], ...] = ()  # (link text, href as written on the page)
    unseen: frozenset[str] = frozenset()  # design fields whose value is raw, never-seen text
    # Left off the page: "policy_cycle", design fields; edge pages also "institutional_design"
    # or "country".
    missing: frozenset[str] = frozenset()
    markup: Markup = field(default_factory=Markup)
    charset: str = "utf-8"  # declared in <meta charset>; "windows-1252" pages are cp1252 bytes
    entities: bool = False  # non-ASCII text of title/description written as character references
    trailing_spaces: bool = False  # design values carry trailing whitespace, as on real pages
    bom: bool = False  # page bytes start with a UTF-8 byte order mark

    @property
    def url(self) -> str:
        return f"https://latinno.net/{self.lang}/case/{self.case_id}/"
