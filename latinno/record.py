"""The typed record a parser returns for one case page: the contract between parse and load."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

RECORD_FIELDS: tuple[str, ...] = (
    "url",
    "case_id",
    "lang",
    "country_code",
    "country",
    "title",
    "description",
    "formalization",
    "frequency",
    "participant_selection",
    "participant_types",
    "decisiveness",
    "co_governance",
    "means",
    "ends",
    "policy_cycle",
    "sources",
    "issues",
    "parser_version",
)


@dataclass(frozen=True, slots=True)
class ParseIssue:
    """Something on the page the parser kept but could not code, or expected but did not find."""

    field: str
    raw: str | None
    message: str


@dataclass(frozen=True, slots=True)
class Source:
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """One case page in one language, normalized to the codes of VOCABULARY.md."""

    url: str
    case_id: int
    lang: str
    country_code: str | None
    country: str | None
    title: str | None
    description: str | None
    formalization: str | None
    frequency: str | None
    participant_selection: str | None
    participant_types: tuple[str, ...]
    decisiveness: str | None
    co_governance: bool | None
    means: tuple[str, ...]
    ends: tuple[str, ...]
    policy_cycle: tuple[str, ...]
    sources: tuple[Source, ...] = field(default_factory=tuple)
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
        for name in ("participant_types", "means", "ends", "policy_cycle"):
            values[name] = tuple(values.get(name) or ())
        values["sources"] = tuple(Source(**s) for s in values.get("sources") or ())
        values["issues"] = tuple(ParseIssue(**i) for i in values.get("issues") or ())
        return cls(**values)
