"""The normalized content of a case: what is versioned in case_history and hashed.

Hashed (and so versioned) is the case-level content of the record the ``cases`` row is built
from: ``HASHED_FIELDS`` below. Not hashed: url, lang, parse issues, parser_version, run and
timestamps, so a new parser version or another fetch that yields the same content is no change.
Lists are deduplicated and put in vocabulary (page) order, so the order a parser returns them
in does not matter; values outside the vocabulary (raw text kept with a parse issue) follow,
alphabetically.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from latinno.record import CaseRecord
from latinno.vocabulary import codes_for

HASHED_FIELDS: tuple[str, ...] = (
    "country_code",
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
)

LIST_FIELDS: tuple[str, ...] = ("participant_types", "means", "ends", "policy_cycle")

_RANK: dict[str, dict[str, int]] = {
    name: {code: i for i, code in enumerate(codes_for(name))} for name in LIST_FIELDS
}


def ordered_codes(name: str, codes: tuple[str, ...]) -> list[str]:
    """Distinct codes of a list field in vocabulary order; unknown values last, sorted."""
    rank = _RANK[name]
    distinct = set(codes)
    if len(distinct) == len(codes) and all(c in rank for c in codes):
        return sorted(codes, key=rank.__getitem__)
    known = sorted((c for c in distinct if c in rank), key=rank.__getitem__)
    return known + sorted(c for c in distinct if c not in rank)


def case_content(record: CaseRecord) -> dict[str, Any]:
    """The hashed content of a record, as a JSON-ready dict in HASHED_FIELDS order."""
    return {
        "country_code": record.country_code,
        "title": record.title,
        "description": record.description,
        "formalization": record.formalization,
        "frequency": record.frequency,
        "participant_selection": record.participant_selection,
        "participant_types": ordered_codes("participant_types", record.participant_types),
        "decisiveness": record.decisiveness,
        "co_governance": record.co_governance,
        "means": ordered_codes("means", record.means),
        "ends": ordered_codes("ends", record.ends),
        "policy_cycle": ordered_codes("policy_cycle", record.policy_cycle),
        "sources": [{"text": s.text, "url": s.url} for s in record.sources],
    }


# A \u00XX escape (not an escaped backslash followed by "u00XX")
_CONTROL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u00([01][0-9a-f])")


def canonical_json(content: dict[str, Any]) -> str:
    """Compact JSON in field order, non-ASCII kept: the exact text that is hashed.

    The loader builds the same text inside DuckDB (``json_object``, vectorized); this is the
    reference it is tested against. DuckDB writes control-character escapes in upper case.
    """
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    if "\\u00" in text:
        text = _CONTROL_ESCAPE.sub(lambda m: m.group(1) + "\\u00" + m.group(2).upper(), text)
    return text


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
