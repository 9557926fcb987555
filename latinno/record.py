"""The typed record a parser returns for one case page: the contract between parse and load.

``CaseRecord`` is also the column spec of the warehouse (latinno/columns.py): the fields
declared with ``content(kind)`` are the case's content, hashed, versioned and stored by kind.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from latinno.columns import Column, content, content_columns, of_kind
from latinno.vocabulary import DESIGN_FIELDS, OPTION_LISTS

# What a case page may show or lack, in page order: the Institutional design section, each
# design field inside it (a label with its value), and the Means, Ends and Policy cycle sections.
PAGE_PARTS: tuple[str, ...] = ("institutional_design", *DESIGN_FIELDS, *OPTION_LISTS)


@dataclass(frozen=True, slots=True)
class ParseIssue:
    """Something on the page the parser kept but could not code, or expected but did not find."""

    field: str
    raw: str | None
    message: str


@dataclass(frozen=True, slots=True)
class OptionCount:
    """One Means/Ends/Policy-cycle list a page showed: how many of its options the parser
    found and how many it read as applying under the configured marker. Every real page lists
    every option, so a list read with none or all applying on most pages says the marker does
    not fit the site (the drift guard holds such a run; ``latinno calibrate`` learns one)."""

    list: str
    found: int
    applying: int


@dataclass(frozen=True, slots=True)
class Source:
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """One case page in one language, normalized to the codes of docs/vocabulary.md.

    Not content: the page's identity (url, case_id, lang), the country name as shown (its code
    is content), how the option lists were read (``option_counts``), the parse issues and the
    parser version.

    ``sections_present`` says which ``PAGE_PARTS`` the page showed; a part it lacks is unknown:
    its fields are None / () here, NULL in the warehouse, and the record carries an issue for
    it. The parser always sets it; the default (every part shown) is for records built by hand.
    """

    url: str
    case_id: int
    lang: str
    country_code: str | None = field(metadata=content("code"))
    country: str | None
    title: str | None = field(metadata=content("text"))
    description: str | None = field(metadata=content("text"))
    formalization: str | None = field(metadata=content("code"))
    frequency: str | None = field(metadata=content("code"))
    participant_selection: str | None = field(metadata=content("code"))
    participant_types: tuple[str, ...] = field(
        metadata=content("codes", "case_participant_types", "participant_type")
    )
    decisiveness: str | None = field(metadata=content("code"))
    co_governance: bool | None = field(metadata=content("flag"))
    means: tuple[str, ...] = field(metadata=content("codes", "case_means", "means"))
    ends: tuple[str, ...] = field(metadata=content("codes", "case_ends", "ends"))
    policy_cycle: tuple[str, ...] = field(metadata=content("codes", "case_policy_cycle", "stage"))
    sources: tuple[Source, ...] = field(
        default_factory=tuple, metadata=content("sources", "case_sources")
    )
    sections_present: tuple[str, ...] = field(
        default=PAGE_PARTS, metadata=content("sections", parts=PAGE_PARTS)
    )
    # Not content: the evidence of how the lists were read (a list not shown has no entry).
    option_counts: tuple[OptionCount, ...] = field(default_factory=tuple)
    issues: tuple[ParseIssue, ...] = field(default_factory=tuple)
    parser_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict in contract order (tuples become lists)."""
        raw = asdict(self)
        out: dict[str, Any] = {}
        for name in RECORD_FIELDS:
            value = raw[name]
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseRecord:
        unknown = set(data) - set(RECORD_FIELDS)
        if unknown:
            raise ValueError(f"unknown record keys: {sorted(unknown)}")
        values = dict(data)
        for column in of_kind(CASE_COLUMNS, "codes"):
            values[column.name] = tuple(values.get(column.name) or ())
        for column in of_kind(CASE_COLUMNS, "sections"):
            if column.name in values:  # absent: the default (every part shown)
                values[column.name] = tuple(values[column.name] or ())
        for column in of_kind(CASE_COLUMNS, "sources"):
            values[column.name] = tuple(Source(**s) for s in values.get(column.name) or ())
        values["option_counts"] = tuple(OptionCount(**c) for c in values.get("option_counts") or ())
        values["issues"] = tuple(ParseIssue(**i) for i in values.get("issues") or ())
        return cls(**values)


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CaseRecord))
CASE_COLUMNS: tuple[Column, ...] = content_columns(CaseRecord)
